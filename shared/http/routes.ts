/**
 * The read API's route table: one entry per `GET` resource of the REST API, keyed exactly as API Gateway
 * reports `event.resource`. Exported so tests can check it against docs/openapi.yaml.
 */
import { pageKeyAttributes, routePk } from '../queries/keys.js';
import { projectAnomaly, projectRouteWindow, projectStopEta, projectVehicleState } from '../queries/projections.js';
import type { ReadModels } from '../queries/read-models.js';
import {
  ANOMALY_LOOKBACK_MAX_MS,
  anomaliesSince,
  anomalyDays,
  type DayCursor,
  etasToServe,
  withLateCounts,
} from '../queries/serving.js';
import { BadRequestError, DependencyUnavailableError, NotFoundError } from './errors.js';
import { asDynamoKey, decodeKeyToken, decodeToken, encodeToken } from './pagination.js';
import { optionalId, optionalToken, parseAnomalyType, parseLimit, parseTime, requireId } from './params.js';

/** What a route handler sees of the request. */
export interface ApiRequest {
  pathParameters?: Record<string, string | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
}

/** What a route handler needs: the read models and a clock. */
export interface RouteDeps {
  read: ReadModels;
  now: () => number;
}

/** A successful response before serialization; errors are thrown and mapped at the edge. */
export interface RouteResult {
  statusCode: number;
  body: unknown;
}

export interface RouteDefinition {
  method: 'GET';
  /** The API Gateway resource path, e.g. `/v1/vehicles/{vehicleId}`. */
  resource: string;
  handle(request: ApiRequest, deps: RouteDeps): Promise<RouteResult>;
}

const HOUR_MS = 3_600_000;

const ok = (body: unknown): RouteResult => ({ statusCode: 200, body });

/** A page as the API returns it: the items and, when more follow, an opaque token. */
function page<T>(items: T[], lastKey: unknown): { items: T[]; nextToken?: string } {
  return lastKey === undefined ? { items } : { items, nextToken: encodeToken(lastKey) };
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
      const startKey = token ? decodeKeyToken(token, pageKeyAttributes.vehiclesByRoute, { routeId }) : undefined;
      const result = await read.vehiclesOnRoute(routeId, { limit, startKey });
      return ok({ routeId, ...page(result.items.map(projectVehicleState), result.lastKey) });
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
      const startKey = token ? decodeKeyToken(token, pageKeyAttributes.windows, { pk: routePk(routeId) }) : undefined;
      const result = await read.routeWindows(routeId, { from, to }, { limit, startKey });
      const items = await withLateCounts(read, routeId, result.items);
      return ok({ routeId, from, to, ...page(items.map(projectRouteWindow), result.lastKey) });
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
      const type = parseAnomalyType(query);
      const limit = parseLimit(query);
      const token = optionalToken(query);
      if (routeId) {
        const startKey = token
          ? decodeKeyToken(token, pageKeyAttributes.anomaliesByRoute, { pk: routePk(routeId) })
          : undefined;
        const result = await read.anomaliesOnRoute(routeId, { since, type }, { limit, startKey });
        return ok(page(result.items.map(projectAnomaly), result.lastKey));
      }
      const cursor = token ? decodeDayCursor(token, anomalyDays(since, at)) : undefined;
      const result = await anomaliesSince(read, { since, type, until: at }, limit, cursor);
      const next = result.cursor && { d: result.cursor.day, k: result.cursor.startKey };
      return ok(page(result.items.map(projectAnomaly), next));
    },
  },
];

/** Decodes a cross-day anomaly token `{d, k?}`; the day must be one the current query spans. */
function decodeDayCursor(token: string, days: readonly string[]): DayCursor {
  const value = decodeToken(token);
  const invalid = () => new BadRequestError('nextToken', 'nextToken is not a valid pagination token for this query');
  if (typeof value !== 'object' || value === null) throw invalid();
  const { d, k, ...rest } = value as Record<string, unknown>;
  if (typeof d !== 'string' || !days.includes(d) || Object.keys(rest).length > 0) throw invalid();
  if (k === undefined) return { day: d };
  const startKey = asDynamoKey(k, pageKeyAttributes.anomaliesByDay);
  if (startKey.day !== d) throw invalid();
  return { day: d, startKey };
}
