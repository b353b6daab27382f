/**
 * The processor core, shared by every event source: decode and validate a batch of records, fold the
 * valid events in memory, and write each (key, window) once per batch, conditionally. See
 * docs/exactly-once.md for why a retried batch, a redelivered record and a duplicated event are not
 * counted twice, and what the limits are.
 */
import { forEachLimited } from '../../../shared/concurrency.js';
import type { SourceRecord } from '../../../shared/events/source-records.js';
import { type ValidEvent as TriagedEvent, triageRecords } from '../../../shared/events/triage.js';
import type { ProcessingSettings } from '../config.js';
import { decodeCandidates } from '../events/formats.js';
import { validateVehiclePosition } from '../events/validate.js';
import type { Anomaly, OutputRecord, VehiclePosition, VehicleState } from '../model.js';
import { projectAnomaly, projectVehicleState, projectWindow } from '../queries/projections.js';
import { computeEtas, type EtaFix } from './eta.js';
import type {
  DeadLetterSink,
  LateEvent,
  Publisher,
  ReadModelStore,
  ReferenceSource,
  ShapeRef,
  StoredWindow,
  WindowRef,
} from './ports.js';
import { shapeFor } from './shape-choice.js';
import { advanceTrack, makeAnomaly } from './vehicle-track.js';
import {
  type Contribution,
  closedWindowsBefore,
  FOLDED_AT_UNKNOWN_POSITION,
  mergeWindow,
  routeWindowPk,
  speedBaseline,
  vehicleWindowPk,
  type WindowIdentity,
  windowKey,
  windowStartOf,
} from './windows.js';

export interface ProcessorDeps {
  store: ReadModelStore;
  reference: ReferenceSource;
  publisher: Publisher;
  deadLetters: DeadLetterSink;
  settings: ProcessingSettings;
  clock?: () => number;
}

export interface BatchStats {
  records: number;
  events: number;
  /** Events folded for the first time (counted when their vehicle window is written). */
  folded: number;
  /** Events of a retried or redelivered batch that were already folded. */
  redelivered: number;
  rejected: number;
  duplicates: number;
  late: number;
  windowsWritten: number;
  conditionalRetries: number;
  anomalies: number;
  etasWritten: number;
  statesWritten: number;
}

export interface BatchOutcome {
  /** Records to report in a partial batch response (their dead letters could not be sent). */
  failedItemIdentifiers: string[];
  stats: BatchStats;
}

/** A window kept changing under us more often than we are willing to retry; the batch is retried. */
export class ConcurrentUpdateError extends Error {
  override name = 'ConcurrentUpdateError';
}

const MAX_CONDITIONAL_ATTEMPTS = 8;
const WRITE_CONCURRENCY = 16;
/**
 * Closed route windows that form the speed baseline (see `closedWindowsBefore`), and the data it needs.
 * The baseline also gives the route average a standing vehicle's ETAs fall back on.
 */
const BASELINE_WINDOWS = 5;
const MIN_BASELINE_COUNT = 30;
const MIN_BASELINE_STD_KMH = 1;

/** Speed statistics of a route's closed windows, and the window starts they span (inclusive). */
type Baseline = ReturnType<typeof speedBaseline> & { from: number; to: number };

type ValidEvent = TriagedEvent<VehiclePosition>;

/** Counters of a batch, all zero. */
export const emptyBatchStats = (): BatchStats => ({
  records: 0,
  events: 0,
  folded: 0,
  redelivered: 0,
  rejected: 0,
  duplicates: 0,
  late: 0,
  windowsWritten: 0,
  conditionalRetries: 0,
  anomalies: 0,
  etasWritten: 0,
  statesWritten: 0,
});

/**
 * Processes one batch. Throws when a write fails; the event source then retries the batch. `stats`
 * is filled in as the work is done, so a caller can still publish what a failed attempt did: its
 * retry then counts the events already folded as redelivered, and each event is counted once.
 */
export async function processBatch(
  records: SourceRecord[],
  deps: ProcessorDeps,
  stats: BatchStats = emptyBatchStats(),
): Promise<BatchOutcome> {
  const { store, reference, settings } = deps;
  const nowMs = (deps.clock ?? Date.now)();
  const nowIso = new Date(nowMs).toISOString();
  const size = settings.windowSizeMs;
  stats.records = records.length;

  // 1. Invalid events go to the dead-letter queue; a record whose dead letter cannot be sent is reported failed.
  const { valid, dead } = triageRecords(
    records,
    decodeCandidates,
    (value) => validateVehiclePosition(value, settings, nowMs),
    nowIso,
  );
  stats.events = valid.length + dead.length;
  stats.rejected = dead.length;
  const unsent = dead.length > 0 ? await deps.deadLetters.send(dead) : [];
  const failedItemIdentifiers = [...new Set(unsent.map((m) => m.record?.itemIdentifier ?? ''))].filter(Boolean);

  // 2. Read what the fold depends on: vehicle states and the vehicle windows (they hold the seen event ids).
  valid.sort((a, b) =>
    a.record.partition === b.record.partition
      ? a.position.localeCompare(b.position)
      : a.record.partition.localeCompare(b.record.partition),
  );
  const byVehicle = new Map<string, ValidEvent[]>();
  for (const item of valid) {
    const list = byVehicle.get(item.event.vehicleId) ?? [];
    list.push(item);
    byVehicle.set(item.event.vehicleId, list);
  }
  const states = await store.getVehicleStates([...byVehicle.keys()]);
  const vehicleRefs = new Map<string, WindowRef>();
  for (const { event } of valid) {
    const ref = { pk: vehicleWindowPk(event.vehicleId), windowStart: windowStartOf(event.ts, size) };
    vehicleRefs.set(windowKey(ref), ref);
  }
  const vehicleWindows = await store.getWindows([...vehicleRefs.values()]);

  // 3. Classify each event (duplicate, late, already folded, new) and advance each vehicle's track in event time.
  const groups = new Map<string, { id: WindowIdentity; contributions: Contribution[] }>();
  const contribute = (id: WindowIdentity, c: Contribution) => {
    const key = windowKey(id);
    const group = groups.get(key) ?? { id, contributions: [] };
    group.contributions.push(c);
    groups.set(key, group);
  };
  const lateEvents: LateEvent[] = [];
  const anomalies: Anomaly[] = [];
  /** Per vehicle and window, its folded fixes in order: the first one far from the baseline is the anomaly. */
  const speedCandidates = new Map<string, { windowStart: number; events: VehiclePosition[] }>();
  /** Per vehicle whose state moved: the state before the batch and every state its fixes produced, in order. */
  const updatedStates: Array<{ prev: VehicleState | undefined; state: VehicleState; track: VehicleState[] }> = [];
  const shapesById = new Map<string, ShapeRef>();

  for (const [vehicleId, items] of byVehicle) {
    const prev = states.get(vehicleId);
    let state = prev;
    let watermark = prev?.ts ?? Number.NEGATIVE_INFINITY;
    const seen = new Set<string>();
    const track: VehicleState[] = [];
    for (const { event, record, position } of items) {
      const windowStart = windowStartOf(event.ts, size);
      const vehicleKey = windowKey({ pk: vehicleWindowPk(vehicleId), windowStart });
      const vehicleWindow = vehicleWindows.get(vehicleKey);
      const foldedAt = vehicleWindow?.eventIds?.[event.eventId];
      // An id the engine folded has no known position (going back from the engine, `fromEngineRow`): the
      // record is a redelivery when the window holds its partition up to it or beyond.
      const redelivered =
        foldedAt === position ||
        (foldedAt === FOLDED_AT_UNKNOWN_POSITION && position <= (vehicleWindow?.positions[record.partition] ?? ''));
      if (seen.has(event.eventId) || (foldedAt !== undefined && !redelivered)) {
        stats.duplicates++;
        continue;
      }
      seen.add(event.eventId);
      if (!redelivered && windowStart + size + settings.allowedLatenessMs <= watermark) {
        lateEvents.push({
          routeId: event.routeId,
          windowStart,
          eventId: event.eventId,
          vehicleId,
          ts: event.ts,
          lateByMs: watermark - (windowStart + size),
          event,
          receivedAt: nowIso,
        });
        continue;
      }
      const windowEnd = windowStart + size;
      const c = { eventId: event.eventId, vehicleId, partition: record.partition, position, speedKmh: event.speedKmh };
      const base = { windowStart, windowEnd, routeId: event.routeId };
      contribute({ ...base, pk: vehicleWindowPk(vehicleId), entityType: 'vehicle', entityId: vehicleId }, c);
      contribute({ ...base, pk: routeWindowPk(event.routeId), entityType: 'route', entityId: event.routeId }, c);

      const candidatesKey = `${vehicleId}|${windowStart}`;
      const candidates = speedCandidates.get(candidatesKey);
      if (candidates) candidates.events.push(event);
      else speedCandidates.set(candidatesKey, { windowStart, events: [event] });

      if (event.ts > (state?.ts ?? Number.NEGATIVE_INFINITY)) {
        const shape = await shapeFor(event, reference, state);
        if (shape) shapesById.set(shape.shapeId, shape);
        const step = advanceTrack(state, event, shape, settings, nowIso);
        state = step.state;
        track.push(state);
        anomalies.push(...step.anomalies);
      }
      watermark = Math.max(watermark, event.ts);
    }
    if (state && state !== prev) updatedStates.push({ prev, state, track });
  }
  stats.late = lateEvents.length;

  // 4. One conditional write per (key, window); on a lost race, re-read and re-merge.
  const routeRefs = [...groups.values()].filter((g) => g.id.entityType === 'route').map((g) => g.id);
  const routeWindows = await store.getWindows(routeRefs);
  const changed: StoredWindow[] = [];
  await forEachLimited([...groups.entries()], WRITE_CONCURRENCY, async ([key, group]) => {
    let existing = vehicleWindows.get(key) ?? routeWindows.get(key);
    for (let attempt = 0; attempt < MAX_CONDITIONAL_ATTEMPTS; attempt++) {
      const { item, applied } = mergeWindow(existing, group.id, group.contributions, nowIso);
      // Each event has exactly one vehicle window, which knows every event it holds: count there.
      const countFolded = (folded: number) => {
        if (group.id.entityType !== 'vehicle') return;
        stats.folded += folded;
        stats.redelivered += group.contributions.length - folded;
      };
      if (applied.length === 0) return countFolded(0);
      if (await store.putWindow(item, existing?.version)) {
        changed.push(item);
        stats.windowsWritten++;
        countFolded(applied.length);
        return;
      }
      stats.conditionalRetries++;
      existing = (await store.getWindows([group.id])).get(key);
    }
    throw new ConcurrentUpdateError(`window ${key} changed ${MAX_CONDITIONAL_ATTEMPTS} times while being written`);
  });

  // 5. Baselines from the route's closed windows only: they hold every event they will ever hold (given
  //    the allowed lateness), so a score does not depend on how far other vehicles and partitions have
  //    been processed. One query per touched route window, as before.
  const baselines = new Map<string, Baseline>();
  await forEachLimited(routeRefs, WRITE_CONCURRENCY, async ({ routeId, windowStart }) => {
    const range = closedWindowsBefore(windowStart, BASELINE_WINDOWS, settings);
    const windows = await store.queryRouteWindows(routeId, range.from, range.to);
    baselines.set(`${routeId}|${windowStart}`, { ...speedBaseline(windows), ...range });
  });
  const baselineOf = (routeId: string, windowStart: number) => baselines.get(`${routeId}|${windowStart}`);

  // 6. Speed z-scores: per vehicle and window, the first fix (in the vehicle's order) beyond the threshold.
  for (const { windowStart, events } of speedCandidates.values()) {
    for (const event of events) {
      const baseline = baselineOf(event.routeId, windowStart);
      if (!baseline || baseline.count < MIN_BASELINE_COUNT || baseline.std < MIN_BASELINE_STD_KMH) continue;
      const z = (event.speedKmh - baseline.mean) / baseline.std;
      if (Math.abs(z) <= settings.speedZThreshold) continue;
      anomalies.push(
        makeAnomaly(
          'speed-zscore',
          windowStart,
          event,
          z,
          {
            speedKmh: event.speedKmh,
            baselineMeanKmh: Math.round(baseline.mean * 10) / 10,
            baselineStdKmh: Math.round(baseline.std * 10) / 10,
            baselineCount: baseline.count,
            baselineWindows: BASELINE_WINDOWS,
            baselineFrom: baseline.from,
            baselineTo: baseline.to + size,
            eventId: event.eventId,
          },
          settings,
          nowIso,
        ),
      );
      break;
    }
  }

  // 7. Late events are kept (idempotent by event id); ETAs are refreshed fix by fix in each vehicle's order
  //    and written once, from the last fix that refreshed them.
  if (lateEvents.length > 0) await deps.store.putLateEvents(lateEvents);
  const routeAverageOf = (state: VehicleState) => {
    const baseline = baselineOf(state.routeId, windowStartOf(state.ts, size));
    return baseline && baseline.count >= MIN_BASELINE_COUNT ? baseline.mean : undefined;
  };
  await forEachLimited(updatedStates, WRITE_CONCURRENCY, async ({ prev, state, track }) => {
    let previousShape = prev?.shapeId ? shapesById.get(prev.shapeId) : undefined;
    if (prev?.shapeId && !previousShape) {
      previousShape = (await reference.routeShapes(prev.routeId))?.get(prev.shapeId);
    }
    const fixes = track.map(
      (fix): EtaFix => ({
        state: fix,
        shape: fix.shapeId ? shapesById.get(fix.shapeId) : undefined,
        routeAverageKmh: routeAverageOf(fix),
      }),
    );
    const update = computeEtas(prev, fixes, previousShape, nowMs);
    if (update.computedTs !== undefined) state.etaComputedTs = update.computedTs;
    if (update.puts.length + update.deletes.length === 0) return;
    await store.writeEtas(update.puts, update.deletes);
    stats.etasWritten += update.puts.length;
  });

  // 8. Publish, then record anomalies, then states last: a retry after any failure sees the same starting
  //    state, re-detects the same anomalies and re-publishes (at least once) what may not have gone out.
  const known = anomalies.length > 0 ? await store.findAnomalies(anomalies) : new Set<string>();
  const newAnomalies = anomalies.filter((a) => !known.has(a.anomalyId));
  const output: OutputRecord[] = [
    ...updatedStates.map(({ state }): OutputRecord => ({ kind: 'vehicle', data: projectVehicleState(state) })),
    ...changed.map((window): OutputRecord => ({ kind: 'window', data: projectWindow(window) })),
    ...newAnomalies.map((anomaly): OutputRecord => ({ kind: 'anomaly', data: projectAnomaly(anomaly) })),
  ];
  if (output.length > 0) await deps.publisher.publish(output);
  await forEachLimited(newAnomalies, WRITE_CONCURRENCY, async (anomaly) => {
    if (await store.putAnomaly(anomaly)) stats.anomalies++;
  });
  await forEachLimited(updatedStates, WRITE_CONCURRENCY, async ({ state }) => {
    if (await store.putVehicleState(state)) stats.statesWritten++;
  });

  return { failedItemIdentifiers, stats };
}
