/**
 * The whole pipeline offline, on either of transit's processor cores (`TRANSIT_PROCESSOR`): the local stack from the synthesized template, a seeded simulation with
 * duplicates, out-of-order, late and invalid events and injected anomalies sent through the real REST
 * ingest, then every read model checked through the REST API, a WebSocket client and the DLQ.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_GTFS_DIR } from '../../local/simulate.js';
import { paceAndSend, restSender } from '../../local/simulator/senders.js';
import {
  type Emission,
  generateWorkload,
  simNetworkFromFeed,
  type WorkloadSummary,
} from '../../local/simulator/workload.js';
import type { TransitProcessorCore } from '../../pipelines/transit/config.js';
import { parseGtfsFeed } from '../../pipelines/transit/gtfs/parse-feed.js';
import type { Anomaly, StopEta, VehicleState } from '../../pipelines/transit/model.js';
import { ETA_REFRESH_MS } from '../../pipelines/transit/processing/eta.js';
import { type ExpectedFold, expectedFold, expectServedWindows, TEMPLATE_SETTINGS } from './expected-fold.js';
import { signedGet, startTestStack, type TestStack, webSocketUrl } from './local-stack.js';
import { type Operation, responseProblems, schemaProblems } from './openapi.js';
import { resourceId } from './read-models.js';

/** The suite, run by `tests/e2e/pipeline.test.ts` (processBatch) and `pipeline-engine.test.ts` (the engine). */
export function transitPipelineSuite(core: TransitProcessorCore) {
  const MINUTES = 8;

  let stack: TestStack;
  let emissions: Emission[];
  let summary: WorkloadSummary;
  let expected: ExpectedFold;
  const pushed: Array<{ topic: string; kind: string; data: Anomaly }> = [];
  let socket: WebSocket;

  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${stack.restUrl}${path}`);
    return { status: response.status, body: (await response.json()) as T };
  };

  async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await condition()) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  beforeAll(async () => {
    stack = await startTestStack({ seeds: { gtfs: DEFAULT_GTFS_DIR }, environment: { TRANSIT_PROCESSOR: core } });
    const feed = await parseGtfsFeed(DEFAULT_GTFS_DIR);
    const generated = generateWorkload({
      network: simNetworkFromFeed(feed),
      vehicles: 24,
      rate: 1,
      minutes: MINUTES,
      startTime: Date.now() - (MINUTES + 2) * 60_000,
      seed: 20261121,
      duplicates: 0.02,
      outOfOrder: 0.02,
      late: 0.004,
      invalid: 0.01,
      anomalies: true,
    });
    emissions = generated.emissions;
    summary = generated.summary;
    expected = expectedFold(emissions, TEMPLATE_SETTINGS);

    socket = new WebSocket(webSocketUrl(stack));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const subscribed = new Promise((resolve) => socket.once('message', resolve));
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw));
      if (message.kind === 'anomaly') pushed.push(message);
    });
    socket.send(JSON.stringify({ action: 'subscribe', topic: 'anomalies' }));
    expect(JSON.parse(String(await subscribed))).toMatchObject({ type: 'subscribed', topic: 'anomalies' });

    // One batch at a time keeps each vehicle's events in order, as one producer per vehicle would. Through
    // transit's ingest path by the pipelines' rule; the other tests post to `/v1/events`.
    const sender = restSender({ target: stack.restUrl, apiKey: stack.apiKey, path: '/v1/transit/events' });
    const counters = await paceAndSend(emissions, sender, {
      speedup: 1000,
      concurrency: 1,
    });
    expect(counters.failed).toBe(0);
    expect(counters.rejected).toBe(expected.invalid);

    const lastVehicle = [...expected.latest.values()].at(-1)!;
    await until(
      async () => {
        const totals = stack.metrics().totals;
        return (
          (totals['EventsProcessed'] ?? 0) + (totals['LateEvents'] ?? 0) + (totals['DuplicatesSkipped'] ?? 0) >=
            expected.folded + expected.late + expected.duplicates &&
          (await get<VehicleState>(`/v1/vehicles/${lastVehicle.vehicleId}`)).status === 200
        );
      },
      240_000,
      'the processor to fold every event',
    );
  });

  afterAll(async () => {
    socket?.close();
    await stack?.stop();
  });

  describe('pipeline end to end', () => {
    it(`ran on the ${core} core: the engine's table holds entity items only then`, async () => {
      const table = stack.resources[resourceId(stack, 'TransitEngineTable')];
      const { Items = [] } = await stack.dynamo.send(new ScanCommand({ TableName: table, Limit: 200 }));
      const entities = Items.filter((item) => String(item.pk).startsWith('transit#@entity#'));
      if (core === 'engine') expect(entities.length).toBeGreaterThan(0);
      else expect(Items).toEqual([]);
    });

    it('generated the injected faults it is about to check', () => {
      expect(summary.byKind.duplicate).toBeGreaterThan(0);
      expect(summary.byKind['out-of-order']).toBeGreaterThan(0);
      expect(expected.late).toBeGreaterThan(0);
      expect(expected.invalid).toBeGreaterThan(0);
      expect(summary.anomalies.map((a) => a.expectedType).sort()).toEqual([
        'impossible-jump',
        'off-route',
        'speed-zscore',
        'stalled',
      ]);
    });

    it('keeps the latest state of every vehicle', async () => {
      for (const [vehicleId, latest] of expected.latest) {
        const { status, body } = await get<VehicleState>(`/v1/vehicles/${vehicleId}`);
        expect(status).toBe(200);
        expect(body).toMatchObject({
          vehicleId,
          ts: latest.ts,
          eventId: latest.eventId,
          lat: latest.lat,
          lon: latest.lon,
        });
      }
      expect((await get(`/v1/vehicles/NOPE`)).status).toBe(404);
    });

    it('aggregates every route window exactly as a recomputation from the generated events', async () => {
      await expectServedWindows(stack.restUrl, expected);
    });

    it('serves ETAs for stops ahead of the vehicles', async () => {
      // The simulation's event time lies minutes in the past and the API leaves out arrivals already
      // passed, so check the vehicle with the most road left to the last stop of its shape.
      const feed = await parseGtfsFeed(DEFAULT_GTFS_DIR);
      const candidates = await Promise.all(
        [...expected.latest.keys()].map(async (vehicleId) => {
          const { body: state } = await get<VehicleState>(`/v1/vehicles/${vehicleId}`);
          const stop = feed.routeShapes.find((s) => s.shapeId === state.shapeId)?.stops.at(-1);
          return { state, stop, remaining: stop ? stop.distM - (state.distanceAlongM ?? 0) : 0 };
        }),
      );
      const { state, stop, remaining } = candidates.sort((a, b) => b.remaining - a.remaining)[0]!;
      expect(remaining).toBeGreaterThan(1000);

      const { status, body } = await get<{ items: StopEta[] }>(`/v1/stops/${stop!.stopId}/eta`);
      expect(status).toBe(200);
      const eta = body.items.find((e) => e.vehicleId === state.vehicleId)!;
      expect(eta.routeId).toBe(state.routeId);
      // ETAs are refreshed at most every 30 s of event time, so they may come from a slightly older fix.
      expect(eta.computedFromTs).toBeLessThanOrEqual(state.ts);
      expect(eta.computedFromTs).toBeGreaterThan(state.ts - ETA_REFRESH_MS);
      const travelledSince = ((state.ts - eta.computedFromTs) / 1000) * (120 / 3.6);
      expect(eta.distanceM).toBeGreaterThanOrEqual(remaining - 10);
      expect(eta.distanceM).toBeLessThanOrEqual(remaining + travelledSince + 10);
      expect(eta.secondsAway).toBeCloseTo(eta.distanceM / (eta.speedKmh / 3.6), -1);
      expect(eta.etaTs).toBe(eta.computedFromTs + eta.secondsAway * 1000);
    });

    it('detects every injected anomaly, stores it and pushes it to WebSocket subscribers', async () => {
      const since = summary.startTime;
      const response = await signedGet(`${stack.restUrl}/v1/anomalies?since=${since}&limit=500`);
      const body = (await response.json()) as { items: Anomaly[] };
      expect(response.status).toBe(200);
      for (const injected of summary.anomalies) {
        const match = (a: Anomaly) =>
          a.type === injected.expectedType &&
          a.vehicleId === injected.vehicleId &&
          a.ts >= injected.startTs - 60_000 &&
          a.ts <= injected.endTs + 60_000;
        expect(body.items.find(match), `${injected.expectedType} of ${injected.vehicleId}`).toBeDefined();
        await until(
          async () => pushed.some((m) => m.topic === 'anomalies' && match(m.data)),
          30_000,
          `push of ${injected.expectedType}`,
        );
      }
    });

    it('answers every read route and pushes every message in the shape docs/openapi.yaml gives it', async () => {
      // The vehicle of the busiest route, so that its vehicle list has a second page.
      const perRoute = new Map<string, string[]>();
      for (const latest of expected.latest.values()) {
        perRoute.set(latest.routeId, [...(perRoute.get(latest.routeId) ?? []), latest.vehicleId]);
      }
      const vehicleId = [...perRoute.values()].sort((a, b) => b.length - a.length)[0]![0]!;
      const state = (await get<VehicleState>(`/v1/vehicles/${vehicleId}`)).body;
      const feed = await parseGtfsFeed(DEFAULT_GTFS_DIR);
      const stopId = feed.routeShapes.find((s) => s.shapeId === state.shapeId)?.stops.at(-1)?.stopId;
      const firstPage = await get<{ nextToken?: string }>(`/v1/vehicles?routeId=${state.routeId}&limit=1`);
      const since = summary.startTime;
      const reads: Array<[Operation, Promise<{ status: number; body: unknown }>]> = [
        ['GET /v1/vehicles/{vehicleId}', get(`/v1/vehicles/${vehicleId}`)],
        ['GET /v1/vehicles/{vehicleId}', get('/v1/vehicles/NOPE')],
        ['GET /v1/vehicles', Promise.resolve(firstPage)],
        ['GET /v1/vehicles', get(`/v1/vehicles?routeId=${state.routeId}&nextToken=${firstPage.body.nextToken}`)],
        ['GET /v1/vehicles', get(`/v1/vehicles?routeId=${state.routeId}&nextToken=not-a-token`)],
        ['GET /v1/routes/{routeId}/metrics', get(`/v1/routes/${state.routeId}/metrics?from=${since}&limit=3`)],
        ['GET /v1/stops/{stopId}/eta', get(`/v1/stops/${stopId}/eta`)],
        [
          'GET /v1/anomalies',
          signedGet(`${stack.restUrl}/v1/anomalies?since=${since}&limit=5`).then(async (r) => ({
            status: r.status,
            body: await r.json(),
          })),
        ],
        ['GET /health', get('/health')],
      ];

      expect(firstPage.body.nextToken).toBeDefined();
      for (const [operation, read] of reads) {
        const { status, body } = await read;
        expect(responseProblems(operation, status, body), `${operation} ${status}`).toEqual([]);
      }
      expect(pushed.length).toBeGreaterThan(0);
      expect(pushed.flatMap((message) => schemaProblems('WebSocketMessage', message))).toEqual([]);
    });

    it('refuses an unsigned or wrongly signed read of the anomalies (IAM in the template) with 403', async () => {
      const unsigned = await fetch(`${stack.restUrl}/v1/anomalies`);
      const otherSecret = await signedGet(`${stack.restUrl}/v1/anomalies`, {
        accessKeyId: 'local',
        secretAccessKey: 'x',
      });

      expect(unsigned.status).toBe(403);
      expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
      expect(otherSecret.status).toBe(403);
      expect(otherSecret.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    });

    it("refuses a WebSocket without the key (401) or with another one (403): the template's authorizer runs", async () => {
      const refusal = (url: string) =>
        new Promise<number>((resolve, reject) => {
          const client = new WebSocket(url);
          client.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          client.once('open', () => reject(new Error(`${url} connected`)));
          client.once('error', () => undefined);
        });

      expect(await refusal(stack.wsUrl)).toBe(401);
      expect(await refusal(webSocketUrl(stack, 'not-the-key'))).toBe(403);
    });

    it('puts every invalid event in the dead-letter queue with its reason', async () => {
      const queue = Object.keys(stack.resources).find((id) => id.startsWith('DeadLetterQueue'))!;
      const messages = (await stack.drainQueue(queue, 2000)) as Array<{
        source: string;
        reason: string;
        errors: Array<{ field: string; reason: string }>;
      }>;
      expect(messages).toHaveLength(expected.invalid);
      for (const m of messages) {
        expect(m.source).toBe('ingest');
        expect(m.errors.length).toBeGreaterThan(0);
        expect(m.errors[0]!.field).not.toBe('');
        expect(m.reason).toMatch(/invalid event at index \d+/);
      }
    });
  });
}
