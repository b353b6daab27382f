import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Json } from '../../../shared/engine/accumulators.js';
import { count } from '../../../shared/engine/accumulators.js';
import { field } from '../../../shared/engine/aggregate.js';
import type { KeyedState } from '../../../shared/engine/operators/keyed-state.js';
import type { Update } from '../../../shared/engine/operators/operator.js';
import type { WindowedAggregate } from '../../../shared/engine/operators/windows.js';
import { compile, DefinitionError, runBatch, tick } from '../../../shared/engine/run-batch.js';
import {
  MemorySinkTarget,
  MissingSinkTargetError,
  mergeSinkWrites,
  type Sink,
  type SinkWrites,
} from '../../../shared/engine/sinks.js';
import { MemoryEngineStore } from '../../../shared/engine/store.js';
import { tumbling } from '../../../shared/engine/window-assigners.js';
import {
  ALLOWED_LATENESS_MS,
  deliver,
  FaultyStore,
  InjectedWriteFailure,
  partitionsOf,
  type TestEvent,
  testRecord,
  workload,
} from '../../helpers/engine-harness.js';

const T = 1_700_000_000_000;

interface Tally {
  count: number;
  sum: number;
}

/** Every event of an entity, counted and summed in its order. */
const tally: KeyedState<TestEvent, Json> = {
  kind: 'state',
  name: 'tally',
  key: (e) => e.entity,
  fold: (state, event) => {
    const t = (state as unknown as Tally | undefined) ?? { count: 0, sum: 0 };
    return { count: t.count + 1, sum: t.sum + event.value };
  },
};

/** The rows a tally keeps: its total, and an `odd` row only while its count is odd. */
function tallyRows(entity: string, { count, sum }: Tally): SinkWrites {
  const odd = { entity, row: 'odd' };
  return {
    puts: [{ entity, row: 'total', count, sum }, ...(count % 2 === 1 ? [{ ...odd, count }] : [])],
    deletes: count % 2 === 1 ? [] : [odd],
  };
}

const tallies: Sink<TestEvent> = {
  name: 'tallies',
  on: 'tally',
  key: ['entity', 'row'],
  writes: (update: Update) => tallyRows(update.key, update.value.state as unknown as Tally),
};

const pipeline = (sinks: Array<Sink<TestEvent>> = [tallies]) =>
  compile({ pipeline: 'test', allowedLatenessMs: ALLOWED_LATENESS_MS, operators: [tally], sinks });

const record = (entity: string, i: number, value = 1, ts = T + i * 1000) => testRecord(i, ts, value, entity);

const target = () => new MemorySinkTarget({ tallies: ['entity', 'row'] });

/** The rows the stored states call for: what the sink's table must hold once every batch is in. */
function rowsOfStates(store: MemoryEngineStore) {
  const expected = target();
  for (const item of store.items.values()) {
    if (!item.pk.startsWith('test#tally#')) continue;
    const { key, state } = item.body as unknown as { key: string; state: Tally };
    void expected.write('tallies', { puts: tallyRows(key, state).puts, deletes: [] });
  }
  return expected.list('tallies');
}

describe('sinks: rows of another table that follow an operator', () => {
  it('hold the rows of the stored states under any cut, failed attempts retried with another cut, and rewinds', async () => {
    await fc.assert(
      fc.asyncProperty(workload, async (w) => {
        const store = new MemoryEngineStore();
        const sinks = target();
        await deliver(pipeline(), partitionsOf(w), w.schedule, { store, sinks });
        expect(sinks.list('tallies')).toEqual(rowsOfStates(store));
      }),
      { numRuns: 150 },
    );
  });

  it('are written before the item: a retry that finds the item written writes them no more', async () => {
    const inner = new MemoryEngineStore();
    const store = new FaultyStore(inner);
    const sinks = target();
    const compiled = pipeline();
    const batch = [record('a', 0, 5), record('a', 1, 7), record('a', 2, 9)];
    // The sink write and the item write go through; the entity commit fails.
    store.failAfterWrites = 2;
    await expect(runBatch(compiled, batch, store, { now: T, sinks: store.faultySinks(sinks) })).rejects.toThrow(
      InjectedWriteFailure,
    );
    expect(sinks.list('tallies')).toEqual([
      { entity: 'a', row: 'odd', count: 3 },
      { entity: 'a', row: 'total', count: 3, sum: 21 },
    ]);
    const writesBefore = sinks.writeRequests;
    store.failAfterWrites = undefined;
    const retry = await runBatch(compiled, batch, store, { now: T, sinks });
    expect(retry.updates.map((u) => u.replayed)).toEqual([true]);
    expect(retry.stats.sinkWrites).toBe(0);
    expect(sinks.writeRequests).toBe(writesBefore);
  });

  it('delete what a later state no longer calls for, in the same table', async () => {
    const store = new MemoryEngineStore();
    const sinks = target();
    const compiled = pipeline();
    const first = await runBatch(compiled, [record('a', 0, 5)], store, { now: T, sinks });
    expect(first.stats.sinkWrites).toBe(2);
    await runBatch(compiled, [record('a', 1, 7)], store, { now: T, sinks });
    expect(sinks.list('tallies')).toEqual([{ entity: 'a', row: 'total', count: 2, sum: 12 }]);
  });

  it('are counted in the stats as the target received them, when many items are written at once', async () => {
    const sinks = target();
    const entities = Array.from({ length: 40 }, (_, i) => `e${i}`);

    const { stats } = await runBatch(
      pipeline(),
      entities.map((entity, i) => record(entity, i)),
      new MemoryEngineStore(),
      { now: T, sinks },
    );

    expect(sinks.writeRequests).toBe(80);
    expect(stats.sinkWrites).toBe(sinks.writeRequests);
  });

  it('refuse to run without a target, before anything is read or written', async () => {
    const store = new MemoryEngineStore();
    await expect(runBatch(pipeline(), [record('a', 0)], store, { now: T })).rejects.toThrow(
      new MissingSinkTargetError('pipeline test has sinks (tallies) but was given no sink target'),
    );
    expect(store.requests).toEqual({ reads: 0, writes: 0, conditionalFailures: 0, queries: 0 });
    await expect(tick(pipeline(), store, { now: T })).rejects.toThrow(MissingSinkTargetError);
  });

  it('are checked when the pipeline compiles', () => {
    const bad: Array<Sink<TestEvent>> = [
      { ...tallies, name: 'Tallies' },
      { ...tallies, on: 'nothing' },
      { ...tallies, name: 'empty-key', key: [] },
      tallies,
      tallies,
    ];
    expect(() => pipeline(bad)).toThrow(DefinitionError);
    expect(() => pipeline(bad)).toThrow(
      'sink name "Tallies" must match /^[a-z][a-z0-9-]{0,62}$/; sink tallies follows "nothing", which is no operator; ' +
        'sink empty-key names no key attribute; sink name "tallies" is used twice',
    );
  });

  it("follow a tick's final results too", async () => {
    const perItem: WindowedAggregate<TestEvent> = {
      kind: 'windows',
      name: 'per-item',
      key: (e) => e.item,
      windows: tumbling(10_000),
      aggregate: { events: field(count(), () => 1) },
    };
    const finals: Sink<TestEvent> = {
      name: 'finals',
      on: 'per-item',
      key: ['item', 'windowStart'],
      writes: (u) =>
        u.final
          ? { puts: [{ item: u.key, windowStart: u.value.windowStart, events: u.value.events }], deletes: [] }
          : { puts: [], deletes: [] },
    };
    const compiled = compile({
      pipeline: 'test',
      allowedLatenessMs: ALLOWED_LATENESS_MS,
      operators: [perItem],
      sinks: [finals],
    });
    const store = new MemoryEngineStore();
    const sinks = new MemorySinkTarget({ finals: ['item', 'windowStart'] });
    await runBatch(compiled, [record('a', 0), record('a', 1)], store, { now: T, sinks });
    expect(sinks.list('finals')).toEqual([]);
    const closed = await tick(compiled, store, { now: T + 60_000, sinks });
    expect(closed.sinkWrites).toBe(1);
    expect(sinks.list('finals')).toEqual([{ item: 'i0', windowStart: T, events: 2 }]);
  });
});

describe('mergeSinkWrites', () => {
  const key = ['k'];
  it('names each key once, the later write winning', () => {
    expect(
      mergeSinkWrites(key, [
        {
          puts: [
            { k: 1, v: 'a' },
            { k: 2, v: 'a' },
          ],
          deletes: [{ k: 3 }],
        },
        { puts: [{ k: 3, v: 'b' }], deletes: [{ k: 1 }] },
      ]),
    ).toEqual({
      puts: [
        { k: 3, v: 'b' },
        { k: 2, v: 'a' },
      ],
      deletes: [{ k: 1 }],
    });
  });
  it('keeps the put of a key one write both deletes and puts', () => {
    expect(mergeSinkWrites(key, [{ puts: [{ k: 1, v: 'a' }], deletes: [{ k: 1 }] }])).toEqual({
      puts: [{ k: 1, v: 'a' }],
      deletes: [],
    });
  });
});
