/**
 * Advances a vehicle's state by one fix (in event-time order) and detects the per-vehicle anomalies
 * that need the previous fix: an impossible jump, leaving the route, and a stall while on a trip.
 * Pure: the same state and fix always give the same result, so a retried batch detects the same anomalies.
 */
import type { ProcessingSettings } from '../config.js';
import { haversineMeters, projectOntoShape } from '../geo.js';
import type { Anomaly, VehiclePosition, VehicleState } from '../model.js';
import type { ShapeRef } from './ports.js';
import { windowStartOf } from './windows.js';

/** Movement below this, between fixes, counts as standing still (GPS jitter). */
export const MOVE_THRESHOLD_M = 30;
/** Weight of the newest fix in the smoothed speed used for ETAs. */
const SPEED_SMOOTHING = 0.3;

export interface TrackStep {
  state: VehicleState;
  anomalies: Anomaly[];
}

/** Builds an anomaly with a deterministic id, so a replay writes the same item. */
export function makeAnomaly(
  type: Anomaly['type'],
  key: string | number,
  event: VehiclePosition,
  score: number,
  evidence: Anomaly['evidence'],
  settings: Pick<ProcessingSettings, 'windowSizeMs'>,
  detectedAt: string,
): Anomaly {
  const windowStart = windowStartOf(event.ts, settings.windowSizeMs);
  return {
    anomalyId: `${type}:${event.vehicleId}:${key}`,
    type,
    score: Math.round(score * 1000) / 1000,
    entityType: 'vehicle',
    entityId: event.vehicleId,
    vehicleId: event.vehicleId,
    routeId: event.routeId,
    windowStart,
    windowEnd: windowStart + settings.windowSizeMs,
    ts: event.ts,
    evidence,
    detectedAt,
  };
}

/**
 * The next state of a vehicle after `event`, which must be newer than `prev` (older fixes still count
 * in windows but never move the state back). `shape` is the shape the vehicle's trip runs on, if known.
 */
export function advanceTrack(
  prev: VehicleState | undefined,
  event: VehiclePosition,
  shape: ShapeRef | undefined,
  settings: ProcessingSettings,
  now: string,
): TrackStep {
  const anomalies: Anomaly[] = [];
  const here = { lat: event.lat, lon: event.lon };
  const projection = shape ? projectOntoShape(here, shape.points) : undefined;

  if (prev) {
    const distM = haversineMeters(prev, here);
    const dtS = (event.ts - prev.ts) / 1000;
    const impliedKmh = dtS > 0 ? (distM / dtS) * 3.6 : Number.POSITIVE_INFINITY;
    // Two fixes in the same millisecond a kilometre apart are as impossible as a 1000 km/h jump.
    if (impliedKmh > settings.maxPlausibleSpeedKmh && distM > MOVE_THRESHOLD_M * 10) {
      const score = Number.isFinite(impliedKmh) ? impliedKmh / settings.maxPlausibleSpeedKmh : distM / 100;
      anomalies.push(
        makeAnomaly(
          'impossible-jump',
          event.ts,
          event,
          score,
          {
            distanceM: Math.round(distM),
            seconds: dtS,
            impliedSpeedKmh: Number.isFinite(impliedKmh) ? Math.round(impliedKmh) : null,
            fromLat: prev.lat,
            fromLon: prev.lon,
            previousEventId: prev.eventId,
          },
          settings,
          now,
        ),
      );
    }
  }

  if (projection && projection.offsetM > settings.offRouteMeters) {
    const wasOff = prev?.offRouteM !== undefined && prev.offRouteM > settings.offRouteMeters;
    if (!wasOff) {
      anomalies.push(
        makeAnomaly(
          'off-route',
          event.ts,
          event,
          projection.offsetM / settings.offRouteMeters,
          {
            offsetM: Math.round(projection.offsetM),
            thresholdM: settings.offRouteMeters,
            shapeId: shape?.shapeId ?? null,
          },
          settings,
          now,
        ),
      );
    }
  }

  const moved = !prev || haversineMeters({ lat: prev.lastMovedLat, lon: prev.lastMovedLon }, here) > MOVE_THRESHOLD_M;
  const lastMovedTs = moved ? event.ts : prev.lastMovedTs;
  let stallReportedFor = moved ? undefined : prev?.stallReportedFor;
  const stalledMs = event.ts - lastMovedTs;
  if (!moved && event.tripId && stalledMs >= settings.stallMs && stallReportedFor !== lastMovedTs) {
    anomalies.push(
      makeAnomaly(
        'stalled',
        lastMovedTs,
        event,
        stalledMs / settings.stallMs,
        { stalledSeconds: Math.round(stalledMs / 1000), sinceTs: lastMovedTs, tripId: event.tripId },
        settings,
        now,
      ),
    );
    stallReportedFor = lastMovedTs;
  }

  const recentSpeedKmh = prev
    ? SPEED_SMOOTHING * event.speedKmh + (1 - SPEED_SMOOTHING) * prev.recentSpeedKmh
    : event.speedKmh;
  const state: Omit<VehicleState, 'updatedAt'> & { updatedAt?: string } = {
    vehicleId: event.vehicleId,
    routeId: event.routeId,
    tripId: event.tripId ?? null,
    lat: event.lat,
    lon: event.lon,
    speedKmh: event.speedKmh,
    headingDeg: event.headingDeg,
    occupancy: event.occupancy ?? null,
    ts: event.ts,
    eventId: event.eventId,
    recentSpeedKmh,
    lastMovedTs,
    lastMovedLat: moved ? event.lat : prev.lastMovedLat,
    lastMovedLon: moved ? event.lon : prev.lastMovedLon,
  };
  // The optional fields in their place, then updatedAt, assigned rather than spread from throwaway
  // objects (this runs for every fix); the state's keys keep the same order either way.
  if (stallReportedFor !== undefined) state.stallReportedFor = stallReportedFor;
  if (shape && projection) {
    state.shapeId = shape.shapeId;
    state.distanceAlongM = projection.distanceAlongM;
    state.offRouteM = projection.offsetM;
  }
  state.updatedAt = now;
  return { state: state as VehicleState, anomalies };
}
