import { describe, expect, it } from 'vitest';
import { presentWindow, type WindowedAggregate } from '../../../shared/engine/operators/windows.js';
import { runBatch, tick } from '../../../shared/engine/run-batch.js';
import { MemoryEngineStore } from '../../../shared/engine/store.js';
import { tumbling } from '../../../shared/engine/window-assigners.js';
import { ALLOWED_LATENESS_MS, type TestEvent, type TestRecord } from '../../helpers/engine-harness.js';
import {
  attributionOperator,
  everyAccumulator,
  profileOperator,
  sessionsOperator,
  testPipeline,
} from '../../helpers/engine-properties.js';

/** The i-th record of entity u1 on partition p0. */
const record = (i: number, ts: number, stream: 'click' | 'order' = 'click', value = i): TestRecord => ({
  event: { entity: 'u1', item: 'i0', value, stream, ts },
  eventId: `u1-${i}`,
  ts,
  entity: 'u1',
  stream,
  partition: 'p0',
  position: String(i).padStart(4, '0'),
});

describe('windows closed by the watermark', () => {
  const op: WindowedAggregate<TestEvent> = {
    kind: 'windows',
    name: 'w',
    key: (e) => e.item,
    windows: tumbling(10_000),
    aggregate: everyAccumulator,
    closeBy: 'watermark',
  };
  const compiled = testPipeline(op);

  it('are never due, so the tick closes nothing and nothing is ever final', async () => {
    const store = new MemoryEngineStore();
    const first = await runBatch(compiled, [record(0, 1_000)], store, { now: 2_000 });

    const ticked = await tick(compiled, store, { now: 10 * 60_000 });

    expect(ticked).toMatchObject({ closed: 0, updates: [] });
    expect(first.updates.map((u) => u.final)).toEqual([false]);
    expect([...store.items.values()].filter((item) => item.closeAt !== undefined)).toEqual([]);
  });

  it("take an entity's buffered events long after the processing clock passed the window", async () => {
    const store = new MemoryEngineStore();
    await runBatch(compiled, [record(0, 1_000)], store, { now: 2_000 });
    await tick(compiled, store, { now: 10 * 60_000 });

    const late = await runBatch(compiled, [record(1, 9_000), record(2, 30_000)], store, { now: 10 * 60_000 });

    expect(late.late).toEqual([]);
    const [window] = await store.query('test#w#i0', 'w#', 'w#~');
    expect(presentWindow(op, window!)).toMatchObject({ windowStart: 0, events: 2, final: false });
  });

  it("still refuse what is behind the entity's own watermark by more than the lateness", async () => {
    const store = new MemoryEngineStore();
    await runBatch(compiled, [record(0, 1_000), record(1, 10_000 + ALLOWED_LATENESS_MS + 5_000)], store, { now: 0 });

    const result = await runBatch(compiled, [record(2, 9_000)], store, { now: 0 });

    expect(result.late).toEqual([
      expect.objectContaining({ eventId: 'u1-2', missed: [expect.objectContaining({ start: 0 })] }),
    ]);
  });

  it('are refused with anything else as closeBy, naming the operator', () => {
    expect(() => testPipeline({ ...op, closeBy: 'time' as 'tick' })).toThrow(
      'pipeline test: operator w: closeBy must be tick or watermark, got time',
    );
  });
});

describe('window closing', () => {
  const op: WindowedAggregate<TestEvent> = {
    kind: 'windows',
    name: 'w',
    key: (e) => e.item,
    windows: tumbling(10_000),
    aggregate: everyAccumulator,
  };
  const compiled = testPipeline(op);

  it('emits a final result once the window end plus the lateness has passed, and only once', async () => {
    const store = new MemoryEngineStore();
    await runBatch(compiled, [record(0, 1_000), record(1, 2_000)], store, { now: 3_000 });

    const early = await tick(compiled, store, { now: 10_000 + ALLOWED_LATENESS_MS - 1 });
    const due = await tick(compiled, store, { now: 10_000 + ALLOWED_LATENESS_MS });
    const again = await tick(compiled, store, { now: 60_000 });

    expect(early.closed).toBe(0);
    expect(due.closed).toBe(1);
    expect(due.updates).toEqual([
      expect.objectContaining({ final: true, value: expect.objectContaining({ events: 2, total: 1, final: true }) }),
    ]);
    expect(again.closed).toBe(0);
  });

  it('counts an event for a window the tick closed as late, not folded', async () => {
    const store = new MemoryEngineStore();
    await runBatch(compiled, [record(0, 1_000)], store, { now: 2_000 });
    await tick(compiled, store, { now: 20_000 });

    const result = await runBatch(compiled, [record(1, 9_000)], store, { now: 20_000 });

    expect(result.late).toEqual([
      expect.objectContaining({ eventId: 'u1-1', missed: [expect.objectContaining({ start: 0 })] }),
    ]);
    const item = store.items.get('test#w#i0|w#0000000000000000');
    expect(presentWindow(op, item as NonNullable<typeof item>)).toMatchObject({ events: 1, final: true });
  });
});

describe('session closing', () => {
  const compiled = testPipeline(sessionsOperator);
  const closesAt = 4_000 + sessionsOperator.gapMs + ALLOWED_LATENESS_MS;

  it('closes the session of a key gone quiet at a tick, once, and counts a later event in it as late', async () => {
    const store = new MemoryEngineStore();
    await runBatch(compiled, [record(0, 1_000), record(1, 4_000)], store, { now: 5_000 });

    const early = await tick(compiled, store, { now: closesAt - 1 });
    const due = await tick(compiled, store, { now: closesAt });
    const again = await tick(compiled, store, { now: 100_000 });
    const late = await runBatch(compiled, [record(2, 9_000)], store, { now: 100_000 });

    expect(early.updates).toEqual([]);
    expect(due.updates).toEqual([
      expect.objectContaining({ final: true, value: expect.objectContaining({ start: 1_000, end: 4_000, events: 2 }) }),
    ]);
    expect(again.updates).toEqual([]);
    expect(late.late.map((l) => l.eventId)).toEqual(['u1-2']);
    expect([...store.outputs.keys()].filter((k) => k.includes('|s#'))).toHaveLength(1);
  });

  it('keeps the finals of a tick whose publish failed in the closed item, and the next tick publishes them as they were', async () => {
    const store = new MemoryEngineStore();
    await runBatch(compiled, [record(0, 1_000), record(1, 4_000)], store, { now: 5_000 });
    const failing = async () => {
      throw new Error('output stream throttled');
    };
    const sent: unknown[] = [];

    await expect(tick(compiled, store, { now: closesAt, beforeCommit: failing })).rejects.toThrow('throttled');
    // Closed already: an event of the session now is late, and the item is still due, its finals kept.
    const meanwhile = await runBatch(compiled, [record(2, 4_500)], store, { now: closesAt });
    const retried = await tick(compiled, store, {
      now: closesAt + 1,
      beforeCommit: async ({ updates }) => void sent.push(...updates),
    });
    const after = await tick(compiled, store, { now: 100_000 });

    expect(meanwhile.late.map((l) => l.eventId)).toEqual(['u1-2']);
    expect(sent).toEqual([
      expect.objectContaining({ final: true, value: expect.objectContaining({ start: 1_000, end: 4_000, events: 2 }) }),
    ]);
    expect([retried.closed, after.closed]).toEqual([1, 0]);
    expect(
      [...store.items.values()].filter((item) => item.closeAt !== undefined || '@tickOutbox' in item.body),
    ).toEqual([]);
  });
});

describe('keyed state TTL', () => {
  const compiled = testPipeline({ ...profileOperator, ttlMs: 60_000 });

  it('forgets a key whose newest event is older than its TTL', async () => {
    const store = new MemoryEngineStore();
    await runBatch(compiled, [record(0, 1_000, 'click', 10)], store, { now: 2_000 });

    const fresh = await runBatch(compiled, [record(1, 2_000, 'click', 10)], store, { now: 30_000 });
    const expired = await runBatch(compiled, [record(2, 200_000, 'click', 10)], store, { now: 200_000 });

    expect(fresh.updates[0]?.value.state).toMatchObject({ total: 20 });
    expect(expired.updates[0]?.value).toMatchObject({ previous: null, state: { total: 10, ids: ['u1-2'] } });
  });
});

describe('keyed state folds', () => {
  const compiled = testPipeline({
    kind: 'state',
    name: 'seen',
    key: (e: TestEvent) => e.entity,
    fold: (state: { last: string; at: number; now: number } | undefined, _e: TestEvent, meta) =>
      meta.ts > (state?.at ?? -1) ? { last: meta.eventId, at: meta.ts, now: meta.now } : (state as never),
  });

  it("see the batch's processing time and report the state after each event, older ones keeping it", async () => {
    const store = new MemoryEngineStore();

    const { updates } = await runBatch(compiled, [record(0, 1_000), record(1, 3_000), record(2, 2_000)], store, {
      now: 50_000,
    });

    const first = { last: 'u1-0', at: 1_000, now: 50_000 };
    const second = { last: 'u1-1', at: 3_000, now: 50_000 };
    expect(updates[0]?.value).toEqual({ key: 'u1', previous: null, state: second, steps: [first, second, second] });
  });
});

describe('interval join buffers', () => {
  const compiled = testPipeline(attributionOperator);

  it('keep an event only while an on-time event could still match it', async () => {
    const store = new MemoryEngineStore();

    await runBatch(compiled, [record(0, 1_000, 'click'), record(1, 30_000, 'order')], store, { now: 0 });

    const item = store.items.get('test#attribution#u1|i0|join');
    // The click is 29 s before the order: outside the 20 s interval, and of no use once the order's time is seen.
    expect(store.outputs.size).toBe(0);
    expect(item?.body).toMatchObject({ right: [], left: [expect.objectContaining({ eventId: 'u1-1' })] });
    expect(item?.expiresAt).toBe(30_000 + ALLOWED_LATENESS_MS);
  });
});
