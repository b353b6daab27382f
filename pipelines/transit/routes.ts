/**
 * The read API's route table: one entry per `GET` resource of the REST API, keyed exactly as API Gateway
 * reports `event.resource`. Exported so tests can check it against docs/openapi.yaml.
 */

import { BadRequestError, DependencyUnavailableError, NotFoundError } from '../../shared/http/errors.js';
import { asCursor, decodeCursor, decodeToken, encodeCursor, invalidToken } from '../../shared/http/pagination.js';
import {
  optionalId,
  optionalOneOf,
  optionalToken,
  parseLimit,
  parseTime,
  requireId,
} from '../../shared/http/params.js';
import type {
  ApiRequest,
  RouteDefinition as GenericRouteDefinition,
  RouteResult,
} from '../../shared/http/route-definition.js';
import { ANOMALY_TYPES } from './model.js';
import { ts13 } from './queries/keys.js';
import {
  ANOMALY_CURSOR,
  type AnomalyDayCursor,
  anomalyCursorOf,
  anomalyDayCursorOf,
  anomalyStartKey,
  DAY_POSITION_CURSOR,
  DAY_START_CURSOR,
  dayCursorOf,
  VEHICLE_CURSOR,
  vehicleCursorOf,
  vehicleStartKey,
  WINDOW_CURSOR,
  windowCursorOf,
} from './queries/page-cursors.js';
import { projectAnomaly, projectRouteWindow, projectStopEta, projectVehicleState } from './queries/projections.js';
import type { ReadModels } from './queries/read-models.js';
import {
  ANOMALY_LOOKBACK_MAX_MS,
  anomaliesSince,
  anomalyDays,
  etasToServe,
  withLateCounts,
} from './queries/serving.js';

/** What a route handler needs: the read models and a clock. */
export interface RouteDeps {
  read: ReadModels;
  now: () => number;
}

/** Transit's routes: handlers that read its read models. */
export type RouteDefinition<D = RouteDeps> = GenericRouteDefinition<D>;
export type { ApiRequest, RouteResult };

const HOUR_MS = 3_600_000;

const ok = (body: unknown): RouteResult => ({ statusCode: 200, body });

/** A page as the API returns it: the items and, when more follow, the opaque token of where they resume. */
function page<T>(items: T[], cursor: object | undefined): { items: T[]; nextToken?: string } {
  return cursor === undefined ? { items } : { items, nextToken: encodeCursor(cursor) };
}

/** Every GET route the API serves. */
export const routes: readonly RouteDefinition[] = [
  {
    method: 'GET',
    resource: '/health',
    async handle(_request, { read }) {
      try {
        await read.ping();
      } catch (cause) {
        throw new DependencyUnavailableError('DynamoDB is unreachable', { cause });
      }
      return ok({ status: 'ok' });
    },
  },
  {
    method: 'GET',
    resource: '/v1/vehicles/{vehicleId}',
    async handle({ pathParameters }, { read }) {
      const vehicleId = requireId(pathParameters, 'vehicleId');
      const vehicle = await read.getVehicle(vehicleId);
      if (!vehicle) throw new NotFoundError(`vehicle ${vehicleId} not found`);
      return ok(projectVehicleState(vehicle));
    },
  },
  {
    method: 'GET',
    resource: '/v1/vehicles',
    async handle({ queryStringParameters: query }, { read }) {
      const routeId = requireId(query, 'routeId');
      const limit = parseLimit(query);
      const token = optionalToken(query);
      const cursor = token ? decodeCursor(token, VEHICLE_CURSOR) : undefined;
      if (cursor && cursor.routeId !== routeId) throw invalidToken();
      const result = await read.vehiclesOnRoute(routeId, { limit, startKey: cursor && vehicleStartKey(cursor) });
      const next = result.lastKey && vehicleCursorOf(result.lastKey);
      return ok({ routeId, ...page(result.items.map(projectVehicleState), next) });
    },
  },
  {
    method: 'GET',
    resource: '/v1/routes/{routeId}/metrics',
    async handle({ pathParameters, queryStringParameters: query }, { read, now }) {
      const routeId = requireId(pathParameters, 'routeId');
      const to = parseTime(query, 'to', now());
      const from = parseTime(query, 'from', to - HOUR_MS);
      if (from > to) throw new BadRequestError('from', 'from must not be after to');
      const limit = parseLimit(query);
      const token = optionalToken(query);
      const cursor = token ? decodeCursor(token, WINDOW_CURSOR) : undefined;
      if (cursor && cursor.routeId !== routeId) throw invalidToken();
      // Window starts are whole milliseconds, so the next page is the range after the cursor: no start key,
      // and none outside the range (which DynamoDB refuses) when a default `from` moved on between pages.
      const after = cursor ? Math.max(from, cursor.windowStart + 1) : from;
      const result = after > to ? { items: [] } : await read.routeWindows(routeId, { from: after, to }, { limit });
      const items = await withLateCounts(read, routeId, result.items);
      const next = result.lastKey && windowCursorOf(routeId, result.lastKey);
      return ok({ routeId, from, to, ...page(items.map(projectRouteWindow), next) });
    },
  },
  {
    method: 'GET',
    resource: '/v1/stops/{stopId}/eta',
    async handle({ pathParameters }, { read, now }) {
      const stopId = requireId(pathParameters, 'stopId');
      // Both reads are needed for a 200, so they go out together.
      const [stop, etas] = await Promise.all([read.getStop(stopId), read.stopEtas(stopId)]);
      if (!stop) throw new NotFoundError(`stop ${stopId} not found`);
      return ok({ stopId, stopName: stop.name, items: etasToServe(etas, now()).map(projectStopEta) });
    },
  },
  {
    method: 'GET',
    resource: '/v1/anomalies',
    async handle({ queryStringParameters: query }, { read, now }) {
      const at = now();
      const since = parseTime(query, 'since', at - HOUR_MS);
      if (since < at - ANOMALY_LOOKBACK_MAX_MS) {
        throw new BadRequestError('since', 'since must be within the last 7 days');
      }
      const routeId = optionalId(query, 'routeId');
      const type = optionalOneOf(query, 'type', ANOMALY_TYPES);
      const limit = parseLimit(query);
      const token = optionalToken(query);
      if (routeId) {
        const cursor = token ? decodeCursor(token, ANOMALY_CURSOR) : undefined;
        if (cursor && cursor.routeId !== routeId) throw invalidToken();
        if (cursor && beforeSince(cursor.windowStart, since)) return ok(page([], undefined));
        const startKey = cursor && anomalyStartKey(cursor);
        const result = await read.anomaliesOnRoute(routeId, { since, type }, { limit, startKey });
        return ok(page(result.items.map(projectAnomaly), result.lastKey && anomalyCursorOf(result.lastKey)));
      }
      const cursor = token ? decodeAnomalyDayCursor(token, anomalyDays(since, at)) : undefined;
      if (cursor?.after && beforeSince(cursor.after.windowStart, since)) return ok(page([], undefined));
      const result = await anomaliesSince(read, { since, type, until: at }, limit, cursor && dayCursorOf(cursor));
      return ok(page(result.items.map(projectAnomaly), result.cursor && anomalyDayCursorOf(result.cursor)));
    },
  },
];

/**
 * Whether an anomaly cursor lies before `since`. Anomalies are listed newest first down to `since`, so
 * nothing follows such a cursor; and DynamoDB refuses a start key outside the query's range, which a
 * default `since` moving on between two pages would otherwise send.
 */
function beforeSince(windowStart: number, since: number): boolean {
  return ts13(windowStart) < ts13(since);
}

/** Decodes a cross-day anomaly token (see `anomalyDayCursorOf`); its day must be one the current query spans. */
function decodeAnomalyDayCursor(token: string, days: readonly string[]): AnomalyDayCursor {
  const value = decodeToken(token);
  let cursor: AnomalyDayCursor;
  if (typeof value === 'object' && value !== null && 'anomalyId' in value) {
    const { day, ...after } = asCursor(value, DAY_POSITION_CURSOR);
    cursor = { day, after };
  } else {
    cursor = asCursor(value, DAY_START_CURSOR);
  }
  if (!days.includes(cursor.day)) throw invalidToken();
  return cursor;
}
