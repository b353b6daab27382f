/**
 * Keyed state: one value per key, folded from the key's events in their partition's order (a
 * vehicle's last position and track, a user's running totals), forgotten `ttlMs` after the key's
 * newest event time once the processing clock passes it.
 *
 * The fold sees late events too, flagged, because what "late" means for a state is the pipeline's
 * call (a vehicle state ignores fixes older than its own; a user's total spend counts every purchase).
 * Keyed by the entity (the partition key), the fold order is the entity's own event order; keyed by
 * anything else, events of several partitions interleave in processing order, so the fold must then
 * be order-insensitive (sums, counts, max) to be deterministic.
 */
import type { Json } from '../accumulators.js';
import type { BaselineRequest, ClosedBaseline } from '../baselines.js';
import { type Applied, contribute, type OperatorRuntime, operatorPk, type Routed } from './operator.js';

/** What a fold knows of the event besides its value. */
export interface FoldMeta {
  eventId: string;
  ts: number;
  /** The event time is at least the allowed lateness behind its entity's watermark. */
  late: boolean;
  /**
   * The batch's processing time (epoch ms), the same for every event of an attempt. For a state that
   * records when it changed; a retry of a failed attempt folds again with its own time.
   */
  now: number;
  /** The fold's declared baselines for this event, by name (`KeyedState.baselines`); empty when it declares none. */
  baselines: Readonly<Record<string, ClosedBaseline>>;
}

/**
 * A baseline a fold reads for each event: the pooled `stats()` field of the newest closed windows of a
 * windows operator's key (`baselines.ts`), e.g. a route's recent average speed for a vehicle's ETA. Closed
 * windows no longer change (`baselines.ts` says when they still can), so the fold stays a function of
 * the key's events. The engine reads it before the fold, which is synchronous, once per batch and request.
 */
export interface StateBaseline<E> {
  /** A windows operator of the pipeline with tumbling windows. */
  operator: string;
  /** A `stats()` field of its aggregate. */
  field: string;
  /** How many closed windows, the newest ones. */
  windows: number;
  /** The operator's key for the event. */
  key: (event: E) => string;
  /** The windows must be closed at this time, usually the start of the event's own window (epoch ms). */
  before: (event: E) => number;
}

export interface KeyedState<E, S extends Json> {
  kind: 'state';
  name: string;
  streams?: string[];
  key: (event: E) => string;
  /**
   * The next state, as a new value: `state` is the stored one (or the previous fold's result) and
   * must not be changed. Keeping folds pure is what lets the engine hand the stored state over uncopied.
   */
  fold: (state: S | undefined, event: E, meta: FoldMeta) => S;
  /** Forget a key this long after its newest event (event time); kept forever when omitted. */
  ttlMs?: number;
  /** Baselines the fold reads for each event, by the name `FoldMeta.baselines` gives them under. */
  baselines?: Record<string, StateBaseline<E>>;
}

const NO_BASELINES: Readonly<Record<string, ClosedBaseline>> = Object.freeze({});

/** The request a declared baseline makes for one event. */
export const stateBaselineRequest = <E>(b: StateBaseline<E>, event: E): BaselineRequest => ({
  operator: b.operator,
  field: b.field,
  windows: b.windows,
  key: b.key(event),
  before: b.before(event),
});

export const STATE_SK = 'state';

export function keyedStateRuntime<E, S extends Json>(
  pipeline: string,
  op: KeyedState<E, S>,
  allowedLatenessMs: number,
): OperatorRuntime<E> {
  const named = op.baselines && Object.entries(op.baselines);
  return {
    name: op.name,
    spanMs: 0,

    // Only a state that reads baselines has a lookup: the batch runner skips it (and its await) otherwise.
    // Every read is asked for at once and awaited together: one promise per item, not one per event.
    ...(named && {
      lookup: async (fresh, read) => {
        const reads: Array<Promise<ClosedBaseline>> = [];
        for (const c of fresh) for (const [, b] of named) reads.push(read(stateBaselineRequest(b, c.event)));
        const values = await Promise.all(reads);
        let at = 0;
        return fresh.map(() => {
          const found: Record<string, ClosedBaseline> = {};
          for (const [name] of named) found[name] = values[at++] as ClosedBaseline;
          return found;
        });
      },
    }),

    route(accepted) {
      const routed: Routed<E> = { items: new Map(), late: [] };
      for (const c of accepted) {
        if (c.expired) continue;
        const groupKey = op.key(c.event);
        contribute(routed.items, operatorPk(pipeline, op.name, groupKey), STATE_SK, groupKey, c);
      }
      return routed;
    },

    replay(item, { now }) {
      // Expired: it reads as absent, so there is nothing to report.
      if (item.expiresAt !== undefined && item.expiresAt <= now) return [];
      const state = item.body.state as S;
      const key = item.body.key as string;
      return [
        {
          operator: op.name,
          kind: 'state',
          key,
          value: { key, state, previous: null, steps: [] },
          final: false,
          replayed: true,
        },
      ];
    },

    apply(existing, { groupKey }, fresh, { now }, lookups): Applied {
      const alive = existing && (existing.expiresAt === undefined || existing.expiresAt > now);
      const before = alive ? (existing.body.state as S) : undefined;
      let state = before;
      const steps: S[] = [];
      let lastTs = alive ? (existing.body.lastTs as number) : Number.NEGATIVE_INFINITY;
      for (let index = 0; index < fresh.length; index++) {
        const c = fresh[index] as (typeof fresh)[number];
        state = op.fold(state, c.event, {
          eventId: c.eventId,
          ts: c.ts,
          late: c.ts + allowedLatenessMs <= c.watermark,
          now,
          baselines: lookups?.[index] ?? NO_BASELINES,
        });
        steps.push(state);
        lastTs = Math.max(lastTs, c.ts);
      }
      const body: Record<string, Json> = { key: groupKey, state: state as Json, lastTs };
      return {
        body,
        ...(op.ttlMs === undefined ? {} : { expiresAt: lastTs + op.ttlMs }),
        outputs: [],
        updates: [
          {
            operator: op.name,
            kind: 'state',
            key: groupKey,
            // `steps`: the state after each fresh event, in fold order, for a detector that judges every
            // event's effect rather than the batch's last one (a state that keeps what its last event found).
            value: { key: groupKey, state, previous: before ?? null, steps },
            final: false,
          },
        ],
        late: [],
      };
    },
  };
}
