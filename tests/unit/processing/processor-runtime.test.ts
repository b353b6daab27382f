import { afterEach, describe, expect, it, vi } from 'vitest';
import { ETA_KEY, STOP_ETAS } from '../../../pipelines/transit/engine/etas.js';
import { type TransitEngine, transitDefinition } from '../../../pipelines/transit/engine/transit-pipeline.js';
import { decodeCandidates } from '../../../pipelines/transit/events/formats.js';
import { processAndRecord } from '../../../pipelines/transit/processing/processor-runtime.js';
import { runnable } from '../../../shared/engine/process-records.js';
import { MemoryReferenceSource } from '../../../shared/engine/reference.js';
import { MemorySinkTarget } from '../../../shared/engine/sinks.js';
import { MemoryEngineStore } from '../../../shared/engine/store.js';
import { metrics } from '../../../shared/observability.js';
import { lonAt, pipeline, position, settings, sourceRecords, T0 } from '../../helpers/processing.js';

const published = () => {
  const spy = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
  return (name: string) =>
    spy.mock.calls.filter(([n]) => n === name).reduce((sum, [, , value]) => sum + Number(value), 0);
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('processAndRecord', () => {
  it('counts each folded event and each dead letter once across a failed attempt and its retry', async () => {
    const sum = published();
    const p = pipeline();
    const records = sourceRecords([
      ...Array.from({ length: 5 }, (_, i) =>
        position({ eventId: `e${i}`, ts: T0 + i * 1000, lon: lonAt(100 + i * 10) }),
      ),
      { ...position({ eventId: 'bad' }), lat: 91 },
    ]);
    p.publisher.failNext = 1;

    const processor = { core: 'batch', deps: p.deps } as const;
    await expect(processAndRecord(records, processor, 'kinesis')).rejects.toThrow('injected publish failure');
    await processAndRecord(records, processor, 'kinesis');

    expect(sum('EventsProcessed')).toBe(5);
    expect(sum('EventsRedelivered')).toBe(5);
    expect(sum('EventsRejected')).toBe(1);
  });

  it('counts the same on the engine, under the same metric names, and publishes transit’s output records', async () => {
    const sum = published();
    const p = pipeline();
    const records = sourceRecords([
      ...Array.from({ length: 5 }, (_, i) =>
        position({ eventId: `e${i}`, ts: T0 + i * 1000, lon: lonAt(100 + i * 10) }),
      ),
      { ...position({ eventId: 'bad' }), lat: 91 },
    ]);
    const engine: TransitEngine = {
      pipeline: runnable(transitDefinition(settings), decodeCandidates),
      ports: {
        store: new MemoryEngineStore(),
        deadLetters: p.deadLetters,
        references: new MemoryReferenceSource({}),
        sinks: new MemorySinkTarget({ [STOP_ETAS]: ETA_KEY }),
        clock: () => T0 + 60_000,
      },
      publisher: p.publisher,
    };
    p.publisher.failNext = 1;
    const processor = { core: 'engine', engine } as const;
    await expect(processAndRecord(records, processor, 'kinesis')).rejects.toThrow('injected publish failure');
    await processAndRecord(records, processor, 'kinesis');

    // The failed publish came before the commit, so the retry commits the events: none is redelivered.
    expect(sum('EventsProcessed')).toBe(5);
    expect(sum('EventsRedelivered')).toBe(0);
    expect(sum('EventsRejected')).toBe(1);
    // The retry replays what the failed attempt wrote: the vehicle and its two windows, as processBatch sends them.
    const kinds = p.publisher.records.map((r) => `${r.kind}:${r.kind === 'window' ? r.data.entityType : ''}`).sort();
    expect(kinds).toEqual(['vehicle:', 'window:route', 'window:vehicle']);
  });
});
