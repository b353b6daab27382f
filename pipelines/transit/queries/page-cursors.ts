/**
 * Page cursors: where a list resumes, named in the terms of what it lists (a vehicle id, a window start, an
 * anomaly's window and id) and of the query it continues (the route), never as a DynamoDB key. The HTTP layer
 * turns a cursor into an opaque token and checks it on the way back against the shapes below
 * (shared/http/pagination.ts); this module turns a LastEvaluatedKey into a cursor and a cursor into the
 * ExclusiveStartKey of the next query, so the table layouts stay behind shared/queries.
 */
import type { ShapeOf } from '../../../shared/http/pagination.js';
import { isValidId } from '../../../shared/ids.js';
import { anomalySortKey, type DynamoKey, parseAnomalySortKey, routeIdOfPk, routePk } from './keys.js';
import type { DayCursor } from './serving.js';

/** A LastEvaluatedKey that does not have the layout of the table it came from: a bug, not a client error. */
export class UnexpectedPageKeyError extends Error {
  override name = 'UnexpectedPageKeyError';
}

const isEpochMs = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value < 1e13;
// An anomaly id is `<type>:<vehicleId>:<key>`, so it can be longer than an entity id.
const isAnomalyId = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 512 && !value.includes('#');
const isUtcDay = (value: unknown): value is string => typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);

/** `GET /v1/vehicles`: the route listed and the last vehicle read. */
export interface VehicleCursor {
  routeId: string;
  vehicleId: string;
}
export const VEHICLE_CURSOR: ShapeOf<VehicleCursor> = { routeId: isValidId, vehicleId: isValidId };

/** `GET /v1/routes/{routeId}/metrics`: the route listed and the start of the last window read. */
export interface WindowCursor {
  routeId: string;
  windowStart: number;
}
export const WINDOW_CURSOR: ShapeOf<WindowCursor> = { routeId: isValidId, windowStart: isEpochMs };

/** `GET /v1/anomalies?routeId=`: the route listed and the last anomaly read, by its window start and id. */
export interface AnomalyCursor {
  routeId: string;
  windowStart: number;
  anomalyId: string;
}
export const ANOMALY_CURSOR: ShapeOf<AnomalyCursor> = {
  routeId: isValidId,
  windowStart: isEpochMs,
  anomalyId: isAnomalyId,
};

/** `GET /v1/anomalies` of all routes, at the start of a UTC day: the day to read next. */
export const DAY_START_CURSOR: ShapeOf<{ day: string }> = { day: isUtcDay };

/** `GET /v1/anomalies` of all routes, within a UTC day: the day and the last anomaly read (of any route). */
export const DAY_POSITION_CURSOR: ShapeOf<{ day: string } & AnomalyCursor> = { day: isUtcDay, ...ANOMALY_CURSOR };

/** Where a listing of all routes' anomalies resumes: a day and, within it, after which anomaly. */
export interface AnomalyDayCursor {
  day: string;
  after?: AnomalyCursor;
}

function unexpected(key: DynamoKey): never {
  throw new UnexpectedPageKeyError(`unexpected LastEvaluatedKey with attributes ${Object.keys(key).sort().join(', ')}`);
}

/** The cursor after the last vehicle a byRoute query read. */
export function vehicleCursorOf(key: DynamoKey): VehicleCursor {
  const { routeId, vehicleId } = key;
  if (typeof routeId !== 'string' || typeof vehicleId !== 'string') return unexpected(key);
  return { routeId, vehicleId };
}

/** The byRoute ExclusiveStartKey of a vehicle cursor (the table key plus the index key). */
export function vehicleStartKey(cursor: VehicleCursor): DynamoKey {
  return { vehicleId: cursor.vehicleId, routeId: cursor.routeId };
}

/** The cursor after the last window a route's window query read. */
export function windowCursorOf(routeId: string, key: DynamoKey): WindowCursor {
  const { windowStart } = key;
  if (typeof windowStart !== 'number') return unexpected(key);
  return { routeId, windowStart };
}

/** The cursor after the last anomaly a query of AnomaliesTable (or its byDay index) read. */
export function anomalyCursorOf(key: DynamoKey): AnomalyCursor {
  const routeId = routeIdOfPk(key.pk);
  const sort = parseAnomalySortKey(key.sk);
  if (routeId === undefined || sort === undefined) return unexpected(key);
  return { routeId, ...sort };
}

/** The table ExclusiveStartKey of an anomaly cursor. */
export function anomalyStartKey(cursor: AnomalyCursor): DynamoKey {
  return { pk: routePk(cursor.routeId), sk: anomalySortKey(cursor.windowStart, cursor.anomalyId) };
}

/** The token form of where `anomaliesSince` stopped: `{day}` or, within a day, `{day, ...AnomalyCursor}`. */
export function anomalyDayCursorOf(cursor: DayCursor): { day: string } | ({ day: string } & AnomalyCursor) {
  return cursor.startKey ? { day: cursor.day, ...anomalyCursorOf(cursor.startKey) } : { day: cursor.day };
}

/** Where `anomaliesSince` resumes for a cursor: the day and, within it, the byDay ExclusiveStartKey. */
export function dayCursorOf(cursor: AnomalyDayCursor): DayCursor {
  if (!cursor.after) return { day: cursor.day };
  return { day: cursor.day, startKey: { ...anomalyStartKey(cursor.after), day: cursor.day } };
}
