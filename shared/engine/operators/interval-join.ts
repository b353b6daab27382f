/**
 * A stream-stream interval join: a left event (an order) matches every right event (a click) of the
 * same key whose time lies in `[left.ts + lowerMs, left.ts + upperMs]` (e.g. -30 min .. 0: the clicks
 * in the half hour before the order). Both sides are buffered per key, so a match is found whichever
 * of its two events is processed first; each match is written once, as an output with the id of its
 * pair, before the buffer that produced it.
 *
 * An event leaves the buffer once no on-time event can match it any more: a left event when the key's
 * watermark passes `ts + upperMs + lateness`, a right event at `ts - lowerMs + lateness`. An event is
 * late for the join when its time is the allowed lateness or more behind its entity's watermark; with
 * the key's events all of one entity (a user's orders and clicks), no on-time match is ever missed.
 * The buffer of a key gone quiet expires with the item (`expiresAt`).
 */
import type { Json } from '../accumulators.js';
import type { OutputItem } from '../store.js';
import {
  type Accepted,
  type Applied,
  contribute,
  type OperatorRuntime,
  operatorPk,
  type Routed,
  type Update,
} from './operator.js';

export interface JoinSide<E> {
  stream: string;
  key: (event: E) => string;
  /** What of the event the buffer keeps and a match carries; the whole event when omitted. */
  keep?: (event: E) => Json;
}

export interface IntervalJoin<E> {
  kind: 'join';
  name: string;
  left: JoinSide<E>;
  right: JoinSide<E>;
  /** Bounds of `right.ts - left.ts`, inclusive. */
  lowerMs: number;
  upperMs: number;
}

interface Buffered {
  eventId: string;
  ts: number;
  value: Json;
}

/** A match as written and published. */
export interface JoinMatch {
  key: string;
  matchId: string;
  left: Buffered;
  right: Buffered;
}

export const JOIN_SK = 'join';
export const matchSk = (leftId: string, rightId: string) => `m#${leftId}#${rightId}`;

export function intervalJoinRuntime<E>(pipeline: string, op: IntervalJoin<E>): OperatorRuntime<E> {
  if (op.lowerMs > op.upperMs)
    throw new RangeError(`join ${op.name}: lowerMs ${op.lowerMs} is above upperMs ${op.upperMs}`);
  const sideOf = (c: Accepted<E>) =>
    c.stream === op.left.stream ? op.left : c.stream === op.right.stream ? op.right : undefined;

  return {
    name: op.name,
    spanMs: Math.max(Math.abs(op.lowerMs), Math.abs(op.upperMs)),

    route(accepted, { allowedLatenessMs }) {
      const routed: Routed<E> = { items: new Map(), late: [] };
      for (const c of accepted) {
        const side = sideOf(c);
        if (!side) continue;
        const groupKey = side.key(c.event);
        if (c.ts + allowedLatenessMs <= c.watermark) {
          routed.late.push({ contribution: c, lateness: { operator: op.name, key: groupKey, start: c.ts, end: c.ts } });
        } else {
          contribute(routed.items, operatorPk(pipeline, op.name, groupKey), JOIN_SK, groupKey, c);
        }
      }
      return routed;
    },

    apply(stored, { key, groupKey }, fresh, { now, allowedLatenessMs }): Applied {
      // A buffer past its expiry holds nothing an on-time event could still match.
      const existing = stored && (stored.expiresAt === undefined || stored.expiresAt > now) ? stored : undefined;
      const left = [...((existing?.body.left as unknown as Buffered[]) ?? [])];
      const right = [...((existing?.body.right as unknown as Buffered[]) ?? [])];
      let watermark = (existing?.body.watermark as number | null | undefined) ?? Number.NEGATIVE_INFINITY;
      const outputs: OutputItem[] = [];
      const updates: Update[] = [];
      const match = (l: Buffered, r: Buffered) => {
        const d = r.ts - l.ts;
        if (d < op.lowerMs || d > op.upperMs) return;
        const value: JoinMatch = { key: groupKey, matchId: `${l.eventId}|${r.eventId}`, left: l, right: r };
        outputs.push({ pk: key.pk, sk: matchSk(l.eventId, r.eventId), body: value as unknown as Record<string, Json> });
        updates.push({
          operator: op.name,
          kind: 'match',
          key: groupKey,
          value: value as unknown as Record<string, unknown>,
          final: true,
        });
      };
      for (const c of fresh) {
        const isLeft = c.stream === op.left.stream;
        const side = isLeft ? op.left : op.right;
        const entry: Buffered = {
          eventId: c.eventId,
          ts: c.ts,
          value: side.keep ? side.keep(c.event) : (c.event as Json),
        };
        if (isLeft) {
          for (const r of right) match(entry, r);
          left.push(entry);
        } else {
          for (const l of left) match(l, entry);
          right.push(entry);
        }
        watermark = Math.max(watermark, c.ts);
      }
      const keptLeft = left.filter((l) => l.ts + op.upperMs + allowedLatenessMs > watermark);
      const keptRight = right.filter((r) => r.ts - op.lowerMs + allowedLatenessMs > watermark);
      const expiries = [
        ...keptLeft.map((l) => l.ts + op.upperMs + allowedLatenessMs),
        ...keptRight.map((r) => r.ts - op.lowerMs + allowedLatenessMs),
      ];
      const body: Record<string, Json> = {
        key: groupKey,
        left: keptLeft as unknown as Json,
        right: keptRight as unknown as Json,
        watermark,
      };
      return {
        body,
        ...(expiries.length > 0 ? { expiresAt: Math.max(...expiries) } : {}),
        outputs,
        updates,
        late: [],
      };
    },
  };
}
