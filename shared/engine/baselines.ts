/**
 * Baselines from closed windows: the pooled `stats` of the `count` newest windows of one key of a
 * windows operator that are closed before a time, i.e. whose end plus the allowed lateness lies at or
 * before it (`closedWindowsBefore`). A detector judges an event against them (its speed against its
 * group's recent past) through `DetectorContext.baseline`.
 *
 * A closed window takes no more events from an entity whose watermark has passed its end plus the
 * lateness, so the baseline of an event is the same under any batching as long as every entity that
 * sends to those windows is at least that far along. An entity further behind (a producer that buffered
 * for minutes) can still add to them later; a baseline read before that is then a different one
 * (docs/engine.md, Detectors).
 *
 * The lookup sees the windows as they are after the running batch: the stored items plus the batch's
 * own contributions not folded into them yet, so it does not matter whether the batch has written a
 * baseline window yet when the detector asks (its writes run concurrently).
 */
import { isStatsAccumulator, type Json, type Moments, pooledStats, type StatsView } from './accumulators.js';
import { type Accepted, isFresh, operatorPk } from './operators/operator.js';
import type { WindowedAggregate } from './operators/windows.js';
import { type EngineStore, itemKeyOf, type StoredItem, windowSk } from './store.js';
import { closedWindowsBefore } from './window-assigners.js';

/** Which baseline: a `stats()` field of a windows operator, for one key, before a time. */
export interface BaselineRequest {
  operator: string;
  /** A field of the operator's aggregate made with `stats()`. */
  field: string;
  key: string;
  /** The windows must be closed at this time (usually the start of the window being judged), epoch ms. */
  before: number;
  /** How many closed windows, the newest ones. */
  windows: number;
}

/** The pooled statistics of a baseline's windows, and which windows those are. */
export interface ClosedBaseline extends StatsView {
  /** How many of the windows asked for hold at least one value. */
  windows: number;
  /** The span the windows cover, `[from, to)`: the oldest one's start and the newest one's end. */
  from: number;
  to: number;
}

/** A batch's contributions to an item (by `itemKey`), folded or not. */
export type PendingContributions = (itemKey: string) => ReadonlyArray<Accepted<unknown>> | undefined;

/** Why a (windows operator, field) cannot be a baseline, or undefined when it can. */
export function baselineProblem(
  operators: ReadonlyArray<{ kind: string; name: string }>,
  { operator, field }: { operator: string; field: string },
): string | undefined {
  const op = operators.find((o) => o.name === operator);
  if (op?.kind !== 'windows') return `"${operator}" is no windows operator`;
  const { windows, aggregate } = op as WindowedAggregate<unknown>;
  // Hopping windows overlap: pooling them would count each event several times.
  if (windows.kind !== 'tumbling') return `"${operator}" has ${windows.kind} windows, a baseline needs tumbling ones`;
  const f = aggregate[field];
  if (!f) return `"${operator}" has no field "${field}"`;
  if (!isStatsAccumulator(f.acc)) return `field "${field}" of "${operator}" is not a stats() field`;
  return undefined;
}

/** What a reader read of one (operator, field): per key, each range of windows once. */
interface Baselines {
  op: WindowedAggregate<unknown>;
  byKey: Map<string, Array<{ from: number; to: number; baseline: Promise<ClosedBaseline> }>>;
}

/**
 * Reads baselines, each (operator, field, key, windows) once per reader: one reader serves one batch
 * or one tick, during which closed windows do not change (see the module comment for when they can).
 */
export function baselineReader(
  pipeline: string,
  operators: ReadonlyArray<{ kind: string; name: string }>,
  allowedLatenessMs: number,
  store: EngineStore,
  pending?: PendingContributions,
): (request: BaselineRequest) => Promise<ClosedBaseline> {
  // A fold, a sink and a detector each ask for every event, so a request is found without building a
  // key: by operator, field and key (strings the definition and the event already hold), then among
  // the few ranges a batch reads for that key. Each (operator, field) is checked once.
  const cache = new Map<string, Map<string, Baselines>>();
  const baselinesOf = (request: BaselineRequest): Baselines => {
    let fields = cache.get(request.operator);
    if (!fields) {
      fields = new Map();
      cache.set(request.operator, fields);
    }
    let found = fields.get(request.field);
    if (!found) {
      const problem = baselineProblem(operators, request);
      if (problem) throw new RangeError(`pipeline ${pipeline}: no baseline from ${problem}`);
      const op = operators.find((o) => o.name === request.operator) as WindowedAggregate<unknown>;
      found = { op, byKey: new Map() };
      fields.set(request.field, found);
    }
    return found;
  };
  return (request) => {
    const { op, byKey } = baselinesOf(request);
    const { from, to } = closedWindowsBefore(request.before, request.windows, {
      windowSizeMs: op.windows.sizeMs,
      allowedLatenessMs,
    });
    let ranges = byKey.get(request.key);
    if (!ranges) {
      ranges = [];
      byKey.set(request.key, ranges);
    }
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i] as (typeof ranges)[number];
      if (range.from === from && range.to === to) return range.baseline;
    }
    const baseline = read(op, request, from, to);
    ranges.push({ from, to, baseline });
    return baseline;
  };

  async function read(
    op: WindowedAggregate<unknown>,
    { field, key }: BaselineRequest,
    from: number,
    to: number,
  ): Promise<ClosedBaseline> {
    const { acc, value } = op.aggregate[field] as WindowedAggregate<unknown>['aggregate'][string];
    const pk = operatorPk(pipeline, op.name, key);
    const stored = new Map<string, StoredItem>();
    for (const item of await store.query(pk, windowSk(from), windowSk(to))) stored.set(item.sk, item);
    const states: Moments[] = [];
    let windows = 0;
    for (let start = from; start <= to; start += op.windows.sizeMs) {
      const sk = windowSk(start);
      const item = stored.get(sk);
      const saved = (item?.body.agg as Record<string, Json> | undefined)?.[field] as Moments | undefined;
      let count = saved?.[0] ?? 0;
      if (saved) states.push(saved);
      // A window the tick closed refuses the batch's contributions (they are late for it).
      const batch = item?.body.closed ? undefined : pending?.(itemKeyOf(pk, sk));
      if (batch) {
        let state = acc.empty() as Moments;
        for (const c of batch) {
          if (item && !isFresh(c, item.positions)) continue;
          const v = value(c.event);
          if (v !== undefined) state = acc.add(state, v) as Moments;
        }
        states.push(state);
        count += state[0];
      }
      if (count > 0) windows++;
    }
    return { ...pooledStats(states), windows, from, to: to + op.windows.sizeMs };
  }
}
