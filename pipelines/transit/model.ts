/** The read models the processor writes and the API serves. Field names match docs/contracts.md. */
import type { VehiclePosition } from '../../shared/generated/schemas.js';

export type { VehiclePosition };

/** Latest known state of one vehicle (VehicleStateTable). */
export interface VehicleState {
  vehicleId: string;
  routeId: string;
  tripId?: string | null;
  shapeId?: string;
  lat: number;
  lon: number;
  speedKmh: number;
  headingDeg: number;
  occupancy?: number | null;
  /** Event time of this fix (epoch ms). */
  ts: number;
  eventId: string;
  /** Smoothed recent speed used for ETAs (km/h). */
  recentSpeedKmh: number;
  /** Event time and place the vehicle last moved more than a few metres. */
  lastMovedTs: number;
  lastMovedLat: number;
  lastMovedLon: number;
  /** `lastMovedTs` of the stall already reported, so one stall yields one anomaly. */
  stallReportedFor?: number;
  /** Event time of the fix the vehicle's current ETA rows were computed from. */
  etaComputedTs?: number;
  /** Position along the route shape, when the route is known. */
  distanceAlongM?: number;
  offRouteM?: number;
  updatedAt: string;
}

export type WindowEntity = 'route' | 'vehicle';

/** Aggregate of one tumbling event-time window for a route or a vehicle (WindowsTable). */
export interface WindowAggregate {
  pk: string;
  entityType: WindowEntity;
  entityId: string;
  routeId: string;
  windowStart: number;
  windowEnd: number;
  count: number;
  minSpeedKmh: number;
  maxSpeedKmh: number;
  avgSpeedKmh: number;
  sumSpeedKmh: number;
  sumSqSpeedKmh: number;
  /** Route windows: the distinct vehicles seen. */
  vehicleIds?: string[];
  distinctVehicles?: number;
  updatedAt: string;
}

export type AnomalyType = 'speed-zscore' | 'stalled' | 'impossible-jump' | 'off-route';

/** The anomaly types, e.g. for the `type` filter of `GET /v1/anomalies`. */
export const ANOMALY_TYPES: readonly AnomalyType[] = ['speed-zscore', 'stalled', 'impossible-jump', 'off-route'];

/** A scored anomaly (AnomaliesTable). `anomalyId` is deterministic, so a replay writes the same item. */
export interface Anomaly {
  anomalyId: string;
  type: AnomalyType;
  score: number;
  entityType: 'vehicle' | 'route';
  entityId: string;
  vehicleId: string;
  routeId: string;
  windowStart: number;
  windowEnd: number;
  /** Event time of the fix that triggered it. */
  ts: number;
  evidence: Record<string, number | string | null>;
  detectedAt: string;
}

/** Predicted arrival of one vehicle at one stop (EtaTable). */
export interface StopEta {
  stopId: string;
  vehicleId: string;
  routeId: string;
  tripId?: string | null;
  stopName?: string;
  /** Predicted arrival (epoch ms) and the fix it was computed from. */
  etaTs: number;
  secondsAway: number;
  distanceM: number;
  speedKmh: number;
  basis: 'vehicle-speed' | 'route-average';
  computedFromTs: number;
  expiresAt: number;
}

/** A record on the output stream: a read model in its public shape, defined by its projection. */
export type { OutputRecord } from './queries/projections.js';
