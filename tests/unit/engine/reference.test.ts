/**
 * Enrichment from reference data: the step on its own (`enrichEvents`), and through the pipeline's
 * processor on the memory store with the sensors fixture, whose readings take their site and limit
 * from the sensor's reference item.
 */
import { describe, expect, it } from 'vitest';
import { count } from '../../../shared/engine/accumulators.js';
import { field } from '../../../shared/engine/aggregate.js';
import { checkPipeline, type PipelineDefinition } from '../../../shared/engine/pipeline.js';
import { MissingReferenceSourceError, processRecords, runnable } from '../../../shared/engine/process-records.js';
import {
  enrichEvents,
  MemoryReferenceSource,
  type ReferenceData,
  type ReferenceItem,
  ReferenceItemError,
  ReferenceLoadError,
  type ReferenceSource,
} from '../../../shared/engine/reference.js';
import { tick } from '../../../shared/engine/run-batch.js';
import { engineReader } from '../../../shared/engine/serving.js';
import { MemoryEngineStore } from '../../../shared/engine/store.js';
import { tumbling } from '../../../shared/engine/window-assigners.js';
import { candidateDecoder, type SourceRecord } from '../../../shared/events/source-records.js';
import {
  decodeSensorAvro,
  type SensorReading,
  type SiteReading,
  sensors,
} from '../../fixtures/pipelines/sensors/definition.js';
import { SENSOR_REFERENCE_DIR, sensorReference } from '../../fixtures/pipelines/sensors/reference.js';
import { CapturingDeadLetters } from '../../helpers/processing.js';

interface Order {
  id: string;
  sku?: string;
}
interface PricedOrder extends Order {
  price: number | null;
}

const price = (item: ReferenceItem, key: string) => {
  if (typeof item.price !== 'number') throw new ReferenceItemError(`sku ${key}: price must be a number`);
  return item.price;
};
const required: ReferenceData<Order, PricedOrder, number> = {
  name: 'product',
  field: 'sku',
  key: (o) => o.sku,
  read: price,
  combine: (o, p) => ({ ...o, price: p }),
};
const optional: ReferenceData<Order, PricedOrder, number> = {
  ...required,
  required: false,
  combine: (o, p) => ({ ...o, price: p ?? null }),
};
const catalogue = () => new MemoryReferenceSource({ a: { price: 1 }, b: { price: 2 }, broken: { price: 'ten' } });

describe('the enrichment step', () => {
  it('loads once per batch, each distinct key once, and combines every event with its reference', async () => {
    const source = catalogue();
    const orders = [{ id: '1', sku: 'a' }, { id: '2', sku: 'b' }, { id: '3', sku: 'a' }, { id: '4' }];

    const result = await enrichEvents(optional, source, orders);

    expect(source.loads).toEqual([['a', 'b']]);
    expect(result.events).toEqual([
      { id: '1', sku: 'a', price: 1 },
      { id: '2', sku: 'b', price: 2 },
      { id: '3', sku: 'a', price: 1 },
      { id: '4', price: null },
    ]);
    expect(result.missing).toEqual([]);
  });

  it('names the event, field, key and reason of each required reference that is missing, and keeps the rest', async () => {
    const result = await enrichEvents(required, catalogue(), [
      { id: '1', sku: 'a' },
      { id: '2', sku: 'nope' },
      { id: '3', sku: 'broken' },
      { id: '4' },
    ]);

    expect(result.events).toEqual([{ id: '1', sku: 'a', price: 1 }, undefined, undefined, undefined]);
    expect(result.missing).toEqual([
      {
        index: 1,
        key: 'nope',
        reason: 'missing reference: product "nope" (sku) not found in the reference data',
        error: { field: 'sku', reason: 'product "nope" not found in the reference data' },
      },
      {
        index: 2,
        key: 'broken',
        reason: 'missing reference: product "broken" (sku) is unusable: sku broken: price must be a number',
        error: { field: 'sku', reason: 'product "broken" is unusable: sku broken: price must be a number' },
      },
      {
        index: 3,
        key: undefined,
        reason: 'missing reference: product (sku) has no key',
        error: { field: 'sku', reason: 'product has no key' },
      },
    ]);
  });

  it('combines an optional reference that is not found with nothing, but still refuses an unusable one', async () => {
    const result = await enrichEvents(optional, catalogue(), [
      { id: '1', sku: 'nope' },
      { id: '2', sku: 'broken' },
    ]);

    expect(result.events).toEqual([{ id: '1', sku: 'nope', price: null }, undefined]);
    expect(result.missing.map((m) => m.index)).toEqual([1]);
  });

  it('dead-letters the events of an item its read chokes on, or that its combine throws for, and enriches the rest', async () => {
    // A read written for the good items only: `item.tags.length` is a TypeError on an item without tags.
    const tagged: ReferenceData<Order, PricedOrder, number> = {
      ...required,
      read: (item) => (item.tags as string[]).length,
      combine: (o, tags) => {
        if (o.id === 'boom') throw new RangeError('no price for boom');
        return { ...o, price: tags };
      },
    };
    const source = new MemoryReferenceSource({ a: { tags: ['x', 'y'] }, legacy: { price: 3 } });
    const result = await enrichEvents(tagged, source, [
      { id: '1', sku: 'a' },
      { id: '2', sku: 'legacy' },
      { id: 'boom', sku: 'a' },
      { id: '3', sku: 'legacy' },
    ]);

    expect(result.events).toEqual([{ id: '1', sku: 'a', price: 2 }, undefined, undefined, undefined]);
    expect(result.missing.map(({ index, reason }) => [index, reason])).toEqual([
      [
        1,
        'reference error: product "legacy" (sku) is unusable: TypeError: Cannot read properties of undefined (reading \'length\')',
      ],
      [2, 'reference error: product "a" (sku) could not be combined with the event: RangeError: no price for boom'],
      [
        3,
        'reference error: product "legacy" (sku) is unusable: TypeError: Cannot read properties of undefined (reading \'length\')',
      ],
    ]);
  });

  it('throws when the source fails, and does not call it for a batch without keys', async () => {
    const outage: ReferenceSource = {
      load: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    };

    await expect(enrichEvents(required, outage, [{ id: '1', sku: 'a' }])).rejects.toThrow(
      new ReferenceLoadError('loading 1 product references failed: ProvisionedThroughputExceededException'),
    );
    await expect(enrichEvents(optional, outage, [{ id: '1' }])).resolves.toMatchObject({ keys: 0 });
  });
});

// Through the processor: the sensors fixture reads each sensor's site and limit.
const T0 = Date.UTC(2026, 11, 2, 9, 0, 0);
const SENSORS = await sensorReference(SENSOR_REFERENCE_DIR);
const pipeline = runnable(
  sensors,
  candidateDecoder({ requiredFields: sensors.event.validator.requiredFields, decodeAvro: decodeSensorAvro }),
);
const reading = (i: number, sensorId: string, temperatureC = 20): SensorReading => ({
  eventId: `${sensorId}-${i}`,
  sensorId,
  temperatureC,
  humidityPct: null,
  ts: T0 + i * 1_000,
});
let sequence = 0;
const json = (value: unknown): SourceRecord => {
  sequence++;
  const position = String(sequence).padStart(8, '0');
  return { itemIdentifier: position, partition: 'shard-0', position, data: Buffer.from(JSON.stringify(value)) };
};

function harness(references: ReferenceSource = new MemoryReferenceSource({ ...SENSORS }), now = T0 + 10_000) {
  const store = new MemoryEngineStore();
  const deadLetters = new CapturingDeadLetters();
  const ports = { store, deadLetters, references, publish: async () => undefined, clock: () => now };
  const reader = engineReader(sensors, store, () => T0);
  return { store, deadLetters, ports, reader };
}

describe('a pipeline with reference data', () => {
  it("groups by the sensor's site and dead-letters a reading of an unknown sensor, keeping its neighbours", async () => {
    const references = new MemoryReferenceSource({ ...SENSORS });
    const { deadLetters, ports, reader } = harness(references);
    const records = [json(reading(1, 's1')), json(reading(2, 'ghost')), json(reading(3, 's2')), json(reading(4, 's1'))];

    const { stats, failedItemIdentifiers } = await processRecords(pipeline, records, ports);

    expect(references.loads).toEqual([['s1', 'ghost', 's2']]);
    expect(stats).toMatchObject({ records: 4, accepted: 3, referenceMissing: 1, rejected: 0 });
    expect(failedItemIdentifiers).toEqual([]);
    expect(deadLetters.messages).toEqual([
      {
        source: 'processor',
        reason: 'event ghost-2: missing reference: sensor "ghost" (sensorId) not found in the reference data',
        errors: [{ field: 'sensorId', reason: 'sensor "ghost" not found in the reference data' }],
        eventId: 'ghost-2',
        record: { partition: 'shard-0', position: records[1]?.position, itemIdentifier: records[1]?.itemIdentifier },
        payload: reading(2, 'ghost'),
        receivedAt: new Date(T0 + 10_000).toISOString(),
      },
    ]);
    expect(await reader.windows('site-minute', 'site-a', T0, T0)).toEqual([
      expect.objectContaining({ key: 'site-a', readings: 3, sensors: 2 }),
    ]);
    expect(await reader.windows('per-minute', 'ghost', T0, T0)).toEqual([]);
  });

  it("judges the alert by the sensor's own limit", async () => {
    const { ports, reader } = harness();
    const s3 = SENSORS.s3?.maxC as number;

    await processRecords(pipeline, [json(reading(1, 's3', s3)), json(reading(2, 's1', s3))], ports);
    const { detections } = await tick(pipeline.compiled, ports.store, { now: T0 + 5 * 60_000 });

    expect(detections.map((d) => [d.key, d.details])).toEqual([['s3', { maxC: s3, limitC: s3, readings: 1 }]]);
    expect(await reader.windows('per-minute', 's1', T0, T0)).toEqual([
      expect.objectContaining({ maxC: s3, limitC: SENSORS.s1?.maxC }),
    ]);
  });

  it('fails the batch when the reference source fails: nothing written, nothing dead-lettered', async () => {
    const { store, deadLetters, ports } = harness({
      load: async () => {
        throw new Error('socket hang up');
      },
    });

    await expect(processRecords(pipeline, [json(reading(1, 's1')), json(reading(2, 'ghost'))], ports)).rejects.toThrow(
      ReferenceLoadError,
    );
    expect(deadLetters.messages).toEqual([]);
    expect(await store.query('sensors#per-minute#s1', '', '~')).toEqual([]);
  });

  it('fails the batch, before any write, when a dead letter of a missing reference cannot be sent', async () => {
    const { store, deadLetters, ports } = harness();
    deadLetters.failAll = true;

    await expect(processRecords(pipeline, [json(reading(1, 's1')), json(reading(2, 'ghost'))], ports)).rejects.toThrow(
      'dead letters for missing sensor references could not be sent',
    );
    expect(await store.query('sensors#per-minute#s1', '', '~')).toEqual([]);
  });

  it('looks up only events not yet committed, and folds a replayed dead letter once its reference exists', async () => {
    const references = new MemoryReferenceSource({ ...SENSORS });
    const { deadLetters, ports, reader } = harness(references);
    const batch = [json(reading(1, 's1')), json(reading(2, 'new-1'))];
    await processRecords(pipeline, batch, ports);

    const redelivered = await processRecords(pipeline, batch, ports);
    references.items.set('new-1', { siteId: 'site-a', maxC: 50 });
    const replayed = await processRecords(pipeline, [json(deadLetters.messages[0]?.payload)], ports);

    expect(references.loads).toEqual([['s1', 'new-1'], ['new-1']]);
    expect(redelivered.stats).toMatchObject({ redelivered: 2, referenceMissing: 0, accepted: 0 });
    expect(replayed.stats).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(deadLetters.messages).toHaveLength(1);
    expect(await reader.windows('site-minute', 'site-a', T0, T0)).toEqual([
      expect.objectContaining({ readings: 2, sensors: 2 }),
    ]);
  });

  it('refuses to run without a reference source, and a definition and description that disagree on reference data', async () => {
    const { store, deadLetters } = harness();
    const { reference: _table, ...description } = sensors.description;
    // A definition its type refuses (its events need enriching), to show the check that does not rely on types.
    const unread: PipelineDefinition<SiteReading, SiteReading> = { ...sensors, reference: undefined } as never;

    await expect(
      processRecords(pipeline, [json(reading(1, 's1'))], { store, deadLetters, publish: async () => undefined }),
    ).rejects.toThrow(MissingReferenceSourceError);
    expect(() => checkPipeline({ ...sensors, description })).toThrow(
      'pipeline sensors: reference data "sensor" is declared, but the description has no reference table',
    );
    expect(() => checkPipeline(unread)).toThrow(
      'pipeline sensors: the description has a reference table the definition reads nothing from',
    );
  });

  it('folds the validated events as they are, with no source, when the pipeline has no reference data', async () => {
    const { store, deadLetters, ports } = harness();
    const { reference: _table, ...description } = sensors.description;
    const plain: PipelineDefinition<SensorReading> = {
      description,
      event: sensors.event,
      allowedLatenessMs: sensors.allowedLatenessMs,
      maxClockSkewMs: sensors.maxClockSkewMs,
      operators: [
        {
          kind: 'windows',
          name: 'per-minute',
          key: (e) => e.sensorId,
          windows: tumbling(60_000),
          aggregate: { readings: field(count(), () => 1) },
        },
      ],
    };
    const run = runnable(
      plain,
      candidateDecoder({ requiredFields: sensors.event.validator.requiredFields, decodeAvro: decodeSensorAvro }),
    );

    const { stats } = await processRecords(run, [json(reading(1, 'ghost')), json(reading(2, 'ghost'))], {
      store,
      deadLetters,
      publish: async () => undefined,
      clock: ports.clock,
    });

    expect(stats).toMatchObject({ accepted: 2, referenceMissing: 0 });
    expect(await engineReader(plain, store, () => T0).windows('per-minute', 'ghost', T0, T0)).toEqual([
      expect.objectContaining({ readings: 2 }),
    ]);
  });

  it('keeps a late reading in its late record as validated, without its reference, expired when beyond the horizon', async () => {
    // At 5:00, a reading of 3:40 is late for its minute (3:00 to 4:00, plus 30 s of lateness) and
    // within the 90 s the entity remembers ids for; one of 0:30 is beyond them.
    const { store, ports } = harness(undefined, T0 + 300_000);
    await processRecords(pipeline, [json(reading(300, 's1'))], ports);

    const { stats } = await processRecords(pipeline, [json(reading(220, 's1')), json(reading(30, 's1'))], ports);

    const late = [...store.outputs.values()].filter((o) => o.pk === 'sensors#@late#s1').map((o) => o.body);
    expect(stats).toMatchObject({ late: 2 });
    expect(late).toEqual([
      expect.objectContaining({ eventId: 's1-220', event: reading(220, 's1') }),
      expect.objectContaining({ eventId: 's1-30', event: reading(30, 's1'), expired: true }),
    ]);
    expect(late[0]).not.toHaveProperty('expired');
  });

  it('leaves a dead-lettered event out of its entity: it moves no watermark, so a later event is not late', async () => {
    // Past the end of the first minute plus the lateness: an event of that minute is late behind this one.
    const { ports, reader } = harness(undefined, T0 + 100_000);
    // The same sensor id cannot be both known and unknown, so the reference item goes missing between events.
    const references = new MemoryReferenceSource({ ...SENSORS });
    references.items.delete('s2');
    const ahead = { ...reading(100, 's2'), eventId: 's2-ahead' };

    const first = await processRecords(pipeline, [json(ahead)], { ...ports, references });
    const { stats } = await processRecords(pipeline, [json(reading(1, 's2'))], ports);

    expect(first.stats).toMatchObject({ referenceMissing: 1, rejected: 0 });
    expect(stats).toMatchObject({ accepted: 1, late: 0 });
    expect(await reader.windows('per-minute', 's2', T0, T0)).toEqual([expect.objectContaining({ readings: 1 })]);
  });
});
