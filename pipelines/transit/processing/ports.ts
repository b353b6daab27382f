/**
 * The small interfaces the processor core talks through. DynamoDB, Kinesis and SQS implement them in
 * production and offline; an in-memory implementation serves unit tests and the benchmark.
 */
import type { ShapePoint } from '../geo.js';
import type { StopOnShape } from '../gtfs/parse-feed.js';

export type { DeadLetterMessage, DeadLetterSink } from '../../../shared/events/dead-letters.js';
export type { StopOnShape };

import type { Anomaly, OutputRecord, StopEta, VehiclePosition, VehicleState, WindowAggregate } from '../model.js';

/** A window item as stored: the aggregate plus what makes its updates idempotent. */
export interface StoredWindow extends WindowAggregate {
  /** Optimistic-locking version, +1 per write. */
  version: number;
  /** Per source partition, the highest record position folded in (route windows). */
  positions: Record<string, string>;
  /** Vehicle windows: every event folded in, with the position it came from. */
  eventIds?: Record<string, string>;
}

export interface WindowRef {
  pk: string;
  windowStart: number;
}

export interface LateEvent {
  routeId: string;
  windowStart: number;
  eventId: string;
  vehicleId: string;
  ts: number;
  lateByMs: number;
  event: VehiclePosition;
  receivedAt: string;
}

/** The processor's view of the read-model tables. Conditional writes return false when the condition failed. */
export interface ReadModelStore {
  getVehicleStates(vehicleIds: string[]): Promise<Map<string, VehicleState>>;
  getWindows(refs: WindowRef[]): Promise<Map<string, StoredWindow>>;
  /** Writes a window if its stored version is still `expectedVersion` (undefined: if it does not exist). */
  putWindow(window: StoredWindow, expectedVersion: number | undefined): Promise<boolean>;
  /** Route windows with `windowStart` in [from, to], oldest first. */
  queryRouteWindows(routeId: string, from: number, to: number): Promise<StoredWindow[]>;
  /** Writes the state unless a state with an equal or newer `ts` is stored. */
  putVehicleState(state: VehicleState): Promise<boolean>;
  /** The ids of those anomalies that are already stored. */
  findAnomalies(anomalies: Anomaly[]): Promise<Set<string>>;
  /** Writes an anomaly unless one with the same id exists. */
  putAnomaly(anomaly: Anomaly): Promise<boolean>;
  writeEtas(puts: StopEta[], deletes: Array<{ stopId: string; vehicleId: string }>): Promise<void>;
  putLateEvents(events: LateEvent[]): Promise<void>;
}

export interface ShapeRef {
  shapeId: string;
  points: ShapePoint[];
  stops: StopOnShape[];
}

/** GTFS reference data the processor needs. */
export interface ReferenceSource {
  /** The shapes of a route, or undefined for a route the reference table does not know. */
  routeShapes(routeId: string): Promise<Map<string, ShapeRef> | undefined>;
  /** The shape a trip runs on. */
  tripShapeId(tripId: string): Promise<string | undefined>;
}

export interface Publisher {
  publish(records: OutputRecord[]): Promise<void>;
}
