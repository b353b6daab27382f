/**
 * Runs one delivery of transit records through today's `processBatch` (its memory store) and through
 * the engine (`processRecords` with transit's operators on a `MemoryEngineStore`), and reads back both
 * sides' route and vehicle windows, vehicle states, track anomalies and speed anomalies (with the speed
 * z-score when asked) in transit's public shape, to compare them.
 */
import { expect } from 'vitest';
import { DEFAULT_GTFS_DIR } from '../../local/simulate.js';
import { TRANSIT_PIPELINE, transitStatePart, transitWindowsPart } from '../../pipelines/transit/engine/definition.js';
import { ETA_KEY, STOP_ETAS } from '../../pipelines/transit/engine/etas.js';
import { routeReferenceItems } from '../../pipelines/transit/engine/route-reference.js';
import { SPEED_ZSCORE, speedAnomalyOf, speedZScore } from '../../pipelines/transit/engine/speed-score.js';
import {
  anomalyOfDetection,
  presentVehicleState,
  TRACK_ANOMALIES,
  VEHICLE_STATE,
  type VehicleTrack,
  vehicleOfUpdate,
  vehicleStateMoved,
} from '../../pipelines/transit/engine/vehicle-state.js';
import { presentTransitWindow, windowOfUpdate } from '../../pipelines/transit/engine/windows.js';
import { decodeCandidates } from '../../pipelines/transit/events/formats.js';
import { parseGtfsFeed } from '../../pipelines/transit/gtfs/parse-feed.js';
import type { Anomaly, OutputRecord, StopEta, VehiclePosition } from '../../pipelines/transit/model.js';
import { MemoryStore } from '../../pipelines/transit/processing/memory-store.js';
import type { LateEvent, ReferenceSource, ShapeRef, StoredWindow } from '../../pipelines/transit/processing/ports.js';
import { processBatch } from '../../pipelines/transit/processing/process-batch.js';
import {
  type PublicAnomaly,
  type PublicVehicleState,
  type PublicWindow,
  projectAnomaly,
  projectVehicleState,
  projectWindow,
} from '../../pipelines/transit/queries/projections.js';
import { type Detection, detectionPk } from '../../shared/engine/detectors.js';
import { operatorOfPk, operatorPk } from '../../shared/engine/operators/operator.js';
import { presentWindow, type WindowedAggregate, type WindowValue } from '../../shared/engine/operators/windows.js';
import type { PipelineDefinition } from '../../shared/engine/pipeline.js';
import { processRecords, type RunnablePipeline, runnable, runTick } from '../../shared/engine/process-records.js';
import { type ReferenceSource as EngineReferenceSource, MemoryReferenceSource } from '../../shared/engine/reference.js';
import type { LateRecord } from '../../shared/engine/run-batch.js';
import { MemorySinkTarget } from '../../shared/engine/sinks.js';
import { MemoryEngineStore } from '../../shared/engine/store.js';
import { padPosition, type SourceRecord } from '../../shared/events/source-records.js';
import { FaultyStore, InjectedWriteFailure } from './engine-harness.js';
import { CapturingDeadLetters, settings } from './processing.js';

/** A reference table that knows no route: windows do not depend on shapes, and the fold runs faster. */
export const NO_REFERENCE: ReferenceSource = { routeShapes: async () => undefined, tripShapeId: async () => undefined };

/** The description of the tests' transit definitions. */
const testDescription = (reference: boolean): PipelineDefinition<VehiclePosition>['description'] => ({
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
  ...(reference ? { reference: {} } : {}),
});

/**
 * Transit's windows part in a runnable definition, with the speed z-score when `speedScore`; the
 * description is a test's, `publish` captures windows.
 */
export const transitWindowsPipeline = ({ speedScore = false } = {}) => {
  const part = transitWindowsPart(settings);
  const definition: PipelineDefinition<VehiclePosition> = {
    description: testDescription(false),
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
  const outputs: OutputRecord[][] = [];
  const publisher = {
    publish: async (records: OutputRecord[]) => {
      outputs.push(records);
      published.push(records.flatMap((r) => (r.kind === 'window' ? [r.data] : [])));
    },
  };
  const deadLetters = new CapturingDeadLetters();
  const deps = { store, reference, publisher, deadLetters, settings, clock: () => now };
  for (const { records } of attempts) await processBatch(records, deps);
  const stored = [...store.windows.values()];
  const run: WindowsRun = {
    windows: new Map(stored.map((w) => [windowId(w), projectWindow(w)])),
    variances: new Map(stored.map((w) => [windowId(w), sumsVariance(w)])),
    published,
  };
  return { ...run, store, deadLetters, outputs, lateEvents: [...store.lateEvents.values()] as LateEvent[] };
}

/**
 * Delivers the attempts to an engine pipeline on a memory store; a failing attempt throws after
 * `failAfterWrites` writes and is not published. `tickAt` runs the tick before an attempt, on its
 * processing clock.
 */
async function deliverToEngine<E, V>(
  pipeline: RunnablePipeline<E, V>,
  attempts: Attempt[],
  now: number,
  options: { tickAt?: (attempt: number) => number | undefined; references?: EngineReferenceSource } = {},
) {
  const memory = new MemoryEngineStore();
  const store = new FaultyStore(memory);
  const etas = new MemorySinkTarget({ [STOP_ETAS]: ETA_KEY });
  const published: Array<Array<{ type: string; data: Record<string, unknown> }>> = [];
  const deadLetters = new CapturingDeadLetters();
  const ports = {
    store,
    deadLetters,
    // ETA writes fail with the store's, as a batch stopping between them would.
    sinks: store.faultySinks(etas),
    ...(options.references ? { references: options.references } : {}),
    publish: async (messages: Array<{ type: string; data: Record<string, unknown> }>) => {
      published.push(messages.map(({ type, data }) => ({ type, data })));
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
  return { memory, published, deadLetters, etas: etas.list(STOP_ETAS) as unknown as StopEta[] };
}

/**
 * The engine with transit's windows; a failing attempt throws after `failAfterWrites` writes and is not
 * published. `tickAt` runs the tick before an attempt, on its processing clock.
 */
export async function runEngine(
  attempts: Attempt[],
  now: number,
  options: { tickAt?: (attempt: number) => number | undefined; speedScore?: boolean } = {},
) {
  const pipeline = transitWindowsPipeline({ speedScore: options.speedScore ?? false });
  const { memory, published } = await deliverToEngine(pipeline, attempts, now, options);
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
  const run: WindowsRun = { windows, variances, published: published.map((p) => p.map((m) => m.data as PublicWindow)) };
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

/** The synthetic city's GTFS as each side reads it: transit's reference port, and the engine's route items. */
export async function cityReference() {
  const feed = await parseGtfsFeed(DEFAULT_GTFS_DIR);
  const shapes = new Map<string, Map<string, ShapeRef>>();
  for (const rs of feed.routeShapes) {
    const byId = shapes.get(rs.routeId) ?? new Map<string, ShapeRef>();
    byId.set(rs.shapeId, { shapeId: rs.shapeId, points: rs.points, stops: rs.stops });
    shapes.set(rs.routeId, byId);
  }
  const transit: ReferenceSource = {
    routeShapes: async (routeId) => shapes.get(routeId),
    tripShapeId: async (tripId) => feed.trips.get(tripId)?.shapeId,
  };
  const items = Object.fromEntries(routeReferenceItems(feed));
  return { feed, transit, engine: () => new MemoryReferenceSource(items) };
}

/** Transit's windows, vehicle state and track anomalies, with the route reference; `publish` sends states and anomalies. */
export const transitStatePipeline = () => {
  const part = transitStatePart(settings);
  return runnable(
    {
      description: testDescription(true),
      ...part,
      publish: [
        {
          type: 'vehicle',
          from: { operator: VEHICLE_STATE },
          topics: ({ update }) => (update && vehicleStateMoved(update) ? ['vehicles'] : []),
          shape: ({ update }) => (update ? vehicleOfUpdate(update) : {}),
          schema: {},
        },
        {
          type: 'anomaly',
          from: { detector: TRACK_ANOMALIES },
          topics: () => ['anomalies'],
          shape: ({ detection }) => (detection ? anomalyOfDetection(detection) : {}),
          schema: {},
        },
      ],
    },
    decodeCandidates,
  );
};

/** A run's vehicle states and track anomalies in their public shapes, and its stop ETAs. */
export interface StatesRun {
  /** By vehicle id. */
  states: Map<string, PublicVehicleState>;
  /** By vehicle id, the event time of the fix its ETAs come from (kept in the state, not public). */
  etaComputedTs: Map<string, number | undefined>;
  /** By anomaly id. */
  anomalies: Map<string, PublicAnomaly>;
  /** `EtaTable`'s rows, by stop and vehicle. */
  etas: StopEta[];
}

const etaKey = (row: StopEta) => `${row.stopId}|${row.vehicleId}`;
const byEtaKey = (rows: Iterable<StopEta>) => [...rows].sort((a, b) => etaKey(a).localeCompare(etaKey(b)));

const TRACK_TYPES: ReadonlySet<Anomaly['type']> = new Set(['impossible-jump', 'off-route', 'stalled']);

/** The states and track anomalies of `processBatch`'s memory store (its speed z-scores left out). */
export function transitStates(store: MemoryStore): StatesRun {
  return {
    states: new Map([...store.states.values()].map((s) => [s.vehicleId, projectVehicleState(s)])),
    etaComputedTs: new Map([...store.states.values()].map((s) => [s.vehicleId, s.etaComputedTs])),
    etas: byEtaKey(store.etas.values()),
    anomalies: new Map(
      [...store.anomalies.values()].filter((a) => TRACK_TYPES.has(a.type)).map((a) => [a.anomalyId, projectAnomaly(a)]),
    ),
  };
}

/** The engine with transit's state part and `references` (a fresh source of the city's by default). */
export async function runEngineStates(attempts: Attempt[], now: number, references: EngineReferenceSource) {
  const pipeline = transitStatePipeline();
  const { memory, published, deadLetters, etas } = await deliverToEngine(pipeline, attempts, now, { references });
  const states = new Map<string, PublicVehicleState>();
  const etaComputedTs = new Map<string, number | undefined>();
  for (const item of memory.items.values()) {
    if (operatorOfPk(TRANSIT_PIPELINE, item.pk) !== VEHICLE_STATE) continue;
    const track = item.body.state as unknown as VehicleTrack;
    const state = presentVehicleState(track);
    expect(item.pk).toBe(operatorPk(TRANSIT_PIPELINE, VEHICLE_STATE, state.vehicleId));
    states.set(state.vehicleId, state);
    etaComputedTs.set(state.vehicleId, track.vehicle.etaComputedTs);
  }
  const anomalies = new Map<string, PublicAnomaly>();
  for (const output of memory.outputs.values()) {
    if (output.pk !== detectionPk(TRANSIT_PIPELINE, TRACK_ANOMALIES)) continue;
    const anomaly = anomalyOfDetection(output.body as unknown as Detection);
    anomalies.set(anomaly.anomalyId, anomaly);
  }
  const run: StatesRun = { states, etaComputedTs, anomalies, etas: byEtaKey(etas) };
  return { ...run, store: memory, published, deadLetters };
}

/**
 * What each batch published of vehicles and track anomalies, sorted within the batch by kind and id,
 * batches that published none of them left out: from transit's output records or the engine's messages.
 */
export function publishedStates(batches: Array<Array<{ kind?: string; type?: string; data: object }>>) {
  const idOf = (m: { data: object }) => {
    const data = m.data as { anomalyId?: string; vehicleId?: string };
    return data.anomalyId ?? data.vehicleId ?? '';
  };
  return batches
    .map((batch) =>
      batch
        .map((m) => ({ kind: m.kind ?? m.type, data: m.data }))
        .filter(
          (m) =>
            m.kind === 'vehicle' ||
            (m.kind === 'anomaly' && TRACK_TYPES.has((m.data as { type: Anomaly['type'] }).type)),
        )
        .sort((a, b) => `${a.kind}|${idOf(a)}`.localeCompare(`${b.kind}|${idOf(b)}`)),
    )
    .filter((batch) => batch.length > 0);
}

/**
 * Both runs hold the same vehicle states, the same track anomalies (ids, types, evidence, scores) and
 * the same stop ETAs (every row's every field, the ETA basis of each state).
 */
export function expectSameStates(engine: StatesRun, transit: StatesRun) {
  const sorted = <T>(map: Map<string, T>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  expect(sorted(engine.states)).toEqual(sorted(transit.states));
  expect(sorted(engine.anomalies)).toEqual(sorted(transit.anomalies));
  expect(sorted(engine.etaComputedTs)).toEqual(sorted(transit.etaComputedTs));
  expect(engine.etas).toEqual(transit.etas);
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
