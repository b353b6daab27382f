/** Factories for REST API tests: proxy events and read-model items. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Anomaly, AnomalyType, StopEta, VehicleState } from '../../pipelines/transit/model.js';
import { anomalyDay, anomalyKey } from '../../pipelines/transit/processing/keys.js';
import type { StoredWindow } from '../../pipelines/transit/processing/ports.js';
import { routePk } from '../../pipelines/transit/queries/keys.js';

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

/** A vehicle state as stored, with the processor's bookkeeping (which stall it reported, which fix its ETAs use). */
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
    stallReportedFor: NOW - 600_000,
    etaComputedTs: NOW - 5_000,
    distanceAlongM: 1_200,
    offRouteM: 3,
    updatedAt: new Date(NOW - 4_000).toISOString(),
    ...overrides,
  };
}

/** A route window starting at `windowStart` (60 s long), as stored: with its key, sums, vehicles and version. */
export function routeWindow(routeId: string, windowStart: number, overrides: Partial<StoredWindow> = {}): StoredWindow {
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
    positions: { 'shardId-000000000000': '0000000000000000000042' },
    version: 3,
    updatedAt: new Date(windowStart + 61_000).toISOString(),
    ...overrides,
  };
}

/** An anomaly as stored in AnomaliesTable, with its `pk`, `sk` and `day` attributes. */
export type StoredAnomaly = Anomaly & { pk: string; sk: string; day: string };

/** Evidence of each anomaly type, as the detectors write it. */
const EVIDENCE: Record<AnomalyType, Anomaly['evidence']> = {
  'speed-zscore': {
    speedKmh: 120,
    baselineMeanKmh: 30,
    baselineStdKmh: 10,
    baselineCount: 60,
    baselineWindows: 5,
    baselineFrom: NOW - 420_000,
    baselineTo: NOW - 120_000,
    eventId: 'e-9',
  },
  'impossible-jump': {
    distanceM: 3_000,
    seconds: 5,
    impliedSpeedKmh: 2_160,
    fromLat: 52.37,
    fromLon: 4.89,
    previousEventId: 'e-8',
  },
  'off-route': { offsetM: 520, thresholdM: 150, shapeId: 'S1' },
  stalled: { stalledSeconds: 420, sinceTs: NOW - 420_000, tripId: 'T1' },
};

export function storedAnomaly(overrides: Partial<Anomaly> & { ts: number }): StoredAnomaly {
  const type = overrides.type ?? 'speed-zscore';
  const anomaly: Anomaly = {
    anomalyId: `${type}:${overrides.vehicleId ?? 'V1'}:${overrides.ts}`,
    type,
    score: 4.2,
    entityType: 'vehicle',
    entityId: overrides.vehicleId ?? 'V1',
    vehicleId: 'V1',
    routeId: 'R1',
    windowStart: overrides.ts - (overrides.ts % 60_000),
    windowEnd: overrides.ts - (overrides.ts % 60_000) + 60_000,
    evidence: EVIDENCE[type],
    detectedAt: new Date(overrides.ts + 1_000).toISOString(),
    ...overrides,
  };
  // The processor's own key helpers, so the fixture is keyed as AnomaliesTable is.
  return { ...anomaly, ...anomalyKey(anomaly), day: anomalyDay(anomaly.windowStart) };
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
