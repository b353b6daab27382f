import { describe, expect, it, vi } from 'vitest';
import { ts13 } from '../../../pipelines/transit/queries/keys.js';
import { routes } from '../../../pipelines/transit/routes.js';
import { encodeCursor } from '../../../shared/http/pagination.js';
import { createRouter } from '../../../shared/http/router.js';
import { apiEvent, NOW, routeWindow, stopEta, storedAnomaly, vehicleState } from '../../helpers/api-events.js';
import {
  assertDocumentedResponse,
  isDocumentedOperation,
  type Operation,
  schemaProblems,
} from '../../helpers/openapi.js';
import { type InMemoryData, inMemoryReadModels } from './in-memory-read-models.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** The attributes that only the tables hold; no response may carry them. */
const STORAGE_FIELDS = [
  'pk',
  'sk',
  'day',
  'version',
  'positions',
  'eventIds',
  'vehicleIds',
  'sumSpeedKmh',
  'sumSqSpeedKmh',
  'expiresAt',
  'stallReportedFor',
  'etaComputedTs',
];

/** The JSON text of a token, to see what it carries. */
const tokenText = (token: string) => Buffer.from(token, 'base64url').toString('utf8');

/**
 * A router over in-memory read models. Every response it gives a test is first checked against
 * docs/openapi.yaml, so a field no schema lists, or a status an operation does not document, fails the test.
 */
function setup(data: InMemoryData = {}, clock = { now: NOW }) {
  const read = inMemoryReadModels(data);
  const log = { error: vi.fn() };
  const route = createRouter({ read, now: () => clock.now, log, routes });
  const call = async (...args: Parameters<typeof apiEvent>) => {
    const event = apiEvent(...args);
    const response = await route(event);
    const operation = `${event.httpMethod} ${event.resource}` as Operation;
    // API Gateway answers an unknown resource itself; the router's own 404 still has the Error shape.
    if (isDocumentedOperation(operation)) assertDocumentedResponse(operation, response);
    else expect(schemaProblems('Error', JSON.parse(response.body))).toEqual([]);
    return { ...response, json: JSON.parse(response.body) };
  };
  return { read, log, call, clock };
}

describe('responses', () => {
  it('sends JSON with an open CORS header', async () => {
    const { call } = setup({ vehicles: [vehicleState()] });

    const response = await call('/v1/vehicles/{vehicleId}', { path: { vehicleId: 'V1' } });

    expect(response.headers).toEqual({ 'content-type': 'application/json', 'access-control-allow-origin': '*' });
  });

  it('answers 404 for a resource it does not route', async () => {
    const { call } = setup();

    const response = await call('/v1/nope');

    expect(response.statusCode).toBe(404);
    expect(response.json.error).toBe('NotFound');
  });

  it('hides the cause of a 500 and logs it', async () => {
    const { read, log, call } = setup();
    read.getVehicle = async () => {
      throw new Error('secret table arn:aws:dynamodb:eu-west-1:123:table/x');
    };

    const response = await call('/v1/vehicles/{vehicleId}', { path: { vehicleId: 'V1' } });

    expect(response.statusCode).toBe(500);
    expect(response.json).toEqual({ error: 'InternalError', message: 'internal error' });
    expect(log.error).toHaveBeenCalledOnce();
  });
});

describe('GET /health', () => {
  it('reports ok after a round trip to DynamoDB', async () => {
    const { read, call } = setup();

    const response = await call('/health');

    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({ status: 'ok' });
    expect(read.calls).toEqual(['ping']);
  });

  it('answers 503 without details when DynamoDB is unreachable', async () => {
    const { read, log, call } = setup();
    read.failPing = true;

    const response = await call('/health');

    expect(response.statusCode).toBe(503);
    expect(response.body).not.toContain('ECONNREFUSED');
    expect(response.json).toEqual({ error: 'InternalError', message: 'internal error' });
    expect(log.error).toHaveBeenCalledOnce();
  });
});

describe('GET /v1/vehicles/{vehicleId}', () => {
  it('returns the latest state of the vehicle, without the processor bookkeeping', async () => {
    const state = vehicleState({ vehicleId: 'V7', speedKmh: 44 });
    const { call } = setup({ vehicles: [vehicleState(), state] });

    const response = await call('/v1/vehicles/{vehicleId}', { path: { vehicleId: 'V7' } });

    const { stallReportedFor: _stall, etaComputedTs: _eta, ...served } = state;
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual(served);
  });

  it('answers 404 naming an unknown vehicle', async () => {
    const { call } = setup({ vehicles: [vehicleState()] });

    const response = await call('/v1/vehicles/{vehicleId}', { path: { vehicleId: 'V9' } });

    expect(response.statusCode).toBe(404);
    expect(response.json).toEqual({ error: 'NotFound', message: 'vehicle V9 not found' });
  });

  it('answers 400 naming vehicleId when it is not a valid id', async () => {
    const { call } = setup();

    const response = await call('/v1/vehicles/{vehicleId}', { path: { vehicleId: 'V 1/x' } });

    expect(response.statusCode).toBe(400);
    expect(response.json.parameter).toBe('vehicleId');
    expect(response.json.message).toContain('vehicleId');
  });
});

describe('GET /v1/vehicles', () => {
  const fleet = ['V1', 'V2', 'V3', 'V4', 'V5'].map((vehicleId) => vehicleState({ vehicleId, routeId: 'R1' }));
  const data = { vehicles: [...fleet, vehicleState({ vehicleId: 'V6', routeId: 'R2' })] };

  it('lists the vehicles on the route', async () => {
    const { call } = setup(data);

    const response = await call('/v1/vehicles', { query: { routeId: 'R1' } });

    expect(response.statusCode).toBe(200);
    expect(response.json.items.map((v: { vehicleId: string }) => v.vehicleId)).toEqual(['V1', 'V2', 'V3', 'V4', 'V5']);
    expect(response.json.nextToken).toBeUndefined();
    for (const item of response.json.items) for (const field of STORAGE_FIELDS) expect(item).not.toHaveProperty(field);
  });

  it('pages with an opaque token that round-trips to the next page', async () => {
    const { call } = setup(data);

    const first = await call('/v1/vehicles', { query: { routeId: 'R1', limit: '2' } });
    const second = await call('/v1/vehicles', {
      query: { routeId: 'R1', limit: '2', nextToken: first.json.nextToken },
    });
    const third = await call('/v1/vehicles', {
      query: { routeId: 'R1', limit: '2', nextToken: second.json.nextToken },
    });

    expect(first.json.nextToken).toMatch(/^[A-Za-z0-9_-]+$/);
    const ids = [first, second, third].flatMap((r) => r.json.items.map((v: { vehicleId: string }) => v.vehicleId));
    expect(ids).toEqual(['V1', 'V2', 'V3', 'V4', 'V5']);
    expect(third.json.nextToken).toBeUndefined();
  });

  it('answers 400 naming routeId when it is missing', async () => {
    const { call } = setup(data);

    const response = await call('/v1/vehicles');

    expect(response.statusCode).toBe(400);
    expect(response.json).toMatchObject({ error: 'BadRequest', parameter: 'routeId' });
    expect(response.json.message).toContain('routeId');
  });

  it.each(['0', '501', '-1', 'ten', '2.5'])('answers 400 naming limit for limit=%s', async (limit) => {
    const { call } = setup(data);

    const response = await call('/v1/vehicles', { query: { routeId: 'R1', limit } });

    expect(response.statusCode).toBe(400);
    expect(response.json.parameter).toBe('limit');
  });

  it.each([
    ['not base64url', '%%%'],
    ['not JSON', Buffer.from('{nope').toString('base64url')],
    ['a cursor of another list', encodeCursor({ routeId: 'R1', windowStart: 1 })],
    ['a cursor of another route', encodeCursor({ routeId: 'R2', vehicleId: 'V6' })],
    ['a cursor with an extra field', encodeCursor({ routeId: 'R1', vehicleId: 'V2', pk: 'x' })],
    ['a cursor whose vehicle is not an id', encodeCursor({ routeId: 'R1', vehicleId: 'V#2' })],
  ])('answers 400 naming nextToken for %s', async (_case, nextToken) => {
    const { call } = setup(data);

    const response = await call('/v1/vehicles', { query: { routeId: 'R1', nextToken } });

    expect(response.statusCode).toBe(400);
    expect(response.json.parameter).toBe('nextToken');
  });
});

describe('GET /v1/routes/{routeId}/metrics', () => {
  const base = NOW - 30 * MINUTE;
  const windows = [0, 1, 2, 3].map((i) => routeWindow('R1', base + i * MINUTE));
  const lateEvents = [
    { routeId: 'R1', sk: `${ts13(base + MINUTE)}#e1` },
    { routeId: 'R1', sk: `${ts13(base + MINUTE)}#e2` },
    { routeId: 'R1', sk: `${ts13(base + 3 * MINUTE)}#e3` },
    { routeId: 'R2', sk: `${ts13(base + 3 * MINUTE)}#e4` },
  ];
  const data = { windows: [...windows, routeWindow('R1', NOW - 2 * 3_600_000), routeWindow('R2', base)], lateEvents };

  it('returns the route windows of the last hour with their late-event counts', async () => {
    const { read, call } = setup(data);

    const response = await call('/v1/routes/{routeId}/metrics', { path: { routeId: 'R1' } });

    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({ routeId: 'R1', from: NOW - 3_600_000, to: NOW });
    expect(
      response.json.items.map((w: { windowStart: number; lateEvents: number }) => [w.windowStart, w.lateEvents]),
    ).toEqual([
      [base, 0],
      [base + MINUTE, 2],
      [base + 2 * MINUTE, 0],
      [base + 3 * MINUTE, 1],
    ]);
    expect(read.calls.filter((c) => c === 'lateEventCounts')).toHaveLength(1);
  });

  it('accepts from and to as ISO-8601 or epoch ms', async () => {
    const { call } = setup(data);

    const response = await call('/v1/routes/{routeId}/metrics', {
      path: { routeId: 'R1' },
      query: { from: new Date(base + MINUTE).toISOString(), to: String(base + 2 * MINUTE) },
    });

    expect(response.json.items.map((w: { windowStart: number }) => w.windowStart)).toEqual([
      base + MINUTE,
      base + 2 * MINUTE,
    ]);
  });

  it('serves each window without its key, running sums, vehicle list or write bookkeeping', async () => {
    const { call } = setup(data);

    const response = await call('/v1/routes/{routeId}/metrics', { path: { routeId: 'R1' } });

    expect(response.json.items[0]).toEqual({
      entityType: 'route',
      entityId: 'R1',
      routeId: 'R1',
      windowStart: base,
      windowEnd: base + MINUTE,
      count: windows[0]!.count,
      minSpeedKmh: windows[0]!.minSpeedKmh,
      maxSpeedKmh: windows[0]!.maxSpeedKmh,
      avgSpeedKmh: windows[0]!.avgSpeedKmh,
      distinctVehicles: windows[0]!.distinctVehicles,
      lateEvents: 0,
    });
  });

  it('pages with a token that names no table key', async () => {
    const { call } = setup(data);

    const first = await call('/v1/routes/{routeId}/metrics', { path: { routeId: 'R1' }, query: { limit: '1' } });

    expect(first.json.nextToken).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(tokenText(first.json.nextToken)).not.toMatch(/ROUTE#|"pk"/);
  });

  it('continues within the new range when the default range moved on between two pages', async () => {
    const spread = [50, 45, 35, 10].map((ago) => routeWindow('R1', NOW - ago * MINUTE));
    const { call, clock } = setup({ windows: spread });
    const path = { routeId: 'R1' };

    const first = await call('/v1/routes/{routeId}/metrics', { path, query: { limit: '1' } });
    clock.now = NOW + 20 * MINUTE; // the default range now starts 40 minutes before NOW
    const second = await call('/v1/routes/{routeId}/metrics', { path, query: { nextToken: first.json.nextToken } });

    const starts = (r: typeof first) => r.json.items.map((w: { windowStart: number }) => w.windowStart);
    expect(starts(first)).toEqual([NOW - 50 * MINUTE]);
    expect(second.statusCode).toBe(200);
    expect(starts(second)).toEqual([NOW - 35 * MINUTE, NOW - 10 * MINUTE]);
  });

  it('pages through the windows with a token', async () => {
    const { call } = setup(data);
    const path = { routeId: 'R1' };

    const first = await call('/v1/routes/{routeId}/metrics', { path, query: { limit: '3' } });
    const second = await call('/v1/routes/{routeId}/metrics', {
      path,
      query: { limit: '3', nextToken: first.json.nextToken },
    });

    expect(first.json.items).toHaveLength(3);
    expect(
      second.json.items.map((w: { windowStart: number; lateEvents: number }) => [w.windowStart, w.lateEvents]),
    ).toEqual([[base + 3 * MINUTE, 1]]);
    expect(second.json.nextToken).toBeUndefined();
  });

  it('skips the late-event query when there are no windows', async () => {
    const { read, call } = setup(data);

    const response = await call('/v1/routes/{routeId}/metrics', { path: { routeId: 'R9' } });

    expect(response.json.items).toEqual([]);
    expect(read.calls).not.toContain('lateEventCounts');
  });

  it.each([
    ['from', { from: 'yesterday' }],
    ['to', { to: '12:00' }],
    ['from', { from: String(NOW), to: String(NOW - 1) }],
    ['limit', { limit: '1000' }],
    ['nextToken', { nextToken: encodeCursor({ routeId: 'R2', windowStart: base }) }],
    ['nextToken', { nextToken: encodeCursor({ pk: 'ROUTE#R1', windowStart: base }) }],
    ['nextToken', { nextToken: encodeCursor({ routeId: 'R1', windowStart: -1 }) }],
  ])('answers 400 naming %s', async (parameter, query) => {
    const { call } = setup(data);

    const response = await call('/v1/routes/{routeId}/metrics', { path: { routeId: 'R1' }, query });

    expect(response.statusCode).toBe(400);
    expect(response.json.parameter).toBe(parameter);
  });
});

describe('GET /v1/stops/{stopId}/eta', () => {
  const stops = [{ stopId: 'S1', name: 'Central' }];

  it('returns live ETAs soonest first, without expired or stale ones', async () => {
    const etas = [
      stopEta({ vehicleId: 'late', etaTs: NOW + 300_000 }),
      stopEta({ vehicleId: 'soon', etaTs: NOW + 60_000 }),
      stopEta({ vehicleId: 'expired', expiresAt: Math.floor(NOW / 1000) - 1 }),
      stopEta({ vehicleId: 'arrived', etaTs: NOW - 5 * MINUTE }),
      stopEta({ vehicleId: 'old-fix', computedFromTs: NOW - 30 * MINUTE }),
      stopEta({ stopId: 'S2', vehicleId: 'elsewhere' }),
    ];
    const { call } = setup({ stops, etas });

    const response = await call('/v1/stops/{stopId}/eta', { path: { stopId: 'S1' } });

    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({ stopId: 'S1', stopName: 'Central' });
    expect(response.json.items.map((e: { vehicleId: string }) => e.vehicleId)).toEqual(['soon', 'late']);
  });

  it('serves a prediction without its expiry, which only drives the table TTL', async () => {
    const { expiresAt: _expiresAt, ...served } = stopEta();
    const { call } = setup({ stops, etas: [stopEta()] });

    const response = await call('/v1/stops/{stopId}/eta', { path: { stopId: 'S1' } });

    expect(response.json.items).toEqual([served]);
  });

  it('returns an empty list for a known stop with no vehicle approaching', async () => {
    const { call } = setup({ stops });

    const response = await call('/v1/stops/{stopId}/eta', { path: { stopId: 'S1' } });

    expect(response.statusCode).toBe(200);
    expect(response.json.items).toEqual([]);
  });

  it('answers 404 for an unknown stop', async () => {
    const { call } = setup({ stops, etas: [stopEta({ stopId: 'S9' })] });

    const response = await call('/v1/stops/{stopId}/eta', { path: { stopId: 'S9' } });

    expect(response.statusCode).toBe(404);
    expect(response.json).toEqual({ error: 'NotFound', message: 'stop S9 not found' });
  });

  it('serves a real GTFS stop id, whether the gateway passed it percent-encoded or decoded', async () => {
    const id = 'de:08212:1004:2:2 (U)';
    const { call } = setup({ stops: [{ stopId: id, name: 'Hbf' }] });

    for (const stopId of [id, encodeURIComponent(id)]) {
      const response = await call('/v1/stops/{stopId}/eta', { path: { stopId } });
      expect(response.statusCode).toBe(200);
      expect(response.json).toMatchObject({ stopId: id, stopName: 'Hbf' });
    }
  });

  it('answers 400 naming stopId for malformed percent-encoding', async () => {
    const { call } = setup({ stops });

    const response = await call('/v1/stops/{stopId}/eta', { path: { stopId: '%E0%A4%A' } });

    expect(response.statusCode).toBe(400);
    expect(response.json).toMatchObject({ parameter: 'stopId', message: 'stopId is not valid percent-encoding' });
  });

  it('answers 400 naming stopId when it is not a valid id', async () => {
    const { call } = setup({ stops });

    const response = await call('/v1/stops/{stopId}/eta', { path: { stopId: 'x'.repeat(129) } });

    expect(response.statusCode).toBe(400);
    expect(response.json.parameter).toBe('stopId');
  });
});

describe('GET /v1/anomalies', () => {
  // NOW is 12:00 UTC; these span today and the two days before.
  const anomalies = [
    storedAnomaly({ ts: NOW - 10 * MINUTE, vehicleId: 'V1', routeId: 'R1', type: 'stalled' }),
    storedAnomaly({ ts: NOW - 20 * MINUTE, vehicleId: 'V2', routeId: 'R2' }),
    storedAnomaly({ ts: NOW - 40 * MINUTE, vehicleId: 'V3', routeId: 'R1' }),
    storedAnomaly({ ts: NOW - 3 * 3_600_000, vehicleId: 'V4', routeId: 'R1' }),
    storedAnomaly({ ts: NOW - DAY, vehicleId: 'V5', routeId: 'R2', type: 'off-route' }),
    storedAnomaly({ ts: NOW - 2 * DAY, vehicleId: 'V6', routeId: 'R1' }),
  ];
  const ids = (r: { json: { items: { vehicleId: string }[] } }) => r.json.items.map((a) => a.vehicleId);

  it('lists the last hour of anomalies of all routes, newest first', async () => {
    const { call } = setup({ anomalies });

    const response = await call('/v1/anomalies');

    expect(response.statusCode).toBe(200);
    expect(ids(response)).toEqual(['V1', 'V2', 'V3']);
  });

  it('serves each anomaly without its table and index keys', async () => {
    const { call } = setup({ anomalies });

    const response = await call('/v1/anomalies');

    const { pk: _pk, sk: _sk, day: _day, ...served } = anomalies[0]!;
    expect(response.json.items[0]).toEqual(served);
  });

  it('walks the day partitions back to since', async () => {
    const { read, call } = setup({ anomalies });

    const response = await call('/v1/anomalies', { query: { since: String(NOW - 2 * DAY) } });

    expect(ids(response)).toEqual(['V1', 'V2', 'V3', 'V4', 'V5', 'V6']);
    expect(read.calls).toEqual(['anomaliesOnDay:2025-03-04', 'anomaliesOnDay:2025-03-03', 'anomaliesOnDay:2025-03-02']);
  });

  it('pages across day partitions with a token', async () => {
    const { call } = setup({ anomalies });
    const query = { since: new Date(NOW - 2 * DAY).toISOString(), limit: '2' };

    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const response = await call('/v1/anomalies', { query: nextToken ? { ...query, nextToken } : query });
      expect(response.statusCode).toBe(200);
      seen.push(...ids(response));
      nextToken = response.json.nextToken;
      pages++;
    } while (nextToken && pages < 10);

    expect(seen).toEqual(['V1', 'V2', 'V3', 'V4', 'V5', 'V6']);
  });

  it('pages with tokens that name no table key', async () => {
    const { call } = setup({ anomalies });
    const since = String(NOW - 2 * DAY);

    const all = await call('/v1/anomalies', { query: { since, limit: '1' } });
    const route = await call('/v1/anomalies', { query: { since, limit: '1', routeId: 'R1' } });

    for (const token of [all.json.nextToken, route.json.nextToken]) {
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(tokenText(token)).not.toMatch(/ROUTE#|"pk"|"sk"/);
    }
  });

  it.each([
    ['of all routes', {}],
    ['of a route', { routeId: 'R1' }],
  ])('ends the listing %s when the default since moved past the token', async (_case, filter) => {
    const { call, clock } = setup({ anomalies });

    // The first page ends at V1's anomaly, ten minutes before NOW; 55 minutes on, since lies after it.
    const first = await call('/v1/anomalies', { query: { ...filter, limit: '1' } });
    clock.now = NOW + 55 * MINUTE;
    const second = await call('/v1/anomalies', { query: { ...filter, limit: '1', nextToken: first.json.nextToken } });

    expect(first.json.nextToken).toBeDefined();
    expect(second.statusCode).toBe(200);
    expect(second.json).toEqual({ items: [] });
  });

  it('filters by route and type', async () => {
    const { read, call } = setup({ anomalies });

    const byRoute = await call('/v1/anomalies', { query: { routeId: 'R1', since: String(NOW - 2 * DAY) } });
    const byType = await call('/v1/anomalies', { query: { type: 'off-route', since: String(NOW - 2 * DAY) } });

    expect(ids(byRoute)).toEqual(['V1', 'V3', 'V4', 'V6']);
    expect(read.calls[0]).toBe('anomaliesOnRoute');
    expect(ids(byType)).toEqual(['V5']);
  });

  it('pages a route with a token', async () => {
    const { call } = setup({ anomalies });
    const query = { routeId: 'R1', since: String(NOW - 2 * DAY), limit: '3' };

    const first = await call('/v1/anomalies', { query });
    const second = await call('/v1/anomalies', { query: { ...query, nextToken: first.json.nextToken } });

    expect([...ids(first), ...ids(second)]).toEqual(['V1', 'V3', 'V4', 'V6']);
    expect(second.json.nextToken).toBeUndefined();
  });

  it.each([
    ['since', { since: String(NOW - 8 * DAY) }],
    ['since', { since: 'last tuesday' }],
    ['type', { type: 'weird' }],
    ['routeId', { routeId: 'R#1' }],
    ['limit', { limit: '0' }],
    ['nextToken', { nextToken: encodeCursor({ day: '2020-01-01' }) }],
    ['nextToken', { nextToken: encodeCursor({ d: '2025-03-04' }) }],
    ['nextToken', { nextToken: encodeCursor({ day: '2025-03-04', anomalyId: 'a' }) }],
    ['nextToken', { nextToken: 'bad token!' }],
    ['nextToken', { routeId: 'R1', nextToken: encodeCursor({ routeId: 'R2', windowStart: NOW, anomalyId: 'a' }) }],
    ['nextToken', { routeId: 'R1', nextToken: encodeCursor({ pk: 'ROUTE#R1', sk: `${ts13(NOW)}#a` }) }],
  ])('answers 400 naming %s', async (parameter, query) => {
    const { call } = setup({ anomalies });

    const response = await call('/v1/anomalies', { query });

    expect(response.statusCode).toBe(400);
    expect(response.json.parameter).toBe(parameter);
  });
});
