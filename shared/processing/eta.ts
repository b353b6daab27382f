/**
 * Stop ETAs from a vehicle's position along its shape: distance to each stop ahead divided by the
 * vehicle's smoothed recent speed, or by the route's current window average when the vehicle is
 * (nearly) standing, at most every ETA_REFRESH_MS of event time. Also names the ETA items that became obsolete: stops passed since the previous
 * fix, and every stop ahead on a shape the vehicle left (new trip).
 */
import type { StopEta, VehicleState } from '../model.js';
import type { ShapeRef } from './ports.js';

/** Below this speed a vehicle's own speed says little about when it will arrive. */
export const MIN_USEFUL_SPEED_KMH = 5;
/**
 * A vehicle's ETAs are recomputed at most this often in event time (and whenever it starts a new trip):
 * rows for every stop ahead are most of the processor's writes, and arrival times do not need 1 Hz updates.
 * Stops the vehicle passes are deleted on every fix regardless.
 */
export const ETA_REFRESH_MS = 30_000;
/** How long an ETA item lives if nothing refreshes or deletes it (processing time). */
export const ETA_TTL_SECONDS = 3600;

export interface EtaUpdate {
  puts: StopEta[];
  deletes: Array<{ stopId: string; vehicleId: string }>;
  /** Event time of the fix the vehicle's ETA rows now come from (keep it in the vehicle state). */
  computedTs?: number;
}

export function computeEtas(
  prev: VehicleState | undefined,
  state: VehicleState,
  shape: ShapeRef | undefined,
  previousShape: ShapeRef | undefined,
  routeAverageKmh: number | undefined,
  nowMs: number,
): EtaUpdate {
  const deletes: EtaUpdate['deletes'] = [];
  const vehicleId = state.vehicleId;
  const sameRun = prev && prev.shapeId === state.shapeId && prev.tripId === state.tripId;
  if (prev?.distanceAlongM !== undefined && previousShape) {
    const from = prev.distanceAlongM;
    const to = sameRun && state.distanceAlongM !== undefined ? state.distanceAlongM : Number.POSITIVE_INFINITY;
    for (const stop of previousShape.stops) {
      if (stop.distM > from && stop.distM <= to) deletes.push({ stopId: stop.stopId, vehicleId });
    }
  }
  if (!shape || state.distanceAlongM === undefined) return { puts: [], deletes };
  const lastComputed = sameRun ? prev?.etaComputedTs : undefined;
  if (lastComputed !== undefined && state.ts - lastComputed < ETA_REFRESH_MS) {
    return { puts: [], deletes, computedTs: lastComputed };
  }

  const useVehicle = state.recentSpeedKmh >= MIN_USEFUL_SPEED_KMH;
  const speedKmh = useVehicle ? state.recentSpeedKmh : routeAverageKmh;
  if (speedKmh === undefined || speedKmh < MIN_USEFUL_SPEED_KMH) return { puts: [], deletes };

  const metresPerSecond = speedKmh / 3.6;
  const expiresAt = Math.floor(nowMs / 1000) + ETA_TTL_SECONDS;
  const puts: StopEta[] = [];
  for (const stop of shape.stops) {
    const distanceM = stop.distM - state.distanceAlongM;
    if (distanceM <= 0) continue;
    const secondsAway = Math.round(distanceM / metresPerSecond);
    puts.push({
      stopId: stop.stopId,
      vehicleId,
      routeId: state.routeId,
      tripId: state.tripId ?? null,
      stopName: stop.name,
      etaTs: state.ts + secondsAway * 1000,
      secondsAway,
      distanceM: Math.round(distanceM),
      speedKmh: Math.round(speedKmh * 10) / 10,
      basis: useVehicle ? 'vehicle-speed' : 'route-average',
      computedFromTs: state.ts,
      expiresAt,
    });
  }
  // A stop both passed on the old shape and ahead on the new one keeps its fresh ETA (and one batch
  // may not put and delete the same key).
  const ahead = new Set(puts.map((p) => p.stopId));
  return {
    puts,
    deletes: deletes.filter((d) => !ahead.has(d.stopId)),
    ...(puts.length > 0 ? { computedTs: state.ts } : {}),
  };
}
