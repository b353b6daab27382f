import { describe, expect, it } from 'vitest';
import type { WindowedAggregate } from '../../../shared/engine/operators/windows.js';
import { runBatch, seededEntityItem } from '../../../shared/engine/run-batch.js';
import { MemoryEngineStore } from '../../../shared/engine/store.js';
import { tumbling } from '../../../shared/engine/window-assigners.js';
import { ALLOWED_LATENESS_MS, type TestEvent, type TestRecord } from '../../helpers/engine-harness.js';
import { everyAccumulator, testPipeline } from '../../helpers/engine-properties.js';

const op: WindowedAggregate<TestEvent> = {
  kind: 'windows',
  name: 'w',
  key: (e) => e.item,
  windows: tumbling(90_000),
  aggregate: everyAccumulator,
};
const compiled = testPipeline(op);

/** Event `id` of entity u1 at `ts`, at position `position` of p0. */
const record = (id: string, ts: number, position: number): TestRecord => ({
  event: { entity: 'u1', item: 'i0', value: 1, stream: 'click', ts },
  eventId: id,
  ts,
  entity: 'u1',
  stream: 'click',
  partition: 'p0',
  position: String(position).padStart(4, '0'),
});

describe('an entity seeded from what another processor folded', () => {
  // Another processor folded a and b into the 90 s window at 0 (their exact times unknown), and its
  // newest event was at 100 s.
  const seed = seededEntityItem('test', 'u1', {
    watermark: 100_000,
    events: [
      { eventId: 'a', from: 0, to: 90_000 },
      { eventId: 'b', from: 0, to: 90_000 },
    ],
  });

  it('knows a copy of a folded event for a duplicate, whichever minute of its span it has', async () => {
    const store = new MemoryEngineStore();
    expect(await store.put(seed, undefined)).toBe(true);

    const result = await runBatch(
      compiled,
      [record('a', 75_000, 1), record('b', 20_000, 2), record('c', 80_000, 3)],
      store,
      { now: 120_000 },
    );

    expect(result.stats).toMatchObject({ duplicates: 2, accepted: 1 });
  });

  it("judges lateness by the other processor's watermark", async () => {
    const store = new MemoryEngineStore();
    await store.put(seed, undefined);

    const result = await runBatch(compiled, [record('d', 100_000 - 90_000 - ALLOWED_LATENESS_MS - 1, 1)], store, {
      now: 120_000,
    });

    expect(result.late.map((l) => l.eventId)).toEqual(['d']);
  });

  it('commits no position, so its first record is processed whatever its position', async () => {
    const store = new MemoryEngineStore();
    await store.put(seed, undefined);

    const result = await runBatch(compiled, [record('e', 101_000, 0)], store, { now: 120_000 });

    expect(result.stats).toMatchObject({ accepted: 1, redelivered: 0 });
  });
});
