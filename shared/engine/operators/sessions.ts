/**
 * Session windows per key: a session is a run of events each less than `gapMs` after the previous
 * one. A session is final once its key's watermark (the newest event time folded into it) or, for a
 * key gone quiet, the processing clock at a tick passes `last event + gap + allowed lateness`; it is
 * then written once as an output and removed from the key's open sessions.
 *
 * An event is late for sessions when its time is the allowed lateness or more behind its entity's
 * watermark. That rule (rather than Flink's "its own session window is late") is what makes closing
 * safe: any event that could still join a session closed by the watermark is late by it. So the
 * sessions are the same however the events were batched, provided the key is the entity (the
 * partition key); a session key spanning partitions closes in processing order.
 */
import type { Json } from '../accumulators.js';
import {
  type AggregateSpec,
  type AggregateState,
  addToAggregate,
  emptyAggregate,
  loadAggregate,
  mergeAggregates,
  presentAggregate,
  saveAggregate,
} from '../aggregate.js';
import type { OutputItem, StoredItem } from '../store.js';
import {
  type Accepted,
  type Applied,
  contribute,
  type OperatorRuntime,
  operatorPk,
  type Routed,
  type Update,
} from './operator.js';

export interface SessionWindows<E> {
  kind: 'sessions';
  name: string;
  streams?: string[];
  key: (event: E) => string;
  gapMs: number;
  aggregate: AggregateSpec<E>;
}

/** A session as presented: its first and last event times and its aggregate. */
export interface SessionValue {
  key: string;
  sessionId: string;
  start: number;
  end: number;
  durationMs: number;
  final: boolean;
  [field: string]: unknown;
}

interface OpenSession {
  start: number;
  last: number;
  agg: AggregateState;
}

export const SESSIONS_SK = 'sessions';
export const sessionSk = (start: number) => `s#${String(start).padStart(16, '0')}`;

type StoredSession = { start: number; last: number; agg: Record<string, Json> };

function loadSessions<E>(op: SessionWindows<E>, body: Record<string, Json> | undefined): OpenSession[] {
  return ((body?.sessions as StoredSession[] | undefined) ?? []).map((s) => ({
    start: s.start,
    last: s.last,
    agg: loadAggregate(op.aggregate, s.agg),
  }));
}

function presentSession<E>(op: SessionWindows<E>, key: string, s: OpenSession, final: boolean): SessionValue {
  return {
    key,
    sessionId: `${key}|${s.start}`,
    start: s.start,
    end: s.last,
    durationMs: s.last - s.start,
    final,
    ...presentAggregate(op.aggregate, s.agg),
  };
}

/** The open sessions of a stored sessions item, presented. */
export function presentOpenSessions<E>(op: SessionWindows<E>, item: Pick<StoredItem, 'body'>): SessionValue[] {
  const key = item.body.key as string;
  return loadSessions(op, item.body).map((s) => presentSession(op, key, s, false));
}

export function sessionsRuntime<E>(pipeline: string, op: SessionWindows<E>): OperatorRuntime<E> {
  /** Closes the sessions due at `watermark`; returns the item's new fields and the closed sessions' outputs. */
  function settle(
    pk: string,
    key: string,
    sessions: OpenSession[],
    closedThrough: number,
    watermark: number,
    allowedLatenessMs: number,
  ): Applied {
    const outputs: OutputItem[] = [];
    const updates: Update[] = [];
    const open: OpenSession[] = [];
    let through = closedThrough;
    for (const s of sessions) {
      if (s.last + op.gapMs + allowedLatenessMs <= watermark) {
        const value = presentSession(op, key, s, true);
        outputs.push({ pk, sk: sessionSk(s.start), body: value as unknown as Record<string, Json> });
        updates.push({ operator: op.name, kind: 'session', key, value, final: true });
        through = Math.max(through, s.last);
      } else {
        open.push(s);
        updates.push({
          operator: op.name,
          kind: 'session',
          key,
          value: presentSession(op, key, s, false),
          final: false,
        });
      }
    }
    const body: Record<string, Json> = {
      key,
      sessions: open.map((s) => ({ start: s.start, last: s.last, agg: saveAggregate(op.aggregate, s.agg) })),
      // JSON has no infinities: a key with nothing closed (or nothing folded) stores null.
      closedThrough: Number.isFinite(through) ? through : null,
      watermark: Number.isFinite(watermark) ? watermark : null,
    };
    const closeAt = open.length === 0 ? undefined : Math.min(...open.map((s) => s.last)) + op.gapMs + allowedLatenessMs;
    return { body, ...(closeAt === undefined ? {} : { closeAt }), outputs, updates, late: [] };
  }

  return {
    name: op.name,
    spanMs: op.gapMs,

    route(accepted, { allowedLatenessMs }) {
      const routed: Routed<E> = { items: new Map(), late: [] };
      for (const c of accepted) {
        const groupKey = op.key(c.event);
        if (c.ts + allowedLatenessMs <= c.watermark) {
          routed.late.push({
            contribution: c,
            lateness: { operator: op.name, key: groupKey, start: c.ts, end: c.ts + op.gapMs },
          });
        } else {
          contribute(routed.items, operatorPk(pipeline, op.name, groupKey), SESSIONS_SK, groupKey, c);
        }
      }
      return routed;
    },

    apply(existing, { key, groupKey }, fresh, { allowedLatenessMs }): Applied {
      let sessions = loadSessions(op, existing?.body);
      const closedThrough = (existing?.body.closedThrough as number | null | undefined) ?? Number.NEGATIVE_INFINITY;
      let watermark = (existing?.body.watermark as number | null | undefined) ?? Number.NEGATIVE_INFINITY;
      const late: Applied['late'] = [];
      for (const c of fresh) {
        if (c.ts < closedThrough + op.gapMs) {
          // Only a tick can have closed a session this event would join (see the file comment).
          late.push({
            contribution: c as Accepted<unknown>,
            lateness: { operator: op.name, key: groupKey, start: c.ts, end: c.ts + op.gapMs },
          });
          continue;
        }
        const joined: OpenSession = {
          start: c.ts,
          last: c.ts,
          agg: addToAggregate(op.aggregate, emptyAggregate(op.aggregate), c.event),
        };
        const rest: OpenSession[] = [];
        for (const s of sessions) {
          if (c.ts - s.last < op.gapMs && s.start - c.ts < op.gapMs) {
            joined.start = Math.min(joined.start, s.start);
            joined.last = Math.max(joined.last, s.last);
            joined.agg = mergeAggregates(op.aggregate, s.agg, joined.agg);
          } else rest.push(s);
        }
        sessions = [...rest, joined].sort((a, b) => a.start - b.start);
        watermark = Math.max(watermark, c.ts);
      }
      const applied = settle(key.pk, groupKey, sessions, closedThrough, watermark, allowedLatenessMs);
      return { ...applied, late };
    },

    close(item, { now, allowedLatenessMs }) {
      const body = item.body;
      const key = body.key as string;
      // At a tick the processing clock stands in for the watermark of a key that went quiet.
      const watermark = Math.max((body.watermark as number | null) ?? Number.NEGATIVE_INFINITY, now);
      const closedThrough = (body.closedThrough as number | null) ?? Number.NEGATIVE_INFINITY;
      const applied = settle(item.pk, key, loadSessions(op, body), closedThrough, watermark, allowedLatenessMs);
      if (applied.outputs.length === 0) return undefined;
      return {
        ...applied,
        body: { ...applied.body, watermark: body.watermark ?? null },
        updates: applied.updates.filter((u) => u.final),
      };
    },
  };
}
