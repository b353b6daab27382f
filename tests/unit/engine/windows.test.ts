import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  count,
  distinctCount,
  max,
  mean,
  min,
  percentiles,
  stats,
  sum,
  topN,
} from '../../../shared/engine/accumulators.js';
import { type AggregateSpec, field } from '../../../shared/engine/aggregate.js';
import { presentWindow, type WindowedAggregate } from '../../../shared/engine/operators/windows.js';
import { compile, tick } from '../../../shared/engine/run-batch.js';
import { hopping, tumbling } from '../../../shared/engine/window-assigners.js';
import {
  ALLOWED_LATENESS_MS,
  deliver,
  outputsOf,
  partitionsOf,
  type TestEvent,
  workload,
} from '../../helpers/engine-harness.js';
import { acceptedEvents, naiveVariance, windowContents } from '../../helpers/engine-oracle.js';

const aggregate: AggregateSpec<TestEvent> = {
  events: field(count(), () => 1),
  total: field(sum(), (e) => e.value),
  lowest: field(min(), (e) => e.value),
  highest: field(max(), (e) => e.value),
  average: field(mean(), (e) => e.value),
  spread: field(stats(), (e) => e.value),
  entities: field(distinctCount(), (e) => e.entity),
  topItems: field(topN(2), (e) => ({ member: e.item, weight: e.value })),
  quantiles: field(percentiles([0.5, 0.9]), (e) => e.value),
};

const definition = (op: WindowedAggregate<TestEvent>) =>
  compile({ pipeline: 'test', allowedLatenessMs: ALLOWED_LATENESS_MS, operators: [op] });

/** What the aggregate should present for these values, computed the obvious way. */
function expected(events: TestEvent[]) {
  const values = events.map((e) => e.value);
  const totals = new Map<string, number>();
  for (const e of events) totals.set(e.item, (totals.get(e.item) ?? 0) + e.value);
  const sorted = [...values].sort((a, b) => a - b);
  /** The values a q-quantile may be: the two around rank q·(n−1). */
  const around = (q: number) => [
    sorted[Math.floor(q * (sorted.length - 1))],
    sorted[Math.ceil(q * (sorted.length - 1))],
  ];
  return {
    events: values.length,
    total: values.reduce((a, b) => a + b, 0),
    lowest: Math.min(...values),
    highest: Math.max(...values),
    topItems: [...totals]
      .map(([member, weight]) => ({ member, weight }))
      .sort((a, b) => b.weight - a.weight || a.member.localeCompare(b.member))
      .slice(0, 2),
    entities: new Set(events.map((e) => e.entity)).size,
    quantiles: { p50: around(0.5), p90: around(0.9) },
    average: values.reduce((a, b) => a + b, 0) / values.length,
    variance: naiveVariance(values),
  };
}

describe.each([
  ['tumbling', tumbling(10_000)],
  ['hopping', hopping(15_000, 5_000)],
])('%s windows', (_name, windows) => {
  const op: WindowedAggregate<TestEvent> = {
    kind: 'windows',
    name: 'per-item',
    key: (e) => e.item,
    windows,
    aggregate,
  };
  const compiled = definition(op);

  it('end with the oracle’s aggregates under any batching, retry, redelivery and duplication', async () => {
    await fc.assert(
      fc.asyncProperty(workload, async (w) => {
        const partitions = partitionsOf(w);
        const events = acceptedEvents(partitions, compiled.horizonMs);
        const oracle = windowContents(events, windows, op.key, ALLOWED_LATENESS_MS);
        const { store, stats } = await deliver(compiled, partitions, w.schedule);

        const items = [...store.items.values()].filter((i) => i.pk.startsWith('test#per-item#'));
        expect(items.map((i) => `${i.body.key}|${i.body.start}`).sort()).toEqual([...oracle.contents.keys()].sort());
        for (const item of items) {
          const got = presentWindow(op, item);
          const want = expected(
            (oracle.contents.get(`${got.key}|${got.windowStart}`) as { events: TestEvent[] }).events,
          );
          const { average, variance, quantiles, ...exact } = want;
          expect(got).toMatchObject(exact);
          for (const [name, [lo, hi]] of Object.entries(quantiles) as Array<[string, number[]]>) {
            // DDSketch's promise: within 1% of a value at the quantile's rank.
            const estimate = (got.quantiles as Record<string, number>)[name] as number;
            expect(estimate).toBeGreaterThanOrEqual((lo as number) * 0.99 - 1e-9);
            expect(estimate).toBeLessThanOrEqual((hi as number) * 1.01 + 1e-9);
          }
          expect(got.average).toBeCloseTo(average, 9);
          expect((got.spread as { variance: number }).variance).toBeCloseTo(variance, 6);
          expect(got.windowEnd - got.windowStart).toBe(windows.sizeMs);
        }
        const late = outputsOf(store, '').filter((o) => 'missed' in o);
        expect(late.map((l) => l.eventId).sort()).toEqual([...oracle.late.keys()].sort());
        for (const l of late) {
          const missed = (l.missed as Array<{ start: number }>).map((m) => m.start);
          expect(missed).toEqual(oracle.late.get(l.eventId as string));
        }
        expect(stats.accepted).toBe(events.filter((e) => !e.expired).length);
      }),
      { numRuns: 150 },
    );
  });
});

describe('window closing', () => {
  const op: WindowedAggregate<TestEvent> = {
    kind: 'windows',
    name: 'w',
    key: (e) => e.item,
    windows: tumbling(10_000),
    aggregate,
  };
  const compiled = definition(op);
  const record = (i: number, ts: number, position = i) => ({
    event: { entity: 'e0', item: 'i0', value: i, stream: 'click' as const, ts },
    eventId: `e0-${i}`,
    ts,
    entity: 'e0',
    stream: 'click',
    partition: 'p0',
    position: String(position).padStart(4, '0'),
  });

  it('emits a final result once the window end plus the lateness has passed, and only once', async () => {
    const { store } = await deliver(compiled, [[record(0, 1_000), record(1, 2_000)]], [0, 1, 2, 3]);
    expect(await tick(compiled, store, { now: 10_000 + ALLOWED_LATENESS_MS - 1 })).toMatchObject({ closed: 0 });

    const first = await tick(compiled, store, { now: 10_000 + ALLOWED_LATENESS_MS });
    const again = await tick(compiled, store, { now: 60_000 });

    expect(first.closed).toBe(1);
    expect(first.updates).toEqual([
      expect.objectContaining({ final: true, value: expect.objectContaining({ events: 2, total: 1, final: true }) }),
    ]);
    expect(again.closed).toBe(0);
  });

  it('counts an event for a window the tick closed as late, not folded', async () => {
    const { store } = await deliver(compiled, [[record(0, 1_000)]], [0, 1, 2, 3]);
    await tick(compiled, store, { now: 20_000 });
    const { runBatch } = await import('../../../shared/engine/run-batch.js');

    const result = await runBatch(compiled, [record(1, 9_000)], store, { now: 20_000 });

    expect(result.late).toEqual([
      expect.objectContaining({ eventId: 'e0-1', missed: [expect.objectContaining({ start: 0 })] }),
    ]);
    const item = [...store.items.values()].find((i) => i.pk === 'test#w#i0');
    expect(presentWindow(op, item as NonNullable<typeof item>)).toMatchObject({ events: 1, final: true });
  });
});
