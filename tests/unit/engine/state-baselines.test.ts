import { describe, expect, it } from 'vitest';
import { count, type Json, stats } from '../../../shared/engine/accumulators.js';
import { field } from '../../../shared/engine/aggregate.js';
import { type KeyedState, STATE_SK } from '../../../shared/engine/operators/keyed-state.js';
import type { WindowedAggregate } from '../../../shared/engine/operators/windows.js';
import { compile, DefinitionError, runBatch } from '../../../shared/engine/run-batch.js';
import { itemKeyOf, MemoryEngineStore } from '../../../shared/engine/store.js';
import { hopping, tumbling } from '../../../shared/engine/window-assigners.js';
import { ALLOWED_LATENESS_MS, type TestEvent, type TestRecord } from '../../helpers/engine-harness.js';
import { naiveVariance } from '../../helpers/engine-oracle.js';

const T = 1_700_000_000_000;
const SIZE = 10_000;
const windowStart = (ts: number) => Math.floor(ts / SIZE) * SIZE;

const perItem: WindowedAggregate<TestEvent> = {
  kind: 'windows',
  name: 'per-item',
  key: (e) => e.item,
  windows: tumbling(SIZE),
  aggregate: { values: field(stats(), (e) => e.value), events: field(count(), () => 1) },
  closeBy: 'watermark',
};

/** What the fold saw of its item's baseline at each event, by event id. */
type Seen = Record<string, { count: number; mean: number | null; std: number | null; windows: number }>;

const seenBaselines = (windows = 3): KeyedState<TestEvent, Json> => ({
  kind: 'state',
  name: 'seen',
  key: (e) => e.entity,
  baselines: {
    item: { operator: 'per-item', field: 'values', windows, key: (e) => e.item, before: (e) => windowStart(e.ts) },
  },
  fold: (state, _event, meta) => {
    const b = meta.baselines.item;
    if (!b) throw new Error('no baseline');
    return { ...(state as Seen), [meta.eventId]: { count: b.count, mean: b.mean, std: b.std, windows: b.windows } };
  },
});

let position = 0;
const record = (entity: string, item: string, value: number, ts: number): TestRecord => ({
  event: { entity, item, value, stream: 'click', ts },
  eventId: `${entity}-${ts}`,
  ts,
  entity,
  stream: 'click',
  partition: entity,
  position: String(position++).padStart(8, '0'),
});

/** The pooled values of the closed windows, as the fold should see them. */
function pooled(values: number[]) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { count: values.length, mean, std: Math.sqrt(naiveVariance(values)) };
}

const stateOf = (store: MemoryEngineStore, entity: string) =>
  store.items.get(itemKeyOf(`test#seen#${entity}`, STATE_SK))?.body.state as unknown as Seen;

describe('a keyed state reading closed-window baselines', () => {
  // 10 s windows, 5 s lateness: a window is closed at W once its end plus 5 s is at or before W, so the
  // 3 newest closed ones are W-4S, W-3S and W-2S (W-S ends at W and is closed from W + 5 s).
  const W = T + 10 * SIZE;

  it('folds each event with the pooled stats of its key’s newest closed windows, stored and from the same batch', async () => {
    const store = new MemoryEngineStore();
    const compiled = compile({
      pipeline: 'test',
      allowedLatenessMs: ALLOWED_LATENESS_MS,
      operators: [perItem, seenBaselines()],
    });
    // Entity a fills i0's windows W-5S..W-2S; W-5S falls outside the 3 closed windows.
    const early = [
      record('a', 'i0', 100, W - 5 * SIZE),
      record('a', 'i0', 10, W - 4 * SIZE),
      record('a', 'i0', 20, W - 3 * SIZE + 1),
    ];
    await runBatch(compiled, early, store, { now: W });
    // In one batch: a's last baseline window, and b's event that reads it (not yet written when b folds).
    const batch = [record('a', 'i0', 30, W - 2 * SIZE + 5), record('b', 'i0', 0, W + 1), record('b', 'i1', 0, W + 2)];
    await runBatch(compiled, batch, store, { now: W });
    const seen = stateOf(store, 'b');
    expect(seen[`b-${W + 1}`]).toEqual({ ...pooled([10, 20, 30]), windows: 3 });
    expect(seen[`b-${W + 2}`]).toEqual({ count: 0, mean: null, std: null, windows: 0 });
    // a's own events saw only windows closed before theirs: the first one none.
    expect(stateOf(store, 'a')[`a-${W - 5 * SIZE}`]).toEqual({ count: 0, mean: null, std: null, windows: 0 });
    expect(stateOf(store, 'a')[`a-${W - 2 * SIZE + 5}`]).toEqual({ ...pooled([100, 10]), windows: 2 });
  });

  it('reads one baseline once per batch however many events fold with it', async () => {
    const store = new MemoryEngineStore();
    const compiled = compile({
      pipeline: 'test',
      allowedLatenessMs: ALLOWED_LATENESS_MS,
      operators: [perItem, seenBaselines()],
    });
    await runBatch(compiled, [record('a', 'i0', 1, W - 3 * SIZE)], store, { now: W });
    const queries = store.requests.queries;
    const batch = Array.from({ length: 20 }, (_, i) => record(`v${i % 4}`, 'i0', i, W + i));
    await runBatch(compiled, batch, store, { now: W });
    expect(store.requests.queries - queries).toBe(1);
  });

  it('is checked when the pipeline compiles', () => {
    const hopped: WindowedAggregate<TestEvent> = { ...perItem, name: 'hopped', windows: hopping(SIZE, SIZE / 2) };
    const bad = (b: Partial<NonNullable<KeyedState<TestEvent, Json>['baselines']>['item']>) => ({
      ...seenBaselines(),
      baselines: { item: { ...(seenBaselines().baselines?.item as object), ...b } as never },
    });
    const problems = (state: KeyedState<TestEvent, Json>) => () =>
      compile({ pipeline: 'test', allowedLatenessMs: ALLOWED_LATENESS_MS, operators: [perItem, hopped, state] });
    expect(problems(bad({ field: 'events' }))).toThrow(
      new DefinitionError(
        'pipeline test: operator seen takes its baseline "item" from field "events" of "per-item" is not a stats() field',
      ),
    );
    expect(problems(bad({ operator: 'hopped' }))).toThrow(
      '"hopped" has hopping windows, a baseline needs tumbling ones',
    );
    expect(problems(bad({ operator: 'seen' }))).toThrow('"seen" is no windows operator');
  });
});
