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
}

export const STATE_SK = 'state';

export function keyedStateRuntime<E, S extends Json>(
  pipeline: string,
  op: KeyedState<E, S>,
  allowedLatenessMs: number,
): OperatorRuntime<E> {
  return {
    name: op.name,
    spanMs: 0,

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

    apply(existing, { groupKey }, fresh, { now }): Applied {
      const alive = existing && (existing.expiresAt === undefined || existing.expiresAt > now);
      const before = alive ? (existing.body.state as S) : undefined;
      let state = before;
      const steps: S[] = [];
      let lastTs = alive ? (existing.body.lastTs as number) : Number.NEGATIVE_INFINITY;
      for (const c of fresh) {
        state = op.fold(state, c.event, {
          eventId: c.eventId,
          ts: c.ts,
          late: c.ts + allowedLatenessMs <= c.watermark,
          now,
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
