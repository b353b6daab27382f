/**
 * Stop ETAs from a vehicle's position along its shape: distance to each stop ahead divided by the
 * vehicle's smoothed recent speed, or by the route's closed-window average speed when the vehicle is
 * (nearly) standing. A vehicle's ETAs are refreshed at most every ETA_REFRESH_MS of event time.
 *
 * Everything here is a function of the vehicle's own fixes, in their order, never of how they were cut
 * into batches: the refresh is decided fix by fix (`planEtas`), as if each fix were processed alone,
 * and a batch writes the rows of its last refreshing fix minus the stops passed since. Also names the
 * ETA items that became obsolete: stops passed during the batch, and every stop ahead on a shape the
 * vehicle left (new trip).
 */
import type { StopEta, VehicleState } from '../model.js';
import type { ShapeRef } from './ports.js';

/** Below this speed a vehicle's own speed says little about when it will arrive. */
export const MIN_USEFUL_SPEED_KMH = 5;
/**
 * A vehicle's ETAs are recomputed at most this often in event time (and whenever it starts a new trip):
 * rows for every stop ahead are most of the processor's writes, and arrival times do not need 1 Hz updates.
 * Stops the vehicle passes are deleted on every batch regardless.
 */
export const ETA_REFRESH_MS = 30_000;
/** How long an ETA item lives if nothing refreshes or deletes it (processing time). */
export const ETA_TTL_SECONDS = 3600;

type EtaDelete = { stopId: string; vehicleId: string };

export interface EtaUpdate {
  puts: StopEta[];
  deletes: EtaDelete[];
  /** Event time of the fix the vehicle's ETA rows come from on its current run (keep it in the vehicle state). */
  computedTs?: number;
}

/** One fix of a vehicle as the ETA planner sees it: the state after it, its shape, the route's usable average. */
export interface EtaFix {
  state: VehicleState;
  shape: ShapeRef | undefined;
  /** Mean speed of the route's closed windows before this fix's window, when there is enough of it. */
  routeAverageKmh: number | undefined;
}

/** A run is one shape on one trip: a new trip or another shape starts a new run (and new ETAs). */
export function sameRun(a: Pick<VehicleState, 'shapeId' | 'tripId'>, b: Pick<VehicleState, 'shapeId' | 'tripId'>) {
  return a.shapeId === b.shapeId && (a.tripId ?? null) === (b.tripId ?? null);
}

/** Whether a fix should refresh the ETAs: none computed on this run yet, or ETA_REFRESH_MS of event time passed. */
export function refreshDue(lastComputedTs: number | undefined, ts: number): boolean {
  return lastComputedTs === undefined || ts - lastComputedTs >= ETA_REFRESH_MS;
}

/** The speed an ETA from this fix would use, or undefined when neither the vehicle's nor the route's is usable. */
export function etaSpeed(fix: EtaFix): { speedKmh: number; basis: StopEta['basis'] } | undefined {
  if (fix.state.recentSpeedKmh >= MIN_USEFUL_SPEED_KMH) {
    return { speedKmh: fix.state.recentSpeedKmh, basis: 'vehicle-speed' };
  }
  const route = fix.routeAverageKmh;
  return route !== undefined && route >= MIN_USEFUL_SPEED_KMH ? { speedKmh: route, basis: 'route-average' } : undefined;
}

/** Whether a fix can produce ETA rows at all: on a shape, with a usable speed and a stop ahead. */
export function canProduceEtas(fix: EtaFix): boolean {
  const along = fix.state.distanceAlongM;
  return (
    fix.shape !== undefined &&
    along !== undefined &&
    etaSpeed(fix) !== undefined &&
    fix.shape.stops.some((stop) => stop.distM > along)
  );
}

/** ETA rows for every stop ahead of a fix (empty when it cannot produce any). */
export function etaRowsFrom(fix: EtaFix, nowMs: number): StopEta[] {
  const { state, shape } = fix;
  const speed = etaSpeed(fix);
  if (!shape || state.distanceAlongM === undefined || !speed) return [];
  const metresPerSecond = speed.speedKmh / 3.6;
  const expiresAt = Math.floor(nowMs / 1000) + ETA_TTL_SECONDS;
  const rows: StopEta[] = [];
  for (const stop of shape.stops) {
    const distanceM = stop.distM - state.distanceAlongM;
    if (distanceM <= 0) continue;
    const secondsAway = Math.round(distanceM / metresPerSecond);
    rows.push({
      stopId: stop.stopId,
      vehicleId: state.vehicleId,
      routeId: state.routeId,
      tripId: state.tripId ?? null,
      stopName: stop.name,
      etaTs: state.ts + secondsAway * 1000,
      secondsAway,
      distanceM: Math.round(distanceM),
      speedKmh: Math.round(speed.speedKmh * 10) / 10,
      basis: speed.basis,
      computedFromTs: state.ts,
      expiresAt,
    });
  }
  return rows;
}

/** Ids of the stops of a shape passed when moving from `fromM` to `toM` along it. */
export function stopsPassed(shape: ShapeRef, fromM: number, toM: number): string[] {
  return shape.stops.filter((stop) => stop.distM > fromM && stop.distM <= toM).map((stop) => stop.stopId);
}

/**
 * The ETA items one step of a vehicle makes obsolete, from one state to the next: stops passed on the
 * same run, or every stop ahead on the shape it left.
 */
export function obsoleteEtas(
  prev: VehicleState | undefined,
  state: VehicleState,
  previousShape: ShapeRef | undefined,
): EtaDelete[] {
  if (prev?.distanceAlongM === undefined || !previousShape) return [];
  const to =
    sameRun(prev, state) && state.distanceAlongM !== undefined ? state.distanceAlongM : Number.POSITIVE_INFINITY;
  return stopsPassed(previousShape, prev.distanceAlongM, to).map((stopId) => ({ stopId, vehicleId: state.vehicleId }));
}

/**
 * Decides the refresh fix by fix, in the vehicle's event order, as if each fix were processed alone:
 * a fix refreshes when no ETA was computed on its run yet (first fix of a new run included) or
 * ETA_REFRESH_MS passed since the last one, and only if it can produce rows; otherwise the next fix tries.
 * Returns the last refreshing fix on the final run (its rows are the ones to write) and its event time.
 */
export function planEtas(
  prev: VehicleState | undefined,
  fixes: EtaFix[],
): { anchor: EtaFix | undefined; computedTs: number | undefined } {
  let before = prev;
  let computedTs = prev?.etaComputedTs;
  let anchor: EtaFix | undefined;
  for (const fix of fixes) {
    if (!before || !sameRun(before, fix.state)) {
      computedTs = undefined;
      anchor = undefined;
    }
    if (refreshDue(computedTs, fix.state.ts) && canProduceEtas(fix)) {
      computedTs = fix.state.ts;
      anchor = fix;
    }
    before = fix.state;
  }
  return { anchor, computedTs };
}

/**
 * The ETA writes of one batch for one vehicle, exactly as processing its fixes one at a time would leave
 * them. `fixes` are the states its fixes produced, in order (the last one is the state after the batch);
 * `previousShape` is the shape of `prev`. Stops are deleted step by step (fix to fix, so a vehicle that
 * jitters back and forth over a stop ends the same however the fixes were batched); rows come from the
 * last refreshing fix, minus the stops passed in any step after it.
 */
export function computeEtas(
  prev: VehicleState | undefined,
  fixes: EtaFix[],
  previousShape: ShapeRef | undefined,
  nowMs: number,
): EtaUpdate {
  const last = fixes.at(-1);
  if (!last) return { puts: [], deletes: [] };
  const { anchor, computedTs } = planEtas(prev, fixes);
  const anchorIndex = anchor ? fixes.indexOf(anchor) : fixes.length;
  const deletes = new Map<string, EtaDelete>();
  const passedSinceAnchor = new Set<string>();
  let before = prev;
  let beforeShape = previousShape;
  for (let index = 0; index < fixes.length; index++) {
    const fix = fixes[index] as EtaFix;
    for (const obsolete of obsoleteEtas(before, fix.state, beforeShape)) {
      deletes.set(obsolete.stopId, obsolete);
      if (index > anchorIndex) passedSinceAnchor.add(obsolete.stopId);
    }
    before = fix.state;
    beforeShape = fix.shape;
  }
  const puts =
    anchor?.shape && anchor.state.distanceAlongM !== undefined
      ? etaRowsFrom(anchor, nowMs).filter((row) => !passedSinceAnchor.has(row.stopId))
      : [];
  // A stop passed before the anchor but ahead of it again keeps its fresh ETA (and one batch may not
  // put and delete the same key).
  const ahead = new Set(puts.map((p) => p.stopId));
  return {
    puts,
    deletes: [...deletes.values()].filter((d) => !ahead.has(d.stopId)),
    ...(computedTs !== undefined ? { computedTs } : {}),
  };
}
