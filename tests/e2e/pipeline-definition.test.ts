/**
 * A new system added purely as a pipeline definition (tests/fixtures/pipelines/sensors), run end to end
 * on the local stack from the template the CDK app synthesizes with it: readings in through REST and
 * through a real Kafka broker (JSON and Avro), minutes closed by the tick, the overheating detector
 * firing, and its REST routes and WebSocket topics answering in their public shapes only.
 */
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp, cdkJsonContext, NO_BUNDLING_CONTEXT } from '../../infra/streamfold-app.js';
import type { CfnTemplate } from '../../local/runtime/template.js';
import { encodeConfluentAvro } from '../../shared/events/wire-format.js';
import { idempotentProducer, kafkaClient } from '../../shared/kafka/client.js';
import { type SensorReading, sensorFamily, sensors } from '../fixtures/pipelines/sensors/definition.js';
import { sensorsDescription } from '../fixtures/pipelines/sensors/description.js';
import { eventually, startTestStack, type TestStack, webSocketUrl } from '../helpers/local-stack.js';
import { messageSchema, routeSchema, shapeProblems } from '../helpers/pipeline-schemas.js';
import { resourceId } from '../helpers/read-models.js';

const MINUTE = 60_000;
/** hot-1's limit in the fixture's reference data. */
const OVERHEAT_C = 50;
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
  stack = await startTestStack({ template, kafka: true, scheduleRateScale: 0.01 });
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
  socket.send(JSON.stringify({ action: 'subscribe', topics: ['sensors:alerts', 'sensor:hot-1'] }));
  expect(JSON.parse(String(await subscribed))).toEqual({
    type: 'subscribed',
    topics: ['sensors:alerts', 'sensor:hot-1'],
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
  });

  it('closes the minute at the tick, fires the alert once, and serves and pushes public shapes only', async () => {
    const alert = { alertId: `overheat|hot-1|${minute}`, sensorId: 'hot-1', windowStart: minute, maxC: OVERHEAT_C + 5 };

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
        expect(response.body.items).toHaveLength(1);
        return response;
      },
      30_000,
      500,
    );
    await eventually(() => expect(pushed.filter((m) => m.kind === 'alert')).toHaveLength(1), 30_000, 200);
    // The final window goes out in the same tick as the alert, after it.
    await eventually(
      () => expect(pushed.some((m) => m.kind === 'window' && m.data.final === true)).toBe(true),
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
          },
        ],
      },
    });
    expect(alerts).toEqual({ status: 200, body: { items: [alert] } });
    expect(shapeProblems(routeSchema(sensors, '/v1/sensors/{sensorId}/metrics'), metrics.body)).toEqual([]);
    expect(shapeProblems(routeSchema(sensors, '/v1/sensors/alerts'), alerts.body)).toEqual([]);
    for (const message of pushed) expect(shapeProblems(messageSchema(sensors, message.kind), message)).toEqual([]);
    expect(pushed.find((m) => m.kind === 'alert')).toEqual({ topic: 'sensors:alerts', kind: 'alert', data: alert });
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

  it('dead-letters the Kafka record that is no event, with its reason', async () => {
    const messages = (await stack.drainQueue(resourceId(stack, 'DeadLetterQueue'), 3_000)) as Array<{
      reason: string;
      source: string;
    }>;

    expect(messages.map((m) => m.reason)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('invalid event at index 1: temperatureC: must be within [-90, 150] °C, got 999'),
        expect.stringContaining('record is neither JSON nor Avro'),
      ]),
    );
  });
});
