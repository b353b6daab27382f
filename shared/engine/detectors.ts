/**
 * Detectors: rules over the operators' updates (a window's value, a state's change, a closed
 * session), returning detections with deterministic ids. The batch runner writes a detection once, as
 * an output, before the item whose update produced it, so a retried batch neither loses nor repeats it.
 *
 * A detector sees an update as the batch produced it. Over a window's live updates that depends on
 * where batches were cut (a value may cross a threshold and fall back within one batch); a detector
 * that must not depend on it watches final updates (`finalOnly`), keyed state whose fold sees every
 * event (`sequence`), or the events themselves (`eventZScore`): with each update it gets the events that
 * write folded into the item, in partition order.
 */
import type { Json } from './accumulators.js';
import { type BaselineRequest, baselineReader, type ClosedBaseline, type PendingContributions } from './baselines.js';
import type { EngineInput, Update } from './operators/operator.js';
import { queryWindows, type WindowValue } from './operators/windows.js';
import type { CompiledPipeline } from './run-batch.js';
import type { EngineStore, OutputItem } from './store.js';
import { closedWindowsBefore } from './window-assigners.js';

export interface Detection {
  /** The same update always gives the same id: it is the detection's identity in the store. */
  detectionId: string;
  detector: string;
  /** The group key it concerns (a route, a user). */
  key: string;
  /** The event time it concerns (a window start, an event's time), epoch ms. */
  ts: number;
  /** Evidence, in the detector's words. */
  details: Record<string, unknown>;
}

export interface DetectorContext {
  /** The processing time of the batch (or tick) attempt, epoch ms: when a detection made now was made. */
  now: number;
  /** The presented windows of an operator's key with a start in [from, to], oldest first. */
  windows(operator: string, key: string, from: number, to: number): Promise<WindowValue[]>;
  /**
   * The pooled `stats` of the newest closed windows of a windows operator's key before a time (see
   * `baselines.ts`), as they are after the running batch; read once per batch for the same request.
   */
  baseline(request: BaselineRequest): Promise<ClosedBaseline>;
  /** The detection stored under this detector, time and id, if one is. */
  detection(detector: string, ts: number, detectionId: string): Promise<Detection | undefined>;
  /** The detections stored under this detector for a key with a time in [from, to]. */
  detectionsBetween(detector: string, key: string, from: number, to: number): Promise<Detection[]>;
}

/** An event a write folded into an item, as a detector sees it. */
export type FoldedEvent<E> = Pick<EngineInput<E>, 'event' | 'eventId' | 'ts' | 'entity' | 'partition' | 'position'>;

export interface Detector<E = unknown> {
  name: string;
  /** The operator whose updates it watches. */
  on: string;
  /** The kind of operator `on` must be, checked when the pipeline compiles. @default any */
  onKind?: 'windows' | 'sessions' | 'state' | 'join';
  /**
   * It judges final results only, so `compile` refuses it on windows closed by the watermark, which have
   * none (it would never fire). @default false
   */
  finalsOnly?: boolean;
  /** The baselines it reads through `ctx.baseline`, checked when the pipeline compiles. @default none */
  baselines?: ReadonlyArray<{ operator: string; field: string }>;
  /**
   * Its detections' `ts` is the time of the event whose fold made them (a keyed state's step). A retry
   * that replays an item its failed attempt wrote (before publishing) then also reports the stored
   * detections of the item's key at the times of the batch's events: a replay has no `steps`, so
   * `detect` alone would find nothing and they would never be published. @default false
   */
  atEventTime?: boolean;
  /**
   * `events` are the ones this write folded into the update's item (the batch's contributions the item
   * did not hold yet), in partition order; none for the tick's finals. A retry of a write that failed
   * gets the same events again, with those of any other cut of the batch.
   */
  detect(
    update: Update,
    ctx: DetectorContext,
    events: ReadonlyArray<FoldedEvent<E>>,
  ): Detection[] | Promise<Detection[]>;
}

/** Where detections are kept: one partition per detector, newest last by time. */
export const detectionPk = (pipeline: string, detector: string) => `${pipeline}#@detect#${detector}`;
export const detectionSk = (d: Pick<Detection, 'ts' | 'detectionId'>) =>
  `${String(d.ts).padStart(16, '0')}#${d.detectionId}`;

export function detectionOutput(pipeline: string, d: Detection): OutputItem {
  return { pk: detectionPk(pipeline, d.detector), sk: detectionSk(d), body: d as unknown as Record<string, Json> };
}

/**
 * What detectors read during one batch (with the batch's contributions to each item, so a baseline
 * includes what the batch adds to it) or one tick (without).
 */
export function detectorContext<E>(
  compiled: CompiledPipeline<E>,
  store: EngineStore,
  now: number,
  pending?: PendingContributions,
): DetectorContext {
  const { pipeline, operators, allowedLatenessMs } = compiled.definition;
  return {
    now,
    windows: (operator, key, from, to) => queryWindows(store, pipeline, operators, operator, { key, from, to }),
    baseline: baselineReader(pipeline, operators, allowedLatenessMs, store, pending),
    async detection(detector, ts, detectionId) {
      const sk = detectionSk({ ts, detectionId });
      // Consistent: the batch before this one may have written it a moment ago.
      const range = { from: sk, to: sk, limit: 1, consistent: true };
      const [found] = await store.queryOutputs(detectionPk(pipeline, detector), range);
      return found?.body as unknown as Detection | undefined;
    },
    async detectionsBetween(detector, key, from, to) {
      const found: Detection[] = [];
      const range = {
        from: detectionSk({ ts: from, detectionId: '' }),
        to: detectionSk({ ts: to, detectionId: '\uffff' }),
      };
      let after: string | undefined;
      for (;;) {
        const page = await store.queryOutputs(detectionPk(pipeline, detector), {
          ...range,
          limit: 100,
          consistent: true,
          ...(after === undefined ? {} : { after }),
        });
        for (const output of page) {
          const detection = output.body as unknown as Detection;
          if (detection.key === key) found.push(detection);
        }
        if (page.length < 100) return found;
        after = page.at(-1)?.sk;
      }
    },
  };
}

const NO_EVENTS: ReadonlyArray<FoldedEvent<never>> = Object.freeze([]);

/**
 * Runs every detector watching the updates' operators; `events` are what the write folded into their
 * item. The detections, in order; a promise of them only once some detector returns one, so a batch
 * item whose detectors are synchronous (most state rules) waits for nothing.
 */
export function runDetectors<E>(
  compiled: CompiledPipeline<E>,
  ctx: DetectorContext,
  updates: Update[],
  events: ReadonlyArray<FoldedEvent<E>> = NO_EVENTS,
): Detection[] | Promise<Detection[]> {
  const detectors = compiled.definition.detectors ?? [];
  if (detectors.length === 0 || updates.length === 0) return [];
  return detectFrom({ detectors, ctx, updates, events, found: [] }, 0, 0);
}

interface Detecting<E> {
  detectors: ReadonlyArray<Detector<E>>;
  ctx: DetectorContext;
  updates: Update[];
  events: ReadonlyArray<FoldedEvent<E>>;
  found: Detection[];
}

/** The detectors from update `from`'s detector `next` on, synchronously until one returns a promise. */
function detectFrom<E>(run: Detecting<E>, from: number, next: number): Detection[] | Promise<Detection[]> {
  const { detectors, ctx, updates, events, found } = run;
  for (let u = from; u < updates.length; u++) {
    const update = updates[u] as Update;
    for (let d = u === from ? next : 0; d < detectors.length; d++) {
      const detector = detectors[d] as Detector<E>;
      if (detector.on !== update.operator) continue;
      const detections = detector.detect(update, ctx, events);
      if (!Array.isArray(detections)) {
        return detections.then((list) => {
          for (let i = 0; i < list.length; i++) found.push(list[i] as Detection);
          return detectFrom(run, u, d + 1);
        });
      }
      for (let i = 0; i < detections.length; i++) found.push(detections[i] as Detection);
    }
  }
  return found;
}

/** A rule on one update's value: fires when `when` holds, once per (key, window or state) id. */
export function threshold(options: {
  name: string;
  on: string;
  /** Only closed windows and sessions. @default false */
  finalOnly?: boolean;
  when: (value: Record<string, unknown>) => boolean;
  /** What identifies one occurrence: by default the window start (or session id), so it fires once per window. */
  occurrence?: (update: Update) => { id: string; ts: number };
  details?: (value: Record<string, unknown>) => Record<string, unknown>;
}): Detector {
  const occurrence =
    options.occurrence ??
    ((u: Update) => {
      const ts = (u.value.windowStart ?? u.value.start ?? 0) as number;
      return { id: `${u.key}|${ts}`, ts };
    });
  return {
    name: options.name,
    on: options.on,
    ...(options.finalOnly ? { finalsOnly: true } : {}),
    detect(update) {
      if (options.finalOnly && !update.final) return [];
      if (!options.when(update.value)) return [];
      const { id, ts } = occurrence(update);
      return [
        {
          detectionId: `${options.name}|${id}`,
          detector: options.name,
          key: update.key,
          ts,
          details: options.details ? options.details(update.value) : update.value,
        },
      ];
    },
  };
}

/**
 * A window's value far from its key's own baseline: z = (value − mean) / std over the `baselineWindows`
 * newest closed windows before it (their end plus the allowed lateness at or before its start, so
 * their content no longer depends on processing order). Judged on final windows.
 */
export function zScore(options: {
  name: string;
  on: string;
  value: (window: WindowValue) => number;
  threshold: number;
  baselineWindows: number;
  /** Fewer closed windows than this (or no spread) and nothing is judged. @default 3 */
  minWindows?: number;
  /** The operator's window size and the pipeline's allowed lateness, to know which windows are closed. */
  windowSizeMs: number;
  allowedLatenessMs: number;
}): Detector {
  const minWindows = options.minWindows ?? 3;
  const size = options.windowSizeMs;
  return {
    name: options.name,
    on: options.on,
    finalsOnly: true,
    async detect(update, ctx) {
      if (!update.final || update.kind !== 'window') return [];
      const window = update.value as WindowValue;
      const { from, to } = closedWindowsBefore(window.windowStart, options.baselineWindows, {
        windowSizeMs: size,
        allowedLatenessMs: options.allowedLatenessMs,
      });
      const baseline = (await ctx.windows(options.on, update.key, from, to)).map(options.value);
      if (baseline.length < minWindows) return [];
      const mean = baseline.reduce((a, b) => a + b, 0) / baseline.length;
      const std = Math.sqrt(baseline.reduce((a, v) => a + (v - mean) ** 2, 0) / baseline.length);
      if (std === 0) return [];
      const value = options.value(window);
      const z = (value - mean) / std;
      if (Math.abs(z) < options.threshold) return [];
      return [
        {
          detectionId: `${options.name}|${update.key}|${window.windowStart}`,
          detector: options.name,
          key: update.key,
          ts: window.windowStart,
          details: {
            value,
            z,
            baselineMean: mean,
            baselineStd: std,
            baselineWindows: baseline.length,
            baselineFrom: from,
            baselineTo: to + size,
          },
        },
      ];
    },
  };
}

/** An event `eventZScore` found beyond its threshold, and what it was judged against. */
export interface JudgedEvent<E> {
  event: E;
  eventId: string;
  ts: number;
  value: number;
  z: number;
  /** The start of the item's window. */
  windowStart: number;
  baseline: ClosedBaseline;
  /** The processing time of the attempt that judged it (epoch ms); a stored detection keeps its first. */
  now: number;
}

/**
 * Each event's value against a pooled baseline: the `stats` field of `baseline.operator`'s
 * `baselineWindows` newest windows, for the event's `baseline.key`, that are closed before the start of
 * the event's window in `on` (see `baselines.ts`). Judged when the baseline holds at least `minCount`
 * values and its standard deviation is positive and at least `minStd`; an event is a detection when
 * |z| is strictly above `threshold`.
 *
 * One detection per item of `on` (a key's window): the first event beyond the threshold, with the id
 * `name|key|windowStart`. Detections are written once, before the item, and an item folds its events
 * in partition order, each batch's after the last one it holds; so the first one written is the first
 * in partition order, under any cuts, retries and redeliveries. That holds when the item's key takes
 * events from one partition (key `on` by the entity) and the baseline windows no longer change
 * (docs/engine.md, Detectors, has the limits). A later batch's crossing in the same item is not reported
 * again; a retry reports the stored detection again when its event is among the retry's.
 */
export function eventZScore<E>(options: {
  name: string;
  /** The windows operator whose events are scored, best keyed by the entity (a user's, a device's windows). */
  on: string;
  /** Where the baseline comes from: a `stats()` field of a tumbling windows operator, and the event's key there. */
  baseline: { operator: string; field: string; key: (event: E) => string };
  baselineWindows: number;
  /** The event's value; `undefined` skips the event. */
  value: (event: E) => number | undefined;
  /** |z| strictly above this is a detection. */
  threshold: number;
  /** Fewer baseline values than this and nothing is judged. @default 2 */
  minCount?: number;
  /** A baseline standard deviation below this (or zero) and nothing is judged. @default 0 */
  minStd?: number;
  /** The detection's details; the event's `eventId` is always added. @default the value, z and baseline */
  details?: (judged: JudgedEvent<E>) => Record<string, unknown>;
}): Detector<E> {
  const { name, threshold: limit, baselineWindows } = options;
  const { operator, field, key: baselineKey } = options.baseline;
  const minCount = options.minCount ?? 2;
  const minStd = options.minStd ?? 0;
  if (!Number.isInteger(baselineWindows) || baselineWindows < 1)
    throw new RangeError(`detector ${name}: baselineWindows must be a positive integer, got ${baselineWindows}`);
  const details =
    options.details ??
    ((j: JudgedEvent<E>) => ({
      ts: j.ts,
      value: j.value,
      z: j.z,
      baselineCount: j.baseline.count,
      baselineMean: j.baseline.mean,
      baselineStd: j.baseline.std,
      baselineWindows: j.baseline.windows,
      baselineFrom: j.baseline.from,
      baselineTo: j.baseline.to,
    }));
  return {
    name,
    on: options.on,
    onKind: 'windows',
    baselines: [{ operator, field }],
    async detect(update, ctx, events) {
      if (update.kind !== 'window' || events.length === 0) return [];
      const windowStart = update.value.windowStart as number;
      for (const e of events) {
        const value = options.value(e.event);
        if (value === undefined || !Number.isFinite(value)) continue;
        const baseline = await ctx.baseline({
          operator,
          field,
          key: baselineKey(e.event),
          before: windowStart,
          windows: baselineWindows,
        });
        const { count, mean, std } = baseline;
        if (count < minCount || mean === null || std === null || std === 0 || std < minStd) continue;
        const z = (value - mean) / std;
        if (!(Math.abs(z) > limit)) continue;
        const detectionId = `${name}|${update.key}|${windowStart}`;
        const stored = await ctx.detection(name, windowStart, detectionId);
        // Stored by an earlier write: a retry's (its event is among these) is reported again, at least
        // once; an earlier batch's crossing stays the item's only one.
        if (stored) return events.some((f) => f.eventId === stored.details.eventId) ? [stored] : [];
        const judged: JudgedEvent<E> = {
          event: e.event,
          eventId: e.eventId,
          ts: e.ts,
          value,
          z,
          windowStart,
          baseline,
          now: ctx.now,
        };
        return [
          {
            detectionId,
            detector: name,
            key: update.key,
            ts: windowStart,
            details: { ...details(judged), eventId: e.eventId },
          },
        ];
      }
      return [];
    },
  };
}

/** The state of a `sequence` detector's operator: recent matches, and the occurrences found. */
export interface SequenceState {
  [key: string]: Json;
  recent: Array<{ eventId: string; ts: number }>;
  found: Array<{ eventIds: string[]; ts: number }>;
}

/**
 * A CEP-style sequence, "`count` matching events of a key within `withinMs`" (three failed payments
 * in ten minutes), as keyed state whose fold sees every event in order, and the detector reporting
 * each occurrence the fold found. After an occurrence its events are spent: the next one needs
 * `count` new matches.
 */
export function sequence<E>(options: {
  name: string;
  key: (event: E) => string;
  match: (event: E) => boolean;
  count: number;
  withinMs: number;
  streams?: string[];
}) {
  const operator = {
    kind: 'state' as const,
    name: `${options.name}-state`,
    ...(options.streams ? { streams: options.streams } : {}),
    key: options.key,
    ttlMs: options.withinMs,
    fold: (state: SequenceState | undefined, event: E, meta: { eventId: string; ts: number; late: boolean }) => {
      const s: SequenceState = state ?? { recent: [], found: [] };
      if (meta.late || !options.match(event)) return s;
      const recent = [...s.recent, { eventId: meta.eventId, ts: meta.ts }]
        .sort((a, b) => a.ts - b.ts)
        .filter((m, _, all) => m.ts > (all[all.length - 1] as { ts: number }).ts - options.withinMs);
      if (recent.length < options.count) return { recent, found: s.found };
      return { recent: [], found: [...s.found.slice(-9), { eventIds: recent.map((m) => m.eventId), ts: meta.ts }] };
    },
  };
  const detector: Detector = {
    name: options.name,
    on: operator.name,
    detect(update) {
      // A replayed state knows no previous one, so every occurrence it keeps would look new.
      if (update.replayed) return [];
      const before = new Set(((update.value.previous as SequenceState | null)?.found ?? []).map((f) => f.eventIds[0]));
      return ((update.value.state as SequenceState).found ?? [])
        .filter((f) => !before.has(f.eventIds[0]))
        .map((f) => ({
          detectionId: `${options.name}|${update.key}|${f.eventIds[0]}`,
          detector: options.name,
          key: update.key,
          ts: f.ts,
          details: { eventIds: f.eventIds, count: f.eventIds.length, withinMs: options.withinMs },
        }));
    },
  };
  return { operator, detector };
}
