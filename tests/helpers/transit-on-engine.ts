/**
 * Runs one delivery of transit records through today's `processBatch` (its memory store) and through
 * the engine (`processRecords` with transit's window operators on a `MemoryEngineStore`, and the speed
 * z-score when asked), and reads back both sides' route and vehicle windows in transit's public shape,
 * and their speed anomalies, to compare them.
 */
import { expect } from 'vitest';
import { TRANSIT_PIPELINE, transitWindowsPart } from '../../pipelines/transit/engine/definition.js';
import { SPEED_ZSCORE, speedAnomalyOf, speedZScore } from '../../pipelines/transit/engine/speed-score.js';
import { presentTransitWindow, windowOfUpdate } from '../../pipelines/transit/engine/windows.js';
import { decodeCandidates } from '../../pipelines/transit/events/formats.js';
import type { Anomaly, OutputRecord, VehiclePosition } from '../../pipelines/transit/model.js';
import { MemoryStore } from '../../pipelines/transit/processing/memory-store.js';
import type { LateEvent, ReferenceSource, StoredWindow } from '../../pipelines/transit/processing/ports.js';
import { processBatch } from '../../pipelines/transit/processing/process-batch.js';
import { type PublicWindow, projectWindow } from '../../pipelines/transit/queries/projections.js';
import { type Detection, detectionPk } from '../../shared/engine/detectors.js';
import { operatorOfPk } from '../../shared/engine/operators/operator.js';
import { presentWindow, type WindowedAggregate, type WindowValue } from '../../shared/engine/operators/windows.js';
import type { PipelineDefinition } from '../../shared/engine/pipeline.js';
import { processRecords, runnable, runTick } from '../../shared/engine/process-records.js';
import type { LateRecord } from '../../shared/engine/run-batch.js';
import { MemoryEngineStore } from '../../shared/engine/store.js';
import { padPosition, type SourceRecord } from '../../shared/events/source-records.js';
import { FaultyStore, InjectedWriteFailure } from './engine-harness.js';
import { CapturingDeadLetters, settings } from './processing.js';

/** A reference table that knows no route: windows do not depend on shapes, and the fold runs faster. */
export const NO_REFERENCE: ReferenceSource = { routeShapes: async () => undefined, tripShapeId: async () => undefined };

/**
 * Transit's windows part in a runnable definition, with the speed z-score when `speedScore`; the
 * description is a test's, `publish` captures windows.
 */
export const transitWindowsPipeline = ({ speedScore = false } = {}) => {
  const part = transitWindowsPart(settings);
  const definition: PipelineDefinition<VehiclePosition> = {
    description: {
      name: TRANSIT_PIPELINE,
      constructId: 'TransitOnEngine',
      description: 'transit windows on the engine (test)',
      handlers: 'tests/helpers/transit-on-engine.ts',
      topic: 'vehicle.position.v1',
      partitionKeyField: 'vehicleId',
      routes: [],
      topics: [],
      tickRate: 'rate(1 minute)',
      shards: 2,
    },
    ...part,
    ...(speedScore ? { detectors: [speedZScore(settings)] } : {}),
    publish: part.operators.map((op) => ({
      type: 'window',
      from: { operator: op.name },
      topics: () => ['windows'],
      shape: ({ update }) => (update ? windowOfUpdate(update) : {}),
      schema: {},
    })),
  };
  return runnable(definition, decodeCandidates);
};

/** One attempt of a delivery: the records of a batch, and after how many writes the engine's attempt fails. */
export interface Attempt {
  records: SourceRecord[];
  failAfterWrites?: number;
}

/**
 * An at-least-once delivery of the partitions: batches of 1 to `maxBatch` records taken from one or two
 * partitions, attempts that fail (when `failures`) and are retried with another cut, and rewinds that
 * read committed records again. `draw` gives the random choices (a seeded generator or fast-check's).
 */
export function delivery(
  partitions: SourceRecord[][],
  draw: (n: number) => number,
  { maxBatch = 50, failures = false, rewinds = true } = {},
): Attempt[] {
  const cursor = partitions.map(() => 0);
  const attempts: Attempt[] = [];
  let failuresLeft = failures ? 8 : 0;
  let rewindsLeft = rewinds ? 8 : 0;
  const open = () => cursor.flatMap((c, p) => (c < (partitions[p] as SourceRecord[]).length ? [p] : []));
  for (let left = open(); left.length > 0; left = open()) {
    const chosen = new Set([left[draw(left.length)] as number, left[draw(left.length)] as number]);
    const taken = new Map<number, number>();
    const records: SourceRecord[] = [];
    for (const p of chosen) {
      const slice = (partitions[p] as SourceRecord[]).slice(cursor[p], (cursor[p] as number) + 1 + draw(maxBatch));
      records.push(...slice);
      taken.set(p, slice.length);
    }
    const fail = failuresLeft > 0 && draw(4) === 0;
    if (fail) {
      failuresLeft--;
      attempts.push({ records, failAfterWrites: draw(6) });
    } else {
      attempts.push({ records });
      for (const [p, n] of taken) cursor[p] = (cursor[p] as number) + n;
    }
    if (rewindsLeft > 0 && draw(5) === 0) {
      rewindsLeft--;
      const p = draw(partitions.length);
      cursor[p] = Math.max(0, (cursor[p] as number) - 1 - draw(20));
    }
  }
  return attempts;
}

/** Items as JSON records of their partitions (`partitionOf`), in the order given; `payload` is what is sent. */
export function partitionRecords<T>(
  items: T[],
  partitions: number,
  partitionOf: (item: T) => number,
  payload: (item: T) => unknown = (item) => item,
): SourceRecord[][] {
  const out: SourceRecord[][] = Array.from({ length: partitions }, () => []);
  for (const item of items) {
    const p = partitionOf(item);
    const list = out[p] as SourceRecord[];
    list.push({
      itemIdentifier: String(list.length + 1),
      partition: `shardId-${String(p).padStart(12, '0')}`,
      position: padPosition(list.length + 1),
      data: Buffer.from(JSON.stringify(payload(item))),
    });
  }
  return out;
}

export interface WindowsRun {
  /** Every stored window, projected, by `windowId`. */
  windows: Map<string, PublicWindow>;
  /** Per stored window, the population variance of its speeds (transit: from its sums; engine: its moments). */
  variances: Map<string, number>;
  /** The windows each successful attempt published, projected. */
  published: PublicWindow[][];
}

export const windowId = (w: Pick<PublicWindow, 'entityType' | 'entityId' | 'windowStart'>) =>
  `${w.entityType}|${w.entityId}|${w.windowStart}`;

const sumsVariance = (w: StoredWindow) => {
  const mean = w.sumSpeedKmh / w.count;
  return Math.max(0, w.sumSqSpeedKmh / w.count - mean * mean);
};

/** Today's processor; a failing attempt is delivered whole (for transit it is a success, then redelivered). */
export async function runTransit(attempts: Attempt[], now: number, reference = NO_REFERENCE) {
  const store = new MemoryStore();
  const published: PublicWindow[][] = [];
  const publisher = {
    publish: async (records: OutputRecord[]) => {
      published.push(records.flatMap((r) => (r.kind === 'window' ? [r.data] : [])));
    },
  };
  const deps = { store, reference, publisher, deadLetters: new CapturingDeadLetters(), settings, clock: () => now };
  for (const { records } of attempts) await processBatch(records, deps);
  const stored = [...store.windows.values()];
  const run: WindowsRun = {
    windows: new Map(stored.map((w) => [windowId(w), projectWindow(w)])),
    variances: new Map(stored.map((w) => [windowId(w), sumsVariance(w)])),
    published,
  };
  return { ...run, store, lateEvents: [...store.lateEvents.values()] as LateEvent[] };
}

/**
 * The engine; a failing attempt throws after `failAfterWrites` writes and is not published. `tickAt` runs
 * the tick before an attempt, on its processing clock.
 */
export async function runEngine(
  attempts: Attempt[],
  now: number,
  options: { tickAt?: (attempt: number) => number | undefined; speedScore?: boolean } = {},
) {
  const pipeline = transitWindowsPipeline({ speedScore: options.speedScore });
  const memory = new MemoryEngineStore();
  const store = new FaultyStore(memory);
  const published: PublicWindow[][] = [];
  const ports = {
    store,
    deadLetters: new CapturingDeadLetters(),
    publish: async (messages: Array<{ data: Record<string, unknown> }>) => {
      published.push(messages.map((m) => m.data as PublicWindow));
    },
  };
  for (const [i, { records, failAfterWrites }] of attempts.entries()) {
    const tickAt = options.tickAt?.(i);
    if (tickAt !== undefined) await runTick(pipeline, { ...ports, clock: () => tickAt });
    store.failAfterWrites = failAfterWrites;
    try {
      await processRecords(pipeline, records, { ...ports, clock: () => now });
    } catch (error) {
      if (!(error instanceof InjectedWriteFailure)) throw error;
    } finally {
      store.failAfterWrites = undefined;
    }
  }
  const operators = pipeline.definition.operators as Array<WindowedAggregate<VehiclePosition>>;
  const windows = new Map<string, PublicWindow>();
  const variances = new Map<string, number>();
  for (const item of memory.items.values()) {
    const op = operators.find((o) => o.name === operatorOfPk(TRANSIT_PIPELINE, item.pk));
    if (!op) continue;
    const value: WindowValue = presentWindow(op, item);
    const window = presentTransitWindow(op.name, value);
    windows.set(windowId(window), window);
    variances.set(windowId(window), (value.speed as { variance: number }).variance);
  }
  const lateRecords = [...memory.outputs.values()]
    .filter((o) => o.pk.startsWith(`${TRANSIT_PIPELINE}#@late#`))
    .map((o) => o.body as unknown as LateRecord);
  const detectedAt = new Date(now).toISOString();
  const speedAnomalies = [...memory.outputs.values()]
    .filter((o) => o.pk === detectionPk(TRANSIT_PIPELINE, SPEED_ZSCORE))
    .map((o) => speedAnomalyOf(o.body as unknown as Detection, settings, detectedAt));
  const run: WindowsRun = { windows, variances, published };
  return { ...run, store: memory, lateRecords, speedAnomalies };
}

/** Today's speed anomalies of a transit run. */
export const speedAnomaliesOf = (store: MemoryStore) =>
  [...store.anomalies.values()].filter((a) => a.type === 'speed-zscore');

/**
 * The same speed anomalies: ids, fixes, scores and evidence. The baseline's mean and std are rounded to
 * 0.1 km/h from moments on one side and from sums on the other, so they may differ by one unit (and the
 * score in its third decimal); `detectedAt` is each side's processing clock.
 */
export function expectSameSpeedAnomalies(engine: Anomaly[], transit: Anomaly[]) {
  const canonical = (anomalies: Anomaly[], close: boolean) =>
    [...anomalies]
      .sort((a, b) => (a.anomalyId < b.anomalyId ? -1 : a.anomalyId > b.anomalyId ? 1 : 0))
      .map(({ detectedAt: _detectedAt, ...a }) =>
        close
          ? {
              ...a,
              score: expect.closeTo(a.score, 2),
              evidence: {
                ...a.evidence,
                baselineMeanKmh: expect.closeTo(a.evidence.baselineMeanKmh as number, 0.5),
                baselineStdKmh: expect.closeTo(a.evidence.baselineStdKmh as number, 0.5),
              },
            }
          : a,
      );
  expect(canonical(engine, false)).toEqual(canonical(transit, true));
}

/**
 * Float tolerance. Both sides add the same speeds (at most 400 km/h) in different association (transit one
 * by one onto the stored sum, the engine per batch, then merged; Welford's mean against sum / count), so
 * only the last bits may differ: relative rounding error is at most about n·ε (n events in a window,
 * ε = 1.1e-16), below 1e-11 km/h for the thousands of events a route window holds. 1e-9 km/h leaves a
 * factor of 100 and is eight orders of magnitude below anything a client reads.
 * Variance: transit's `sumSq / n − mean²` cancels, its absolute error is about n·ε·E[x²] (E[x²] ≤ 400²),
 * below 1e-8 for ten thousand events; compared to 1e-7 (km/h)². Standard deviations are compared through
 * their variances: |√a − √b| ≤ √|a − b|, and near zero a std has no more accuracy than that.
 */
export const AVG_DIGITS = 9;
export const VARIANCE_TOLERANCE = 1e-7;

/** The windows as `expected` has them, averages within the float tolerance. */
export function closeWindows(expected: PublicWindow[]) {
  return expected.map((w) => ({ ...w, avgSpeedKmh: expect.closeTo(w.avgSpeedKmh, AVG_DIGITS) }));
}

const byId = (windows: Iterable<PublicWindow>) =>
  [...windows].sort((a, b) => (windowId(a) < windowId(b) ? -1 : windowId(a) > windowId(b) ? 1 : 0));

/** The engine's run holds the same windows as transit's, with the same values (averages and variances within tolerance). */
export function expectSameWindows(engine: WindowsRun, transit: WindowsRun) {
  expect(byId(engine.windows.values())).toEqual(closeWindows(byId(transit.windows.values())));
  for (const [id, variance] of transit.variances) {
    expect(Math.abs((engine.variances.get(id) as number) - variance), id).toBeLessThanOrEqual(VARIANCE_TOLERANCE);
  }
}

/** Each attempt published the same windows with the same values. */
export function expectSamePublished(engine: WindowsRun, transit: WindowsRun) {
  const nonEmpty = (run: WindowsRun) => run.published.filter((p) => p.length > 0);
  expect(nonEmpty(engine).map(byId)).toEqual(nonEmpty(transit).map((p) => closeWindows(byId(p))));
}
