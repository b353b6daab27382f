/**
 * Projections: the public shape of each read model, in one place. The REST API, the output stream and the
 * WebSocket pushes all send an item through its projection, so what a client sees is exactly what
 * docs/openapi.yaml lists for it. Storage keys (`pk`, `sk`, `day`), versions, per-partition positions, event-id
 * maps, running sums, detector and ETA bookkeeping and TTL attributes stay in the store.
 *
 * Each projection picks the fields it names, so a field the store gains later stays internal until someone
 * adds it here and to the document.
 */
import type { PipelineOutputRecord } from '../../../shared/streams/output-record.js';
import type { Anomaly, StopEta, VehicleState, WindowAggregate } from '../model.js';

/** Copies the named fields of `item` that are set; an absent optional field stays absent. */
function pick<T extends object, K extends keyof T>(item: T, fields: readonly K[]): Pick<T, K> {
  const picked: Partial<Pick<T, K>> = {};
  // Each field read once: every vehicle state and window published goes through here.
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as K;
    const value = item[field];
    if (value !== undefined) picked[field] = value;
  }
  return picked as Pick<T, K>;
}

/**
 * What a client sees of a vehicle. `stallReportedFor` (which stall was already reported) and `etaComputedTs`
 * (which fix the ETA rows come from) only keep the processor from repeating itself.
 */
export const VEHICLE_STATE_FIELDS = [
  'vehicleId',
  'routeId',
  'tripId',
  'shapeId',
  'lat',
  'lon',
  'speedKmh',
  'headingDeg',
  'occupancy',
  'ts',
  'eventId',
  'recentSpeedKmh',
  'lastMovedTs',
  'lastMovedLat',
  'lastMovedLon',
  'distanceAlongM',
  'offRouteM',
  'updatedAt',
] as const satisfies readonly (keyof VehicleState)[];

/** The public state of a vehicle (`VehicleState` in docs/openapi.yaml). */
export type PublicVehicleState = Pick<VehicleState, (typeof VEHICLE_STATE_FIELDS)[number]>;

/** Projects a vehicle state: a stored one, or one already public (then an equal copy). */
export function projectVehicleState(state: PublicVehicleState): PublicVehicleState {
  return pick(state, VEHICLE_STATE_FIELDS);
}

/**
 * What a client sees of a window: its entity, bounds and aggregates. The key (`pk`), the running sums the
 * average and the speed baseline are computed from, the vehicle list behind `distinctVehicles`, and the
 * write bookkeeping (`version`, `positions`, `eventIds`, `updatedAt`) stay internal.
 */
export const WINDOW_FIELDS = [
  'entityType',
  'entityId',
  'routeId',
  'windowStart',
  'windowEnd',
  'count',
  'minSpeedKmh',
  'maxSpeedKmh',
  'avgSpeedKmh',
  'distinctVehicles',
] as const satisfies readonly (keyof WindowAggregate)[];

/** The public aggregate of one window (`WindowAggregate` in docs/openapi.yaml). */
export type PublicWindow = Pick<WindowAggregate, (typeof WINDOW_FIELDS)[number]>;

/** Projects a window (a route's or a vehicle's): a stored one, or one already public. */
export function projectWindow(window: PublicWindow): PublicWindow {
  return pick(window, WINDOW_FIELDS);
}

/** A route window as `GET /v1/routes/{routeId}/metrics` serves it (`RouteWindow` in docs/openapi.yaml). */
export type PublicRouteWindow = PublicWindow & { lateEvents: number };

/** Projects a stored route window with the number of events that came too late to be folded into it. */
export function projectRouteWindow(window: PublicRouteWindow): PublicRouteWindow {
  return { ...projectWindow(window), lateEvents: window.lateEvents };
}

/** What a client sees of an anomaly: everything but the table and index keys (`pk`, `sk`, `day`). */
export const ANOMALY_FIELDS = [
  'anomalyId',
  'type',
  'score',
  'entityType',
  'entityId',
  'vehicleId',
  'routeId',
  'windowStart',
  'windowEnd',
  'ts',
  'evidence',
  'detectedAt',
] as const satisfies readonly (keyof Anomaly)[];

/** The public view of an anomaly (`Anomaly` in docs/openapi.yaml). */
export type PublicAnomaly = Pick<Anomaly, (typeof ANOMALY_FIELDS)[number]>;

/** Projects an anomaly: a stored one (with its keys), or one already public. */
export function projectAnomaly(anomaly: PublicAnomaly): PublicAnomaly {
  const projected = pick(anomaly, ANOMALY_FIELDS);
  return { ...projected, evidence: { ...projected.evidence } };
}

/**
 * What a client sees of a predicted arrival. `expiresAt` is the TTL attribute: the API already leaves
 * out expired and stale predictions.
 */
export const STOP_ETA_FIELDS = [
  'stopId',
  'vehicleId',
  'routeId',
  'tripId',
  'stopName',
  'etaTs',
  'secondsAway',
  'distanceM',
  'speedKmh',
  'basis',
  'computedFromTs',
] as const satisfies readonly (keyof StopEta)[];

/** The public view of a predicted arrival (`StopEta` in docs/openapi.yaml). */
export type PublicStopEta = Pick<StopEta, (typeof STOP_ETA_FIELDS)[number]>;

/** Projects a predicted arrival: a stored one, or one already public. */
export function projectStopEta(eta: PublicStopEta): PublicStopEta {
  return pick(eta, STOP_ETA_FIELDS);
}

/** A result on the output stream, in its public shape (docs/contracts.md). */
export type OutputRecord =
  | { kind: 'vehicle'; data: PublicVehicleState }
  | { kind: 'window'; data: PublicWindow }
  | { kind: 'anomaly'; data: PublicAnomaly }
  | PipelineOutputRecord;
