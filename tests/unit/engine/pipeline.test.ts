/**
 * A pipeline defined purely as a definition (tests/fixtures/pipelines/sensors), run through the
 * engine's processor on the memory store: records in, dead letters, windows, the tick, a detector,
 * topic messages, and its routes' public shapes.
 */
import { describe, expect, it } from 'vitest';
import { vehiclePositionFamily } from '../../../pipelines/transit/events/formats.js';
import { pipelineOpenApi } from '../../../shared/engine/openapi.js';
import { checkPipeline, PipelineDefinitionError } from '../../../shared/engine/pipeline.js';
import { processRecords, runnable, runTick } from '../../../shared/engine/process-records.js';
import { MemoryReferenceSource } from '../../../shared/engine/reference.js';
import { engineReader, type PipelineRouteDeps } from '../../../shared/engine/serving.js';
import { MemoryEngineStore } from '../../../shared/engine/store.js';
import { candidateDecoder, type SourceRecord } from '../../../shared/events/source-records.js';
import { encodeConfluentAvro } from '../../../shared/events/wire-format.js';
import { createRouter } from '../../../shared/http/router.js';
import {
  decodeSensorAvro,
  type SensorReading,
  sensorFamily,
  sensors,
} from '../../fixtures/pipelines/sensors/definition.js';
import { SENSOR_REFERENCE_DIR, sensorReference } from '../../fixtures/pipelines/sensors/reference.js';
import { messageSchema, openObjects, routeSchema, shapeProblems } from '../../helpers/pipeline-schemas.js';
import { CapturingDeadLetters, position } from '../../helpers/processing.js';

const T0 = Date.UTC(2026, 11, 2, 9, 0, 0);
/** The fixture's sensors (reference-data/sensors.json); s1's limit is 50 °C. */
const SENSORS = await sensorReference(SENSOR_REFERENCE_DIR);
const LIMIT_C = SENSORS.s1?.maxC as number;
const pipeline = runnable(
  sensors,
  candidateDecoder({ requiredFields: sensors.event.validator.requiredFields, decodeAvro: decodeSensorAvro }),
);

const reading = (i: number, overrides: Partial<SensorReading> = {}): SensorReading => ({
  eventId: `r-${i}`,
  sensorId: 's1',
  temperatureC: 20 + i,
  humidityPct: null,
  ts: T0 + i * 1_000,
  ...overrides,
});

let sequence = 0;
const record = (data: Buffer): SourceRecord => {
  sequence++;
  return { itemIdentifier: String(sequence), partition: 'shard-0', position: String(sequence).padStart(8, '0'), data };
};
const json = (value: unknown) => record(Buffer.from(JSON.stringify(value)));

function harness(now = T0 + 10_000) {
  const store = new MemoryEngineStore();
  const deadLetters = new CapturingDeadLetters();
  const published: Array<{ type: string; topics: string[]; data: Record<string, unknown> }> = [];
  const ports = {
    store,
    deadLetters,
    references: new MemoryReferenceSource({ ...SENSORS }),
    publish: async (m: typeof published) => void published.push(...m),
    clock: () => now,
  };
  return { store, deadLetters, published, ports };
}

const minuteShape = () => ({
  sensorId: 's1',
  windowStart: T0,
  windowEnd: T0 + 60_000,
  final: true,
  readings: 1,
  meanC: 20,
  minC: 20,
  maxC: 20,
  p90C: 20,
  limitC: LIMIT_C,
});

describe('a pipeline defined only by its definition', () => {
  it('folds JSON and Avro readings, and dead-letters each bad one with its field and reason', async () => {
    const { store, deadLetters, ports } = harness();
    const records = [
      json(reading(1)),
      record(encodeConfluentAvro(reading(2), sensorFamily)),
      json({ ...reading(3), temperatureC: 400 }),
      json({ ...reading(4), sensorId: '' }),
      record(encodeConfluentAvro(position(), vehiclePositionFamily)),
      json([reading(5), reading(6)]),
    ];

    const { stats } = await processRecords(pipeline, records, ports);

    expect(stats).toMatchObject({ records: 6, rejected: 3, accepted: 4 });
    expect(deadLetters.messages.map((m) => m.errors[0])).toEqual([
      { field: 'temperatureC', reason: 'must be within [-90, 150] °C, got 400' },
      { field: 'sensorId', reason: 'must not be empty' },
      {
        field: '(record)',
        reason:
          'Avro record has schema id 2, which tests/fixtures/pipelines/sensors does not know; expected sensor.reading (ids 201)',
      },
    ]);
    const reader = engineReader(sensors, store, () => T0);
    const [minute] = await reader.windows('per-minute', 's1', T0, T0);
    expect(minute).toMatchObject({ key: 's1', windowStart: T0, readings: 4, minC: 21, maxC: 26, final: false });
  });

  it('publishes before it commits: a batch whose publish failed publishes again when retried', async () => {
    const { published, ports } = harness();
    let failures = 1;
    const flaky = {
      ...ports,
      publish: async (messages: typeof published) => {
        if (failures-- > 0) throw new Error('output stream throttled');
        await ports.publish(messages);
      },
    };
    const records = [json(reading(1)), json(reading(2))];
    await expect(processRecords(pipeline, records, flaky)).rejects.toThrow('output stream throttled');
    const retry = await processRecords(pipeline, records, flaky);

    // Nothing was committed, so nothing is redelivered: the retry replays the written items and publishes them.
    expect(retry.stats).toMatchObject({ accepted: 2, redelivered: 0, published: published.length });
    expect(published.length).toBeGreaterThan(0);
    expect(published.filter((m) => m.topics.includes('sensor:s1')).map((m) => m.data.readings)).toEqual([2]);
  });

  it('publishes finals before it closes: a tick whose publish failed leaves them due, and the next publishes them', async () => {
    const { published, ports } = harness();
    await processRecords(pipeline, [json(reading(1, { temperatureC: LIMIT_C + 2 }))], ports);
    const sent = published.length;
    const closing = { ...ports, clock: () => T0 + 60_000 + sensors.allowedLatenessMs };
    const failing = {
      ...closing,
      publish: async () => {
        throw new Error('output stream throttled');
      },
    };

    await expect(runTick(pipeline, failing)).rejects.toThrow('output stream throttled');
    const retried = await runTick(pipeline, closing);
    const after = await runTick(pipeline, closing);

    // The sensor's minute and its site's, and the overheat alert on the sensor's final.
    expect([retried.closed, retried.detections, after.closed]).toEqual([2, 1, 0]);
    const finals = published.slice(sent);
    expect(finals.filter((m) => m.type === 'alert').map((m) => m.data.alertId)).toEqual([`overheat|s1|${T0}`]);
    expect(finals.filter((m) => m.topics.includes('sensor:s1')).map((m) => m.data.final)).toEqual([true]);
  });

  it('closes before it publishes: a batch that reaches the minute meanwhile finds it closed, and one final goes out', async () => {
    const { published, ports } = harness();
    await processRecords(pipeline, [json(reading(1))], ports);
    const closing = { ...ports, clock: () => T0 + 60_000 + sensors.allowedLatenessMs };
    let late: Awaited<ReturnType<typeof processRecords>> | undefined;
    const racing = {
      ...closing,
      // Another processor folds a reading of the same minute while the tick's finals are going out.
      publish: async (messages: typeof published) => {
        late ??= await processRecords(pipeline, [json(reading(2))], closing);
        await ports.publish(messages);
      },
    };

    const first = await runTick(pipeline, racing);
    const second = await runTick(pipeline, closing);

    const finals = published.filter((m) => m.topics.includes('sensor:s1') && m.data.final === true);
    expect(finals.map((m) => m.data.readings)).toEqual([1]);
    expect(late?.stats).toMatchObject({ accepted: 1, late: 1 });
    expect([first.closed, second.closed, second.published]).toEqual([2, 0, 0]);
  });

  it('ticks without a reference source or sink target when it has no sinks (the tick function has neither)', async () => {
    const { ports } = harness();
    await processRecords(pipeline, [json(reading(1))], ports);
    const { references: _references, ...rest } = ports;
    const tickPorts = {
      ...rest,
      clock: () => T0 + 60_000 + sensors.allowedLatenessMs,
      get references(): never {
        throw new Error('the tick read the reference source');
      },
    };
    const due = await runTick(pipeline, tickPorts);
    expect(due.closed).toBe(2);
  });

  it('closes the minute at the tick, fires the overheat alert once and publishes it on sensors:alerts', async () => {
    const { published, ports } = harness();
    await processRecords(pipeline, [json(reading(1, { temperatureC: LIMIT_C + 2 })), json(reading(2))], ports);

    const early = await runTick(pipeline, { ...ports, clock: () => T0 + 60_000 + sensors.allowedLatenessMs - 1 });
    const due = await runTick(pipeline, { ...ports, clock: () => T0 + 60_000 + sensors.allowedLatenessMs });
    const again = await runTick(pipeline, { ...ports, clock: () => T0 + 10 * 60_000 });

    // The sensor's minute and its site's.
    expect([early.closed, due.closed, again.closed]).toEqual([0, 2, 0]);
    expect(due.detections).toBe(1);
    expect(published.filter((m) => m.topics.includes('sensors:alerts'))).toEqual([
      {
        type: 'alert',
        topics: ['sensors:alerts'],
        key: 's1',
        data: { alertId: `overheat|s1|${T0}`, sensorId: 's1', windowStart: T0, maxC: LIMIT_C + 2, limitC: LIMIT_C },
      },
    ]);
    expect(published.filter((m) => m.topics.includes('sensor:s1')).map((m) => m.data.final)).toEqual([false, true]);
    for (const m of published) {
      expect(shapeProblems(messageSchema(sensors, m.type), { topic: m.topics[0], kind: m.type, data: m.data })).toEqual(
        [],
      );
    }
  });

  it('serves its routes in public shapes only, with opaque page tokens', async () => {
    const { store, ports } = harness();
    for (const [i, sensorId] of ['s1', 's2', 's3'].entries()) {
      await processRecords(pipeline, [json(reading(i, { sensorId, eventId: `hot-${i}`, temperatureC: 60 }))], ports);
    }
    await runTick(pipeline, { ...ports, clock: () => T0 + 5 * 60_000 });
    const route = createRouter<PipelineRouteDeps>({
      routes: sensors.routes ?? [],
      read: engineReader(sensors, store, () => T0 + 5 * 60_000),
      now: () => T0 + 5 * 60_000,
      log: { error: () => undefined },
    });
    const get = async (
      resource: string,
      pathParameters: Record<string, string> | null,
      query: Record<string, string> | null,
    ) => route({ httpMethod: 'GET', resource, pathParameters, queryStringParameters: query });

    const metrics = await get('/v1/sensors/{sensorId}/metrics', { sensorId: 's1' }, null);
    const first = await get('/v1/sensors/alerts', null, { limit: '2' });
    const firstBody = JSON.parse(first.body);
    const second = JSON.parse(
      (await get('/v1/sensors/alerts', null, { limit: '2', nextToken: firstBody.nextToken })).body,
    );
    const bad = await get('/v1/sensors/alerts', null, { nextToken: 'bm90LWEtdG9rZW4' });

    expect(JSON.parse(metrics.body)).toEqual({
      sensorId: 's1',
      items: [
        {
          sensorId: 's1',
          windowStart: T0,
          windowEnd: T0 + 60_000,
          final: true,
          readings: 1,
          meanC: 60,
          minC: 60,
          maxC: 60,
          p90C: 60,
          limitC: LIMIT_C,
        },
      ],
    });
    expect([...firstBody.items, ...second.items].map((a: { sensorId: string }) => a.sensorId).sort()).toEqual([
      's1',
      's2',
      's3',
    ]);
    expect(second.nextToken).toBeUndefined();
    expect(firstBody.nextToken).not.toContain('sensors#');
    expect(Buffer.from(firstBody.nextToken, 'base64url').toString()).not.toContain('@detect');
    expect(bad.statusCode).toBe(400);
    expect(shapeProblems(routeSchema(sensors, '/v1/sensors/{sensorId}/metrics'), JSON.parse(metrics.body))).toEqual([]);
    expect(shapeProblems(routeSchema(sensors, '/v1/sensors/alerts'), firstBody)).toEqual([]);
  });

  it('documents its routes and messages with closed schemas, and a leaked field fails them', () => {
    const fragment = pipelineOpenApi(sensors);
    const leaking = { sensorId: 's1', items: [{ ...minuteShape(), pk: 'sensors#per-minute#s1' }] };

    expect(Object.keys(fragment.paths).sort()).toEqual([
      '/v1/sensors/alerts',
      '/v1/sensors/events',
      '/v1/sensors/{sensorId}/metrics',
    ]);
    expect(Object.values(fragment.schemas).flatMap((schema) => openObjects(schema))).toEqual([]);
    expect(shapeProblems(routeSchema(sensors, '/v1/sensors/{sensorId}/metrics'), leaking)).toEqual([
      '/items/0 must NOT have additional properties (pk)',
    ]);
  });

  it('refuses a definition whose parts do not fit, naming each problem', () => {
    const check = () =>
      checkPipeline({
        ...sensors,
        maxClockSkewMs: 20_000,
        description: {
          ...sensors.description,
          partitionKeyField: 'deviceId',
          routes: ['GET /v1/other/x'],
          tickRate: 'rate(2 minute)',
        },
        publish: [{ type: 'x', from: { detector: 'nope' }, topics: () => [], shape: () => ({}), schema: {} }],
      });

    expect(check).toThrow(PipelineDefinitionError);
    expect(check).toThrow(
      [
        'pipeline sensors: tickRate must be an EventBridge rate expression like rate(1 minute) or rate(5 minutes), got "rate(2 minute)"',
        'route "GET /v1/other/x" must be GET /v1/sensors/<path> (parts of letters, digits, ._~- or a {parameter})',
        'maxClockSkewMs 20000 is above half of allowedLatenessMs 30000 (docs/exactly-once.md, Clock skew)',
        'partitionKeyField "deviceId" is not a field of the event schema',
        "routes served (GET /v1/sensors/alerts, GET /v1/sensors/{sensorId}/metrics) are not the description's (GET /v1/other/x)",
        'publish from detector "nope", which the pipeline does not have',
      ].join('; '),
    );
  });
});
