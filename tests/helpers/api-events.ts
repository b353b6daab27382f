/** Factories for REST API tests: proxy events and read-model items. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Anomaly, StopEta, VehicleState, WindowAggregate } from '../../shared/model.js';
import { routePk, ts13, utcDay } from '../../shared/queries/keys.js';

/** A fixed "now" for API tests: 2025-03-04T12:00:00Z. */
export const NOW = Date.parse('2025-03-04T12:00:00Z');

/** A REST proxy event (payload v1) for `GET <resource>`. */
export function apiEvent(
  resource: string,
  params: { path?: Record<string, string>; query?: Record<string, string>; method?: string } = {},
): APIGatewayProxyEvent {
  const path = resource.replace(/\{(\w+)\}/g, (_, name: string) => params.path?.[name] ?? `{${name}}`);
  return {
    resource,
    path,
    httpMethod: params.method ?? 'GET',
    headers: {},
    multiValueHeaders: {},
    pathParameters: params.path ?? null,
    queryStringParameters: params.query ?? null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

export function vehicleState(overrides: Partial<VehicleState> = {}): VehicleState {
  return {
    vehicleId: 'V1',
    routeId: 'R1',
    tripId: 'T1',
    lat: 52.37,
    lon: 4.89,
    speedKmh: 30,
    headingDeg: 90,
    occupancy: null,
    ts: NOW - 5_000,
    eventId: 'e-1',
    recentSpeedKmh: 28,
    lastMovedTs: NOW - 5_000,
    lastMovedLat: 52.37,
    lastMovedLon: 4.89,
    updatedAt: new Date(NOW - 4_000).toISOString(),
    ...overrides,
  };
}

/** A route window starting at `windowStart` (60 s long). */
export function routeWindow(
  routeId: string,
  windowStart: number,
  overrides: Partial<WindowAggregate> = {},
): WindowAggregate {
  return {
    pk: routePk(routeId),
    entityType: 'route',
    entityId: routeId,
    routeId,
    windowStart,
    windowEnd: windowStart + 60_000,
    count: 4,
    minSpeedKmh: 10,
    maxSpeedKmh: 40,
    avgSpeedKmh: 25,
    sumSpeedKmh: 100,
    sumSqSpeedKmh: 2_900,
    vehicleIds: ['V1', 'V2'],
    distinctVehicles: 2,
    updatedAt: new Date(windowStart + 61_000).toISOString(),
    ...overrides,
  };
}

/** An anomaly as stored in AnomaliesTable, with its `pk`, `sk` and `day` attributes. */
export type StoredAnomaly = Anomaly & { pk: string; sk: string; day: string };

export function storedAnomaly(overrides: Partial<Anomaly> & { ts: number }): StoredAnomaly {
  const anomaly: Anomaly = {
    anomalyId: `a-${overrides.ts}-${overrides.vehicleId ?? 'V1'}`,
    type: 'speed-zscore',
    score: 4.2,
    entityType: 'vehicle',
    entityId: overrides.vehicleId ?? 'V1',
    vehicleId: 'V1',
    routeId: 'R1',
    windowStart: overrides.ts - (overrides.ts % 60_000),
    windowEnd: overrides.ts - (overrides.ts % 60_000) + 60_000,
    evidence: { speedKmh: 120, mean: 30, stddev: 10 },
    detectedAt: new Date(overrides.ts + 1_000).toISOString(),
    ...overrides,
  };
  return {
    ...anomaly,
    pk: routePk(anomaly.routeId),
    sk: `${ts13(anomaly.ts)}#${anomaly.anomalyId}`,
    day: utcDay(anomaly.ts),
  };
}

export function stopEta(overrides: Partial<StopEta> = {}): StopEta {
  return {
    stopId: 'S1',
    vehicleId: 'V1',
    routeId: 'R1',
    tripId: 'T1',
    stopName: 'Central',
    etaTs: NOW + 120_000,
    secondsAway: 120,
    distanceM: 900,
    speedKmh: 27,
    basis: 'vehicle-speed',
    computedFromTs: NOW - 5_000,
    expiresAt: Math.floor(NOW / 1000) + 600,
    ...overrides,
  };
}
