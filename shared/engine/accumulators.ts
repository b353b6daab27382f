/**
 * Accumulators: the "what" of an aggregation, apart from the "where" (window assigners) and the "when"
 * (watermarks, ticks). Each has the Flink shape `empty / add / merge / present`; its state is plain
 * JSON (or has `save` / `load` to and from JSON) so the engine can store a window's partial aggregate
 * in DynamoDB or PostgreSQL as it is.
 *
 * `merge` makes partial aggregation possible: a batch folds its events into a fresh state, which is
 * then merged into the stored one with a single write.
 */
import { DDSketch } from '@datadog/sketches-js';

/** A JSON value: what accumulator states are made of. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * An aggregation over values of type `In`, with a working state `S` and a result `Out`. The state is
 * stored as JSON: as it is, or through `save` and `load` when the working form is not JSON (a sketch).
 */
export interface Accumulator<In, S, Out> {
  empty(): S;
  /** Folds one value in. May return a new state or the same object changed: callers own `state`. */
  add(state: S, value: In): S;
  /**
   * The state of the union of both inputs' values. Never changes `b`, and changes `a` only when `a`
   * came from `load` or `empty`: a stored state is read as it is, not copied, so a plain-JSON state
   * must be merged into a new value.
   */
  merge(a: S, b: S): S;
  present(state: S): Out;
  save?(state: S): Json;
  load?(stored: Json): S;
}

/** Any accumulator, as stored in an aggregate definition. */
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous accumulators of one aggregate
export type AnyAccumulator = Accumulator<any, any, any>;

/** How many values were added. */
export const count = (): Accumulator<unknown, number, number> => ({
  empty: () => 0,
  add: (n) => n + 1,
  merge: (a, b) => a + b,
  present: (n) => n,
});

export const sum = (): Accumulator<number, number, number> => ({
  empty: () => 0,
  add: (s, v) => s + v,
  merge: (a, b) => a + b,
  present: (s) => s,
});

/** The smallest value, or null before any value. */
export const min = (): Accumulator<number, number | null, number | null> => ({
  empty: () => null,
  add: (m, v) => (m === null || v < m ? v : m),
  merge: (a, b) => (a === null ? b : b === null ? a : Math.min(a, b)),
  present: (m) => m,
});

/** The largest value, or null before any value. */
export const max = (): Accumulator<number, number | null, number | null> => ({
  empty: () => null,
  add: (m, v) => (m === null || v > m ? v : m),
  merge: (a, b) => (a === null ? b : b === null ? a : Math.max(a, b)),
  present: (m) => m,
});

/** Count, mean and M2 (sum of squared deviations), merged with Chan et al.'s parallel formula. */
export type Moments = [n: number, mean: number, m2: number];

/** Changes `m` in place (`add` owns its state): a new array per value was most of a window's garbage. */
/** By index, not by destructuring: destructuring an array makes an iterator, per value added. */
const addMoment = (m: Moments, v: number): Moments => {
  const n1 = m[0] + 1;
  const delta = v - m[1];
  const mean1 = m[1] + delta / n1;
  m[0] = n1;
  m[1] = mean1;
  m[2] += delta * (v - mean1);
  return m;
};

const mergeMoments = (a: Moments, b: Moments): Moments => {
  if (a[0] === 0) return b;
  if (b[0] === 0) return a;
  const n = a[0] + b[0];
  const delta = b[1] - a[1];
  return [n, a[1] + (delta * b[0]) / n, a[2] + b[2] + (delta * delta * a[0] * b[0]) / n];
};

/**
 * Welford's running moments rather than sums of squares: with large values (epoch milliseconds,
 * amounts in cents) `sumSq / n - mean²` loses every significant digit to cancellation.
 */
const moments = <Out>(present: (m: Moments) => Out): Accumulator<number, Moments, Out> => ({
  empty: () => [0, 0, 0],
  add: addMoment,
  merge: mergeMoments,
  present,
});

/** The arithmetic mean, or null before any value. */
export const mean = () => moments(([n, m]) => (n === 0 ? null : m));

/** What `stats()` presents: count, mean, population variance and standard deviation (null before any value). */
export interface StatsView {
  count: number;
  mean: number | null;
  variance: number | null;
  std: number | null;
}

const presentStats = ([n, m, m2]: Moments): StatsView => ({
  count: n,
  mean: n === 0 ? null : m,
  variance: n === 0 ? null : m2 / n,
  std: n === 0 ? null : Math.sqrt(m2 / n),
});

/** The accumulators `stats()` made, so a definition can be checked for a field whose state is `Moments`. */
const statsAccumulators = new WeakSet<object>();

/** Count, mean, population variance and standard deviation: what a z-score against a baseline needs. */
export const stats = () => {
  const acc = moments(presentStats);
  statsAccumulators.add(acc);
  return acc;
};

/** Whether an accumulator is a `stats()` one, whose stored state is `Moments`. */
export const isStatsAccumulator = (acc: object) => statsAccumulators.has(acc);

/**
 * The statistics of the union of several `stats()` states (windows of a baseline), as `stats()`
 * presents them: the moments are merged pairwise with Chan's formula, not re-derived from sums of
 * squares, which lose every digit to cancellation when the spread is small beside the mean. The states
 * are read, never changed.
 */
export function pooledStats(states: ReadonlyArray<Moments>): StatsView {
  let pooled: Moments = [0, 0, 0];
  for (const state of states) pooled = mergeMoments(pooled, state);
  return presentStats(pooled);
}

/** Population variance, or null before any value. */
export const variance = () => moments(([n, , m2]) => (n === 0 ? null : m2 / n));

/**
 * The number of distinct values, exactly: the state is the sorted set of values. Suited to the tens or
 * thousands of members a window holds (vehicles on a route, donors of a stream); for millions a
 * HyperLogLog sketch would be the choice.
 */
export const distinctCount = (): Accumulator<string, string[], number> => ({
  empty: () => [],
  add: (set, v) => insertSorted(set, v),
  merge: (a, b) => mergeSorted(a, b),
  present: (set) => set.length,
});

function insertSorted(set: string[], v: string): string[] {
  let lo = 0;
  let hi = set.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((set[mid] as string) < v) lo = mid + 1;
    else hi = mid;
  }
  if (set[lo] !== v) set.splice(lo, 0, v);
  return set;
}

function mergeSorted(a: string[], b: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x < y)) {
      out.push(x as string);
      i++;
    } else if (x === undefined || y < x) {
      out.push(y);
      j++;
    } else {
      out.push(x);
      i++;
      j++;
    }
  }
  return out;
}

/**
 * Every value added, in fold order, repeats included. The engine folds an event into an item once, so
 * a value unique to the event (its id) appears once: for those, this is the set `distinctCount` keeps,
 * for an append instead of a sorted insert and merge (which took a tenth of transit's window throughput).
 */
export const collect = <T extends Json>(): Accumulator<T, T[], T[]> => ({
  empty: () => [],
  add: (list, v) => {
    list.push(v);
    return list;
  },
  merge: (a, b) => a.concat(b),
  present: (list) => list,
});

/** A value contributed to a top-N: a member and how much it adds to that member's total. */
export interface Weighted {
  member: string;
  weight: number;
}

/**
 * The `n` members with the largest totals, exactly. The state keeps every member's total, because a
 * member outside the top N of one partial aggregate can be inside it after a merge; ties are broken by
 * member so the order is deterministic.
 */
export const topN = (n: number): Accumulator<Weighted, Record<string, number>, Weighted[]> => ({
  empty: () => ({}),
  add: (totals, { member, weight }) => {
    totals[member] = (totals[member] ?? 0) + weight;
    return totals;
  },
  merge: (a, b) => {
    const out = { ...a };
    for (const [member, weight] of Object.entries(b)) out[member] = (out[member] ?? 0) + weight;
    return out;
  },
  present: (totals) =>
    Object.entries(totals)
      .map(([member, weight]) => ({ member, weight }))
      .sort((x, y) => y.weight - x.weight || (x.member < y.member ? -1 : x.member > y.member ? 1 : 0))
      .slice(0, n),
});

/** Quantiles asked of a sketch, e.g. `[0.5, 0.85, 0.99]`, presented as `{ p50: ..., p85: ..., p99: ... }`. */
export type QuantileView = Record<string, number | null>;

interface SketchState {
  sketch: DDSketch;
  min: number | null;
  max: number | null;
}

/** The name a quantile is presented under: 0.5 → p50, 0.999 → p99_9. */
export const quantileName = (q: number) => `p${Math.round(q * 1000) / 10}`.replace('.', '_');

/**
 * Quantiles from a DDSketch: every estimate within `relativeAccuracy` of the true quantile's value,
 * mergeable, a few hundred bytes. Stored as the sketch's protobuf in base64; the protobuf keeps no min
 * and max, so they travel beside it and bound the estimates (a quantile of one value is that value).
 */
export function percentiles(
  quantiles: number[],
  relativeAccuracy = 0.01,
): Accumulator<number, SketchState, QuantileView> {
  for (const q of quantiles) {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside [0, 1]`);
  }
  return {
    empty: () => ({ sketch: new DDSketch({ relativeAccuracy }), min: null, max: null }),
    add: (state, v) => {
      state.sketch.accept(v);
      state.min = state.min === null ? v : Math.min(state.min, v);
      state.max = state.max === null ? v : Math.max(state.max, v);
      return state;
    },
    merge: (a, b) => {
      if (b.min === null || b.max === null) return a;
      a.sketch.merge(b.sketch);
      a.min = a.min === null ? b.min : Math.min(a.min, b.min);
      a.max = a.max === null ? b.max : Math.max(a.max, b.max);
      return a;
    },
    present: ({ sketch, min: lo, max: hi }) => {
      const view: QuantileView = {};
      for (const q of quantiles) {
        view[quantileName(q)] =
          lo === null || hi === null ? null : Math.min(hi, Math.max(lo, sketch.getValueAtQuantile(q)));
      }
      return view;
    },
    save: ({ sketch, min: lo, max: hi }) => ({
      sketch: Buffer.from(sketch.toProto()).toString('base64'),
      min: lo,
      max: hi,
    }),
    load: (stored) => {
      const { sketch, min: lo, max: hi } = stored as { sketch: string; min: number | null; max: number | null };
      return { sketch: DDSketch.fromProto(Buffer.from(sketch, 'base64')), min: lo, max: hi };
    },
  };
}
