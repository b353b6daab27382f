import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { count, sum } from '../../../shared/engine/accumulators.js';
import { field } from '../../../shared/engine/aggregate.js';
import type { IntervalJoin, JoinMatch } from '../../../shared/engine/operators/interval-join.js';
import type { KeyedState } from '../../../shared/engine/operators/keyed-state.js';
import { presentOpenSessions, type SessionWindows } from '../../../shared/engine/operators/sessions.js';
import { compile, runBatch, tick } from '../../../shared/engine/run-batch.js';
import { MemoryEngineStore } from '../../../shared/engine/store.js';
import {
  ALLOWED_LATENESS_MS,
  deliver,
  outputsOf,
  partitionsOf,
  type TestEvent,
  workload,
} from '../../helpers/engine-harness.js';
import { acceptedEvents, isLate, joinPairs, sessionContents } from '../../helpers/engine-oracle.js';

const RUNS = { numRuns: 150 };

describe('session windows', () => {
  const op: SessionWindows<TestEvent> = {
    kind: 'sessions',
    name: 'visits',
    key: (e) => e.entity,
    gapMs: 8_000,
    aggregate: {
      events: field(count(), () => 1),
      spent: field(sum(), (e) => (e.stream === 'order' ? e.value : undefined)),
    },
  };
  const compiled = compile({ pipeline: 'test', allowedLatenessMs: ALLOWED_LATENESS_MS, operators: [op] });

  it('are the oracle’s runs of on-time events, closed once the watermark passes last + gap + lateness', async () => {
    await fc.assert(
      fc.asyncProperty(workload, async (w) => {
        const partitions = partitionsOf(w);
        const events = acceptedEvents(partitions, compiled.horizonMs);
        const want = sessionContents(events, op.key, op.gapMs, ALLOWED_LATENESS_MS).map((s) => ({
          sessionId: `${s.key}|${s.start}`,
          start: s.start,
          end: s.end,
          events: s.events.length,
          spent: s.events.filter((e) => e.stream === 'order').reduce((a, e) => a + e.value, 0),
          final: s.end + op.gapMs + ALLOWED_LATENESS_MS <= s.watermark,
        }));

        const { store } = await deliver(compiled, partitions, w.schedule);

        const closed = outputsOf(store, 's#');
        const open = [...store.items.values()]
          .filter((i) => i.sk === 'sessions')
          .flatMap((i) => presentOpenSessions(op, i));
        const got = [...closed, ...open].map((s) => ({
          sessionId: s.sessionId,
          start: s.start,
          end: s.end,
          events: s.events,
          spent: s.spent,
          final: s.final,
        }));
        const bySession = (a: { sessionId: unknown }, b: { sessionId: unknown }) =>
          String(a.sessionId).localeCompare(String(b.sessionId));
        expect(got.sort(bySession)).toEqual(want.sort(bySession));
      }),
      RUNS,
    );
  });

  it('closes the session of a key gone quiet at a tick, once, and counts a later event in it as late', async () => {
    const store = new MemoryEngineStore();
    const event = (i: number, ts: number) => ({
      event: { entity: 'u1', item: 'i0', value: 1, stream: 'click' as const, ts },
      eventId: `u1-${i}`,
      ts,
      entity: 'u1',
      stream: 'click',
      partition: 'p0',
      position: String(i).padStart(4, '0'),
    });
    await runBatch(compiled, [event(0, 1_000), event(1, 4_000)], store, { now: 5_000 });

    const early = await tick(compiled, store, { now: 4_000 + op.gapMs + ALLOWED_LATENESS_MS - 1 });
    const due = await tick(compiled, store, { now: 4_000 + op.gapMs + ALLOWED_LATENESS_MS });
    const again = await tick(compiled, store, { now: 100_000 });
    const late = await runBatch(compiled, [event(2, 9_000)], store, { now: 100_000 });

    expect(early.updates).toEqual([]);
    expect(due.updates).toEqual([
      expect.objectContaining({ final: true, value: expect.objectContaining({ start: 1_000, end: 4_000, events: 2 }) }),
    ]);
    expect(again.updates).toEqual([]);
    expect(late.late.map((l) => l.eventId)).toEqual(['u1-2']);
    expect(outputsOf(store, 's#')).toHaveLength(1);
  });
});

describe('keyed state', () => {
  /** Per entity, the ids of its events in fold order and a running total: any reordering or repeat shows. */
  const op: KeyedState<TestEvent, { ids: string[]; total: number; late: number }> = {
    kind: 'state',
    name: 'profile',
    key: (e) => e.entity,
    fold: (state, e, meta) => {
      const s = state ?? { ids: [], total: 0, late: 0 };
      s.ids.push(meta.eventId);
      s.total += e.value;
      if (meta.late) s.late++;
      return s;
    },
  };
  const compiled = compile({ pipeline: 'test', allowedLatenessMs: ALLOWED_LATENESS_MS, operators: [op] });

  it('folds each entity’s events once, in its partition’s order, whatever the batching', async () => {
    await fc.assert(
      fc.asyncProperty(workload, async (w) => {
        const partitions = partitionsOf(w);
        const events = acceptedEvents(partitions, compiled.horizonMs).filter((e) => !e.expired);
        const want = new Map<string, { ids: string[]; total: number; late: number }>();
        for (const e of events) {
          const s = want.get(e.entity) ?? { ids: [], total: 0, late: 0 };
          s.ids.push(e.eventId);
          s.total += e.event.value;
          if (isLate(e, ALLOWED_LATENESS_MS)) s.late++;
          want.set(e.entity, s);
        }

        const { store } = await deliver(compiled, partitions, w.schedule);

        const got = new Map(
          [...store.items.values()].filter((i) => i.sk === 'state').map((i) => [i.body.key, i.body.state]),
        );
        expect(got).toEqual(want);
      }),
      RUNS,
    );
  });

  it('forgets a key whose newest event is older than its TTL', async () => {
    const ttl = compile({
      pipeline: 'test',
      allowedLatenessMs: ALLOWED_LATENESS_MS,
      operators: [{ ...op, ttlMs: 60_000 }],
    });
    const store = new MemoryEngineStore();
    const event = (i: number, ts: number) => ({
      event: { entity: 'u1', item: 'i0', value: 10, stream: 'click' as const, ts },
      eventId: `u1-${i}`,
      ts,
      entity: 'u1',
      stream: 'click',
      partition: 'p0',
      position: String(i).padStart(4, '0'),
    });
    await runBatch(ttl, [event(0, 1_000)], store, { now: 2_000 });

    const fresh = await runBatch(ttl, [event(1, 2_000)], store, { now: 30_000 });
    const expired = await runBatch(ttl, [event(2, 200_000)], store, { now: 200_000 });

    expect(fresh.updates[0]?.value.state).toMatchObject({ total: 20 });
    expect(expired.updates[0]?.value).toMatchObject({ previous: null, state: { total: 10, ids: ['u1-2'] } });
  });
});

describe('interval join', () => {
  const op: IntervalJoin<TestEvent> = {
    kind: 'join',
    name: 'attribution',
    left: { stream: 'order', key: (e) => `${e.entity}|${e.item}`, keep: (e) => ({ value: e.value }) },
    right: { stream: 'click', key: (e) => `${e.entity}|${e.item}`, keep: (e) => ({ value: e.value }) },
    lowerMs: -20_000,
    upperMs: 0,
  };
  const compiled = compile({ pipeline: 'test', allowedLatenessMs: ALLOWED_LATENESS_MS, operators: [op] });

  it('matches every on-time pair in the interval exactly once, whichever side arrives first', async () => {
    await fc.assert(
      fc.asyncProperty(workload, async (w) => {
        const partitions = partitionsOf(w);
        const events = acceptedEvents(partitions, compiled.horizonMs).filter((e) => !e.expired);
        const want = joinPairs(events, { left: 'order', right: 'click' }, op.left.key, op, ALLOWED_LATENESS_MS);

        const { store } = await deliver(compiled, partitions, w.schedule);

        const matches = outputsOf(store, 'm#') as unknown as JoinMatch[];
        expect(matches.map((m) => m.matchId).sort()).toEqual(want);
        for (const m of matches) expect(m.right.ts - m.left.ts).toBeLessThanOrEqual(0);
      }),
      RUNS,
    );
  });

  it('keeps a buffered event only while an on-time event could still match it', async () => {
    const store = new MemoryEngineStore();
    const event = (i: number, stream: 'click' | 'order', ts: number) => ({
      event: { entity: 'u1', item: 'i0', value: i, stream, ts },
      eventId: `u1-${i}`,
      ts,
      entity: 'u1',
      stream,
      partition: 'p0',
      position: String(i).padStart(4, '0'),
    });

    await runBatch(compiled, [event(0, 'click', 1_000), event(1, 'order', 30_000)], store, { now: 0 });

    const item = [...store.items.values()].find((i) => i.sk === 'join');
    // The click is 29 s before the order: outside the 20 s interval, and past its use once the order's time is seen.
    expect(outputsOf(store, 'm#')).toEqual([]);
    expect(item?.body).toMatchObject({ right: [], left: [expect.objectContaining({ eventId: 'u1-1' })] });
    expect(item?.expiresAt).toBe(30_000 + ALLOWED_LATENESS_MS);
  });
});

describe('definitions', () => {
  it('refuses a definition with every problem named', () => {
    expect(() =>
      compile({
        pipeline: 'Bad Name',
        allowedLatenessMs: -1,
        operators: [
          { kind: 'state', name: 'dup', key: () => 'k', fold: () => 1 },
          { kind: 'state', name: 'dup', key: () => 'k', fold: () => 1 },
          {
            kind: 'join',
            name: 'j',
            left: { stream: 'a', key: () => 'k' },
            right: { stream: 'b', key: () => 'k' },
            lowerMs: 5,
            upperMs: 1,
          },
        ],
      }),
    ).toThrow(
      /pipeline name "Bad Name".*allowedLatenessMs.*"dup" is used twice.*operator j: join j: lowerMs 5 is above upperMs 1/,
    );
  });
});
