/**
 * A new system added purely as a pipeline definition (tests/fixtures/pipelines/sensors), run end to end
 * on the local stack from the template the CDK app synthesizes with it: its reference table seeded from
 * the fixture's sensors, readings in through REST and through a real Kafka broker (JSON and Avro), each
 * enriched with its sensor's site and limit (a reading of an unknown sensor dead-lettered), minutes
 * closed by the tick, the detector firing on each sensor's own limit, and its REST routes and WebSocket
 * topics answering in their public shapes only.
 */
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp, cdkJsonContext, NO_BUNDLING_CONTEXT } from '../../infra/streamfold-app.js';
import type { CfnTemplate } from '../../local/runtime/template.js';
import { pipelineEmissions, runPipelineSimulator } from '../../local/simulator/pipeline-simulator.js';
import { encodeConfluentAvro } from '../../shared/events/wire-format.js';
import { idempotentProducer, kafkaClient } from '../../shared/kafka/client.js';
import {
  type SensorReading,
  SIMULATED_SENSORS,
  sensorFamily,
  sensors,
} from '../fixtures/pipelines/sensors/definition.js';
import { sensorsDescription } from '../fixtures/pipelines/sensors/description.js';
import { SENSOR_REFERENCE_DIR } from '../fixtures/pipelines/sensors/reference.js';
import { eventually, startTestStack, type TestStack, webSocketUrl } from '../helpers/local-stack.js';
import { messageSchema, routeSchema, shapeProblems } from '../helpers/pipeline-schemas.js';
import { resourceId } from '../helpers/read-models.js';

const MINUTE = 60_000;
/** hot-1's limit in the fixture's reference data (reference-data/sensors.json); freezer-1's is -10. */
const OVERHEAT_C = 50;
const FREEZER_LIMIT_C = -10;
let stack: TestStack;
let producer: Producer;
let socket: WebSocket;
const pushed: Array<{ topic: string; kind: string; data: Record<string, unknown> }> = [];
/**
 * The minute the readings fall in, chosen once the Kafka consumer is live so that the tick closes it
 * (end + 30 s lateness) 25 to 85 s later: after every reading is in, without waiting long. The tick
 * runs on processing time, so a reading arriving after the close would be late by design.
 */
let minute = 0;
const closingSoon = () => Math.ceil((Date.now() - 65_000) / MINUTE) * MINUTE;

const reading = (i: number, sensorId: string, temperatureC: number, offsetMs = i * 1_000): SensorReading => ({
  eventId: `${sensorId}-${i}`,
  sensorId,
  temperatureC,
  humidityPct: 40,
  ts: minute + offsetMs,
});

async function post(body: unknown) {
  const response = await fetch(`${stack.restUrl}/v1/sensors/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const get = async (path: string) => {
  const response = await fetch(`${stack.restUrl}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  const { app, stack: cdkStack } = buildApp({
    context: { ...cdkJsonContext(), ...NO_BUNDLING_CONTEXT },
    props: { pipelines: [sensorsDescription] },
  });
  const template = app.synth().getStackByName(cdkStack.stackName).template as CfnTemplate;
  // rate(1 minute) ticks every 600 ms.
  stack = await startTestStack({
    template,
    kafka: true,
    scheduleRateScale: 0.01,
    // By the seed step the template's reference table declares: no pipeline-specific runtime code.
    seeds: { [sensorsDescription.reference?.seed?.name as string]: SENSOR_REFERENCE_DIR },
  });
  producer = idempotentProducer(kafkaClient({ brokers: stack.kafka!.brokers, clientId: 'streamfold-e2e-sensors' }));
  await producer.connect();
  // A reading of another sensor, long closed, through each way in: once both are served, both paths are live.
  minute = Math.floor((Date.now() - 10 * MINUTE) / MINUTE) * MINUTE;
  await producer.send({
    topic: sensorsDescription.topic,
    messages: [{ key: 'warm-1', value: JSON.stringify(reading(0, 'warm-1', 20)) }],
  });
  expect((await post({ events: [reading(0, 'warm-2', 20)] })).status).toBe(202);
  for (const sensorId of ['warm-1', 'warm-2']) {
    await eventually(
      async () =>
        expect((await get(`/v1/sensors/${sensorId}/metrics?from=${minute}&to=${minute}`)).body.items).toHaveLength(1),
      180_000,
      500,
    );
  }
  minute = closingSoon();
  socket = new WebSocket(webSocketUrl(stack));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const subscribed = new Promise((resolve) => socket.once('message', resolve));
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw));
    if (message.topic) pushed.push(message);
  });
  socket.send(JSON.stringify({ action: 'subscribe', topics: ['sensors:alerts', 'sensor:hot-1', 'site:site-a'] }));
  expect(JSON.parse(String(await subscribed))).toEqual({
    type: 'subscribed',
    topics: ['sensors:alerts', 'sensor:hot-1', 'site:site-a'],
  });
}, 300_000);

afterAll(async () => {
  socket?.close();
  await producer?.disconnect();
  await stack?.stop();
});

describe('a pipeline added only as a definition', () => {
  it('takes readings through REST (202 / 207 with reasons) and through Kafka in JSON and Avro', async () => {
    const accepted = await post({ events: [reading(0, 'hot-1', 21), reading(1, 'hot-1', OVERHEAT_C + 5)] });
    const partly = await post({
      events: [reading(2, 'cool-1', 19), { ...reading(3, 'cool-1', 19), temperatureC: 999 }],
    });
    // Valid events, so ingest takes both; the processor finds no reference for the first.
    const unknown = await post({ events: [reading(0, 'ghost-1', 20), reading(1, 'freezer-1', -5)] });
    await producer.send({
      topic: sensorsDescription.topic,
      messages: [
        { key: 'hot-1', value: JSON.stringify(reading(4, 'hot-1', 30)) },
        { key: 'hot-1', value: encodeConfluentAvro(reading(5, 'hot-1', 31), sensorFamily) },
        { key: 'cool-1', value: 'not an event' },
      ],
    });

    expect(accepted).toEqual({
      status: 202,
      body: { accepted: 2, rejected: 0, eventIds: ['hot-1-0', 'hot-1-1'], errors: [] },
    });
    expect(unknown.status).toBe(202);
    expect(partly.status).toBe(207);
    expect(partly.body.errors).toEqual([
      { index: 1, eventId: 'cool-1-3', field: 'temperatureC', reason: 'must be within [-90, 150] °C, got 999' },
    ]);
    await eventually(
      async () => {
        const { body } = await get(`/v1/sensors/hot-1/metrics?from=${minute}&to=${minute}`);
        expect(body.items).toEqual([expect.objectContaining({ readings: 4, maxC: OVERHEAT_C + 5 })]);
      },
      120_000,
      500,
    );
    await eventually(
      async () => {
        const { body } = await get(`/v1/sensors/freezer-1/metrics?from=${minute}&to=${minute}`);
        expect(body.items).toEqual([expect.objectContaining({ readings: 1, maxC: -5, limitC: FREEZER_LIMIT_C })]);
      },
      60_000,
      500,
    );
    expect((await get(`/v1/sensors/ghost-1/metrics?from=${minute}&to=${minute}`)).body.items).toEqual([]);
  });

  it("closes the minute at the tick, alerts on each sensor's own limit once, and serves and pushes public shapes only", async () => {
    const alert = {
      alertId: `overheat|hot-1|${minute}`,
      sensorId: 'hot-1',
      windowStart: minute,
      maxC: OVERHEAT_C + 5,
      limitC: OVERHEAT_C,
    };
    const freezerAlert = {
      alertId: `overheat|freezer-1|${minute}`,
      sensorId: 'freezer-1',
      windowStart: minute,
      maxC: -5,
      limitC: FREEZER_LIMIT_C,
    };

    const metrics = await eventually(
      async () => {
        const { status, body } = await get(`/v1/sensors/hot-1/metrics?from=${minute}&to=${minute}`);
        expect(body.items).toEqual([expect.objectContaining({ final: true })]);
        return { status, body };
      },
      150_000,
      500,
    );
    const alerts = await eventually(
      async () => {
        const response = await get('/v1/sensors/alerts');
        expect(response.body.items).toHaveLength(2);
        return response;
      },
      30_000,
      500,
    );
    await eventually(() => expect(pushed.filter((m) => m.kind === 'alert')).toHaveLength(2), 30_000, 200);
    // The final window goes out in the same tick as the alert, after it; the site's in the same tick.
    await eventually(
      () => expect(pushed.some((m) => m.kind === 'window' && m.data.final === true)).toBe(true),
      30_000,
      200,
    );
    const site = await eventually(
      () => {
        const final = pushed.find((m) => m.kind === 'site-window' && m.data.final === true);
        expect(final).toBeDefined();
        return final;
      },
      30_000,
      200,
    );

    expect(metrics).toEqual({
      status: 200,
      body: {
        sensorId: 'hot-1',
        items: [
          {
            sensorId: 'hot-1',
            windowStart: minute,
            windowEnd: minute + MINUTE,
            final: true,
            readings: 4,
            meanC: (21 + OVERHEAT_C + 5 + 30 + 31) / 4,
            minC: 21,
            maxC: OVERHEAT_C + 5,
            p90C: expect.any(Number),
            limitC: OVERHEAT_C,
          },
        ],
      },
    });
    expect(alerts.status).toBe(200);
    expect(alerts.body.items).toEqual(expect.arrayContaining([alert, freezerAlert]));
    // hot-1, cool-1 and freezer-1 are at site-a by the reference data; ghost-1 counted nowhere.
    expect(site).toEqual({
      topic: 'site:site-a',
      kind: 'site-window',
      data: {
        siteId: 'site-a',
        windowStart: minute,
        windowEnd: minute + MINUTE,
        final: true,
        readings: 6,
        sensors: 3,
        meanC: (21 + OVERHEAT_C + 5 + 30 + 31 + 19 - 5) / 6,
      },
    });
    expect(shapeProblems(routeSchema(sensors, '/v1/sensors/{sensorId}/metrics'), metrics.body)).toEqual([]);
    expect(shapeProblems(routeSchema(sensors, '/v1/sensors/alerts'), alerts.body)).toEqual([]);
    for (const message of pushed) expect(shapeProblems(messageSchema(sensors, message.kind), message)).toEqual([]);
    expect(pushed.filter((m) => m.kind === 'alert').map((m) => m.data)).toEqual(
      expect.arrayContaining([alert, freezerAlert]),
    );
    const windows = pushed.filter((m) => m.topic === 'sensor:hot-1');
    expect(windows.length).toBeGreaterThan(0);
    expect(windows.at(-1)).toEqual({
      topic: 'sensor:hot-1',
      kind: 'window',
      data: (metrics.body.items as unknown[])[0],
    });
    const ticks = Object.entries(stack.metrics().schedules).filter(([id]) => id.startsWith('SensorsPipelineTickRule'));
    expect(ticks).toEqual([[expect.any(String), expect.objectContaining({ runs: expect.any(Number) })]]);
    expect(ticks[0]?.[1].runs).toBeGreaterThan(0);
  });

  it('dead-letters the Kafka record that is no event and the reading of an unknown sensor, with their reasons', async () => {
    const messages = (await stack.drainQueue(resourceId(stack, 'DeadLetterQueue'), 3_000)) as Array<{
      reason: string;
      source: string;
      eventId?: string;
      errors: unknown[];
    }>;

    expect(messages.map((m) => m.reason)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('invalid event at index 1: temperatureC: must be within [-90, 150] °C, got 999'),
        expect.stringContaining('record is neither JSON nor Avro'),
        'event ghost-1-0: missing reference: sensor "ghost-1" (sensorId) not found in the reference data',
      ]),
    );
    expect(messages.filter((m) => m.eventId === 'ghost-1-0')).toEqual([
      expect.objectContaining({
        source: 'processor',
        errors: [{ field: 'sensorId', reason: 'sensor "ghost-1" not found in the reference data' }],
        payload: expect.objectContaining({ sensorId: 'ghost-1', temperatureC: 20 }),
      }),
    ]);
  });

  it("takes its simulator's workload through REST, copies, overtaken and refused events included, and folds each reading once", async () => {
    // Event times from 20 s ago to now, ten times faster: each minute closes 30 s after its end, after all is in.
    const options = {
      minutes: 1 / 3,
      rate: 15,
      seed: 5,
      startTime: Date.now() - 20_000,
      speedup: 10,
      faults: { duplicates: 0.1, outOfOrder: 0.1, invalid: 0.05 },
    };
    const simulator = await runPipelineSimulator(sensors, { ...options, target: stack.restUrl, apiKey: stack.apiKey });
    const counters = await simulator.done;

    // The recomputation: each valid reading once, per sensor and minute.
    const expected = new Map<string, { readings: number; minC: number; maxC: number }>();
    const seen = new Set<string>();
    for (const sent of pipelineEmissions(sensors, options)) {
      const r = sent.event as SensorReading;
      if (sent.kind === 'invalid' || seen.has(r.eventId)) continue;
      seen.add(r.eventId);
      const key = `${r.sensorId}@${Math.floor(r.ts / MINUTE) * MINUTE}`;
      const w = expected.get(key) ?? { readings: 0, minC: Infinity, maxC: -Infinity };
      expected.set(key, {
        readings: w.readings + 1,
        minC: Math.min(w.minC, r.temperatureC),
        maxC: Math.max(w.maxC, r.temperatureC),
      });
    }
    expect(simulator.byKind.duplicate).toBeGreaterThan(0);
    expect(simulator.byKind['out-of-order']).toBeGreaterThan(0);
    expect(counters).toMatchObject({
      failed: 0,
      rejected: simulator.byKind.invalid,
      sent: seen.size + simulator.byKind.duplicate + simulator.byKind.invalid,
    });
    expect(seen.size).toBe(300);
    const from = Math.floor(options.startTime / MINUTE) * MINUTE;
    await eventually(
      async () => {
        const folded = new Map<string, unknown>();
        for (const sensorId of SIMULATED_SENSORS) {
          const { body } = await get(`/v1/sensors/${sensorId}/metrics?from=${from}&to=${from + MINUTE}`);
          for (const w of body.items as Array<{ windowStart: number; readings: number; minC: number; maxC: number }>) {
            folded.set(`${sensorId}@${w.windowStart}`, { readings: w.readings, minC: w.minC, maxC: w.maxC });
          }
        }
        expect(folded).toEqual(expected);
      },
      60_000,
      500,
    );
  });
});
