/**
 * A retry that finds an item already written by its failed earlier attempt reports the item's stored
 * value again (and its detections as stored), so that what the failed attempt never published is
 * published by the retry: at least once, not at most once.
 */
import { describe, expect, it } from 'vitest';
import { type Detector, sequence, threshold } from '../../../shared/engine/detectors.js';
import type { WindowedAggregate } from '../../../shared/engine/operators/windows.js';
import { compile, runBatch } from '../../../shared/engine/run-batch.js';
import { MemoryEngineStore } from '../../../shared/engine/store.js';
import { tumbling } from '../../../shared/engine/window-assigners.js';
import {
  ALLOWED_LATENESS_MS,
  FaultyStore,
  InjectedWriteFailure,
  type TestEvent,
  type TestRecord,
} from '../../helpers/engine-harness.js';
import { everyAccumulator, profileOperator, testPipeline } from '../../helpers/engine-properties.js';

const record = (i: number, ts: number, value: number): TestRecord => ({
  event: { entity: 'u1', item: 'i0', value, stream: 'click', ts },
  eventId: `u1-${i}`,
  ts,
  entity: 'u1',
  stream: 'click',
  partition: 'p0',
  position: String(i).padStart(4, '0'),
});

const windows: WindowedAggregate<TestEvent> = {
  kind: 'windows',
  name: 'w',
  key: (e) => e.item,
  windows: tumbling(10_000),
  aggregate: everyAccumulator,
};
const compiled = compile({
  pipeline: 'test',
  allowedLatenessMs: ALLOWED_LATENESS_MS,
  operators: [windows],
  detectors: [threshold({ name: 'big', on: 'w', when: (v) => (v.total as number) >= 10 })],
});

/** The batch's first attempt fails after `writes` writes; the retry gets the same records. */
async function failThenRetry(c: typeof compiled, records: TestRecord[], writes: number) {
  const memory = new MemoryEngineStore();
  const store = new FaultyStore(memory);
  store.failAfterWrites = writes;
  await expect(runBatch(c, records, store, { now: 5_000 })).rejects.toThrow(InjectedWriteFailure);
  store.failAfterWrites = undefined;
  return { memory, retry: await runBatch(c, records, store, { now: 5_000 }) };
}

describe('a retry after its attempt wrote an item and failed', () => {
  // Writes: the detection (1), the window (2), then the entity commit fails.
  const records = [record(0, 1_000, 4), record(1, 2_000, 7)];

  it("reports the window's stored value again, marked replayed, and writes it no more", async () => {
    const { memory, retry } = await failThenRetry(compiled, records, 2);

    expect(retry.updates).toEqual([
      expect.objectContaining({ operator: 'w', key: 'i0', replayed: true, final: false }),
    ]);
    expect(retry.updates[0]?.value).toMatchObject({ windowStart: 0, events: 2, total: 11 });
    expect(retry.stats.itemsWritten).toBe(0);
    expect([...memory.items.values()].find((i) => i.pk === 'test#w#i0')?.version).toBe(1);
  });

  it('reports the detection the failed attempt stored, once stored', async () => {
    const { memory, retry } = await failThenRetry(compiled, records, 2);

    expect(retry.detections).toEqual([expect.objectContaining({ detector: 'big', key: 'i0', ts: 0 })]);
    expect([...memory.outputs.values()].filter((o) => o.pk === 'test#@detect#big')).toHaveLength(1);
    expect(retry.stats.outputsWritten).toBe(0);
  });

  it('reports a keyed state again without its previous value or steps, which it no longer knows', async () => {
    const { retry } = await failThenRetry(testPipeline(profileOperator), records, 1);

    expect(retry.updates).toEqual([
      expect.objectContaining({
        operator: 'profile',
        replayed: true,
        value: { key: 'u1', state: { ids: ['u1-0', 'u1-1'], total: 11, late: 0 }, previous: null, steps: [] },
      }),
    ]);
  });

  it('reports nothing again for an item the retry writes afresh', async () => {
    const { retry } = await failThenRetry(compiled, records, 0);

    expect(retry.updates.map((u) => u.replayed ?? false)).toEqual([false]);
  });

  it('reports no occurrence of a sequence again: a replayed state knows no previous one to tell new from old', async () => {
    const three = sequence<TestEvent>({
      name: 'three',
      key: (e) => e.entity,
      match: () => true,
      count: 3,
      withinMs: 60_000,
    });
    const c = compile({
      pipeline: 'test',
      allowedLatenessMs: ALLOWED_LATENESS_MS,
      operators: [three.operator],
      detectors: [three.detector],
    });
    const memory = new MemoryEngineStore();
    const store = new FaultyStore(memory);
    const first = await runBatch(c, [record(0, 1_000, 1), record(1, 2_000, 1), record(2, 3_000, 1)], store, {
      now: 5_000,
    });
    expect(first.detections.map((d) => d.detectionId)).toEqual(['three|u1|u1-0']);

    store.failAfterWrites = 1; // the state item, then the entity commit fails
    await expect(runBatch(c, [record(3, 4_000, 1)], store, { now: 5_000 })).rejects.toThrow(InjectedWriteFailure);
    store.failAfterWrites = undefined;
    const retry = await runBatch(c, [record(3, 4_000, 1)], store, { now: 5_000 });

    expect(retry.updates.map((u) => u.replayed)).toEqual([true]);
    expect(retry.detections).toEqual([]);
  });

  it("reports a state's stored detections made at the batch's events' times, when its detector says they carry them", async () => {
    // Each event of value 9 or more is an alarm, found from the fold's steps (as transit's track anomalies
    // are), which a replayed update does not have: so it finds none there.
    const alarms = (atEventTime: boolean): Detector<TestEvent> => ({
      name: 'alarm',
      on: 'profile',
      ...(atEventTime ? { atEventTime } : {}),
      detect: (update, _ctx, events) =>
        events
          .filter((e) => !update.replayed && e.event.value >= 9)
          .map((e) => ({ detectionId: e.eventId, detector: 'alarm', key: update.key, ts: e.ts, details: {} })),
    });
    const run = async (atEventTime: boolean) => {
      const c = compile({
        pipeline: 'test',
        allowedLatenessMs: ALLOWED_LATENESS_MS,
        operators: [profileOperator],
        detectors: [alarms(atEventTime)],
      });
      const store = new FaultyStore(new MemoryEngineStore());
      await runBatch(c, [record(0, 1_000, 9)], store, { now: 5_000 });
      const batch = [record(1, 2_000, 9), record(2, 3_000, 1), record(3, 4_000, 12)];
      store.failAfterWrites = 3; // two detections and the state item; then the entity commit fails
      await expect(runBatch(c, batch, store, { now: 5_000 })).rejects.toThrow(InjectedWriteFailure);
      store.failAfterWrites = undefined;
      return runBatch(c, batch, store, { now: 5_000 });
    };

    const retry = await run(true);
    expect(retry.updates.map((u) => u.replayed)).toEqual([true]);
    // This batch's two, not the earlier batch's u1-0.
    expect(retry.detections.map((d) => d.detectionId)).toEqual(['u1-1', 'u1-3']);
    expect(retry.stats.outputsWritten).toBe(0);
    expect((await run(false)).detections).toEqual([]);
  });
});
