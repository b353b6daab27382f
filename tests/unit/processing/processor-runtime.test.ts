import { afterEach, describe, expect, it, vi } from 'vitest';
import { ETA_KEY, STOP_ETAS } from '../../../pipelines/transit/engine/etas.js';
import { type TransitEngine, transitDefinition } from '../../../pipelines/transit/engine/transit-pipeline.js';
import { VEHICLE_STATE } from '../../../pipelines/transit/engine/vehicle-state.js';
import { ROUTE_WINDOWS, VEHICLE_WINDOWS } from '../../../pipelines/transit/engine/windows.js';
import { decodeCandidates } from '../../../pipelines/transit/events/formats.js';
import type { OutputRecord } from '../../../pipelines/transit/model.js';
import {
  processAndRecord,
  type TransitProcessor,
  transitCountersOf,
} from '../../../pipelines/transit/processing/processor-runtime.js';
import { emptyPipelineStats, runnable } from '../../../shared/engine/process-records.js';
import { MemoryReferenceSource } from '../../../shared/engine/reference.js';
import { MemorySinkTarget } from '../../../shared/engine/sinks.js';
import { MemoryEngineStore } from '../../../shared/engine/store.js';
import { metrics } from '../../../shared/observability.js';
import {
  CapturingDeadLetters,
  CapturingPublisher,
  lonAt,
  pipeline,
  position,
  SHAPE,
  settings,
  sourceRecords,
  T0,
} from '../../helpers/processing.js';

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

  it('runs the engine under the same metric names, publishing what processBatch publishes, also after a failed publish', async () => {
    const records = sourceRecords([
      ...Array.from({ length: 5 }, (_, i) =>
        position({ eventId: `e${i}`, ts: T0 + i * 1000, lon: lonAt(100 + i * 10) }),
      ),
      // 5 km in a second: an impossible jump, a track anomaly found on the fold's steps.
      position({ eventId: 'jump', ts: T0 + 5000, lon: lonAt(5_100) }),
      // Late for its windows (150 s behind), and behind the engine's horizon too (400 s).
      position({ eventId: 'late', ts: T0 - 150_000, lon: lonAt(50) }),
      position({ eventId: 'older', ts: T0 - 400_000, lon: lonAt(40) }),
      { ...position({ eventId: 'bad' }), lat: 91 },
    ]);
    const run = async (processor: TransitProcessor, publisher: CapturingPublisher) => {
      const sum = published();
      publisher.failNext = 1;
      await expect(processAndRecord(records, processor, 'kinesis')).rejects.toThrow('injected publish failure');
      await processAndRecord(records, processor, 'kinesis');
      const metrics = Object.fromEntries(
        ['EventsProcessed', 'LateEvents', 'EventsRejected', 'AnomaliesDetected', 'WindowsWritten'].map((name) => [
          name,
          sum(name),
        ]),
      );
      vi.restoreAllMocks();
      return { metrics, records: publisher.records };
    };

    const p = pipeline();
    const transit = await run({ core: 'batch', deps: p.deps }, p.publisher);
    const publisher = new CapturingPublisher();
    const engine: TransitEngine = {
      pipeline: runnable(transitDefinition(settings), decodeCandidates),
      ports: {
        store: new MemoryEngineStore(),
        deadLetters: new CapturingDeadLetters(),
        references: new MemoryReferenceSource({
          R1: { routeId: 'R1', shapes: [SHAPE], tripShapeIds: { T1: SHAPE.shapeId } },
        }),
        sinks: new MemorySinkTarget({ [STOP_ETAS]: ETA_KEY }),
        clock: () => T0 + 3_600_000,
      },
      publisher,
    };
    const onEngine = await run({ core: 'engine', engine }, publisher);

    // The windows were written by the failed attempts, whose write counters are not recorded.
    expect(transit.metrics).toEqual({
      EventsProcessed: 6,
      LateEvents: 2,
      EventsRejected: 1,
      AnomaliesDetected: 1,
      WindowsWritten: 0,
    });
    // Neither failed attempt committed anything (processBatch writes states last, the engine publishes first).
    expect(onEngine.metrics).toEqual(transit.metrics);
    const byKind = (out: OutputRecord[]) => [...out].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    // processBatch's retry finds its windows folded by the failed attempt and publishes them no more
    // (docs/exactly-once.md: until they next change); the engine replays them.
    expect(transit.records.map((r) => r.kind).sort()).toEqual(['anomaly', 'vehicle']);
    expect(onEngine.records.map((r) => r.kind).sort()).toEqual(['anomaly', 'vehicle', 'window', 'window']);
    expect(byKind(onEngine.records.filter((r) => r.kind !== 'window'))).toEqual(byKind(transit.records));
  });

  it("counts the engine's route and vehicle windows as WindowsWritten, not its state items", () => {
    const stats = {
      ...emptyPipelineStats(),
      itemsWritten: 9,
      itemsWrittenByOperator: { [ROUTE_WINDOWS]: 3, [VEHICLE_WINDOWS]: 2, [VEHICLE_STATE]: 4 },
    };

    expect(transitCountersOf(stats).windowsWritten).toBe(5);
  });
});
