/**
 * The read side of the pipeline as the API needs it. The router depends only on this interface, so unit
 * tests run it against an in-memory implementation; `dynamo-read-models.ts` is the DynamoDB one.
 * Pagination is expressed in raw DynamoDB keys; `page-cursors.ts` turns them into cursors that name no key,
 * and the HTTP layer turns cursors into opaque tokens. Items come back as stored: `projections.ts` gives them
 * their public shape.
 */

import type { Anomaly, AnomalyType, StopEta, VehicleState, WindowAggregate } from '../model.js';
import type { DynamoKey } from './keys.js';

/** One page of items and, when more may follow, the key to continue from. */
export interface KeyPage<T> {
  items: T[];
  lastKey?: DynamoKey;
}

export interface PageRequest {
  limit: number;
  startKey?: DynamoKey;
}

/** The reference item of a stop (`STOP#<stopId>`/`META`). */
export interface StopMeta {
  stopId: string;
  name?: string;
  lat?: number;
  lon?: number;
  routeIds?: string[];
}

export interface AnomalyFilter {
  /** Only anomalies at or after this instant (epoch ms). */
  since: number;
  type?: AnomalyType;
}

/** Read access to the read models. Lists come back in the order the route serves them. */
export interface ReadModels {
  getVehicle(vehicleId: string): Promise<VehicleState | undefined>;
  /** Vehicles whose latest state is on the route, by vehicleId. */
  vehiclesOnRoute(routeId: string, page: PageRequest): Promise<KeyPage<VehicleState>>;
  /** Route windows with `from <= windowStart <= to`, oldest first. */
  routeWindows(
    routeId: string,
    range: { from: number; to: number },
    page: PageRequest,
  ): Promise<KeyPage<WindowAggregate>>;
  /** Late events per windowStart for the route's windows in `[fromWindowStart, toWindowStart]`. */
  lateEventCounts(routeId: string, fromWindowStart: number, toWindowStart: number): Promise<Map<number, number>>;
  getStop(stopId: string): Promise<StopMeta | undefined>;
  /** All ETA items of the stop, unfiltered (expiry is the caller's business: the TTL sweep is lazy). */
  stopEtas(stopId: string): Promise<StopEta[]>;
  /** A route's anomalies, newest first. */
  anomaliesOnRoute(routeId: string, filter: AnomalyFilter, page: PageRequest): Promise<KeyPage<Anomaly>>;
  /** The anomalies of one UTC day (`YYYY-MM-DD`), newest first. */
  anomaliesOnDay(day: string, filter: AnomalyFilter, page: PageRequest): Promise<KeyPage<Anomaly>>;
  /** A cheap round trip to the store; throws when it is unreachable. */
  ping(): Promise<void>;
}
