/**
 * One oracle property per operator: a pipeline with that operator alone, and the check that what a
 * delivery left in the store is what the naive oracle computes from the same partitions. The unit
 * tests run them on the memory store, the e2e tests on DynamoDB.
 */
import { expect } from 'vitest';
import {
  collect,
  count,
  distinctCount,
  max,
  mean,
  min,
  percentiles,
  stats,
  sum,
  topN,
} from '../../shared/engine/accumulators.js';
import { type AggregateSpec, field } from '../../shared/engine/aggregate.js';
import type { IntervalJoin, JoinMatch } from '../../shared/engine/operators/interval-join.js';
import type { KeyedState } from '../../shared/engine/operators/keyed-state.js';
import { presentOpenSessions, type SessionWindows } from '../../shared/engine/operators/sessions.js';
import { presentWindow, type WindowedAggregate } from '../../shared/engine/operators/windows.js';
import { type CompiledPipeline, compile, type Operator } from '../../shared/engine/run-batch.js';
import { type FixedWindows, hopping, tumbling } from '../../shared/engine/window-assigners.js';
import { ALLOWED_LATENESS_MS, type Delivery, outputsOf, type TestEvent, type TestRecord } from './engine-harness.js';
import { acceptedEvents, isLate, joinPairs, naiveVariance, sessionContents, windowContents } from './engine-oracle.js';

export interface OperatorProperty {
  name: string;
  compiled: CompiledPipeline<TestEvent>;
  /**
   * Asserts the delivery's store contents against the oracle for these partitions; `validated` are
   * the partitions before an enrichment changed their events (what late records keep).
   */
  check(partitions: TestRecord[][], delivery: Delivery, validated?: TestRecord[][]): void;
}

export const testPipeline = (op: Operator<TestEvent>) =>
  compile({ pipeline: 'test', allowedLatenessMs: ALLOWED_LATENESS_MS, operators: [op] });

/** Every accumulator the engine ships, over the test events. */
export const everyAccumulator: AggregateSpec<TestEvent> = {
  events: field(count(), () => 1),
  total: field(sum(), (e) => e.value),
  lowest: field(min(), (e) => e.value),
  highest: field(max(), (e) => e.value),
  average: field(mean(), (e) => e.value),
  spread: field(stats(), (e) => e.value),
  entities: field(distinctCount(), (e) => e.entity),
  items: field(collect(), (e) => e.item),
  topItems: field(topN(2), (e) => ({ member: e.item, weight: e.value })),
  quantiles: field(percentiles([0.5, 0.9]), (e) => e.value),
};

/** What `everyAccumulator` should present for these events, computed the obvious way. */
function expectAggregate(got: Record<string, unknown>, events: TestEvent[]) {
  const values = events.map((e) => e.value);
  const totals = new Map<string, number>();
  for (const e of events) totals.set(e.item, (totals.get(e.item) ?? 0) + e.value);
  const total = values.reduce((a, b) => a + b, 0);
  expect(got).toMatchObject({
    events: values.length,
    total,
    lowest: Math.min(...values),
    highest: Math.max(...values),
    entities: new Set(events.map((e) => e.entity)).size,
    topItems: [...totals]
      .map(([member, weight]) => ({ member, weight }))
      .sort((a, b) => b.weight - a.weight || a.member.localeCompare(b.member))
      .slice(0, 2),
  });
  expect(got.average).toBeCloseTo(total / values.length, 9);
  expect((got.spread as { variance: number }).variance).toBeCloseTo(naiveVariance(values), 6);
  // Each event folded once, however the batches were cut: the same values, in some fold order.
  expect([...(got.items as string[])].sort()).toEqual(events.map((e) => e.item).sort());
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0.5, 0.9]) {
    // DDSketch's promise: within 1% of a value at the quantile's rank, q·(n−1).
    const estimate = (got.quantiles as Record<string, number>)[`p${q * 100}`] as number;
    expect(estimate).toBeGreaterThanOrEqual((sorted[Math.floor(q * (sorted.length - 1))] as number) * 0.99 - 1e-9);
    expect(estimate).toBeLessThanOrEqual((sorted[Math.ceil(q * (sorted.length - 1))] as number) * 1.01 + 1e-9);
  }
}

function windowsProperty(
  name: string,
  windows: FixedWindows,
  closeBy: WindowedAggregate<TestEvent>['closeBy'] = 'tick',
): OperatorProperty {
  const op: WindowedAggregate<TestEvent> = {
    kind: 'windows',
    name: 'per-item',
    key: (e) => e.item,
    windows,
    aggregate: everyAccumulator,
    closeBy,
  };
  const compiled = testPipeline(op);
  return {
    name,
    compiled,
    check(partitions, { contents, stats: counted }, validated = partitions) {
      const events = acceptedEvents(partitions, compiled.horizonMs);
      const oracle = windowContents(events, windows, op.key, ALLOWED_LATENESS_MS);
      const validatedEvents = new Map(validated.flat().map((r) => [r.eventId, r.event]));
      const items = contents.items.filter((i) => i.pk.startsWith('test#per-item#'));
      expect(items.map((i) => `${i.body.key}|${i.body.start}`).sort()).toEqual([...oracle.contents.keys()].sort());
      for (const item of items) {
        const got = presentWindow(op, item);
        expect(got.windowEnd - got.windowStart).toBe(windows.sizeMs);
        expectAggregate(got, (oracle.contents.get(`${got.key}|${got.windowStart}`) as { events: TestEvent[] }).events);
      }
      const late = outputsOf(contents, '').filter((o) => 'missed' in o);
      expect(late.map((l) => l.eventId).sort()).toEqual([...oracle.late.keys()].sort());
      for (const l of late) {
        const missed = (l.missed as Array<{ start: number }>).map((m) => m.start);
        const want = oracle.late.get(l.eventId as string);
        expect(missed).toEqual(want?.missed);
        expect(l.event).toEqual(validatedEvents.get(l.eventId as string));
        expect(l.expired).toBe(want?.expired ? true : undefined);
      }
      expect(counted.accepted).toBe(events.filter((e) => !e.expired).length);
    },
  };
}

export const sessionsOperator: SessionWindows<TestEvent> = {
  kind: 'sessions',
  name: 'visits',
  key: (e) => e.entity,
  gapMs: 8_000,
  aggregate: {
    events: field(count(), () => 1),
    spent: field(sum(), (e) => (e.stream === 'order' ? e.value : undefined)),
  },
};

function sessionsProperty(): OperatorProperty {
  const op = sessionsOperator;
  const compiled = testPipeline(op);
  return {
    name: 'session windows',
    compiled,
    check(partitions, { contents }) {
      const events = acceptedEvents(partitions, compiled.horizonMs);
      const want = sessionContents(events, op.key, op.gapMs, ALLOWED_LATENESS_MS).map((s) => ({
        sessionId: `${s.key}|${s.start}`,
        start: s.start,
        end: s.end,
        events: s.events.length,
        spent: s.events.filter((e) => e.stream === 'order').reduce((a, e) => a + e.value, 0),
        final: s.end + op.gapMs + ALLOWED_LATENESS_MS <= s.watermark,
      }));
      const closed = outputsOf(contents, 's#');
      const open = contents.items.filter((i) => i.sk === 'sessions').flatMap((i) => presentOpenSessions(op, i));
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
    },
  };
}

/** Per entity, the ids of its events in fold order and a running total: any reordering or repeat shows. */
export const profileOperator: KeyedState<TestEvent, { ids: string[]; total: number; late: number }> = {
  kind: 'state',
  name: 'profile',
  key: (e) => e.entity,
  fold: (state, e, meta) => ({
    ids: [...(state?.ids ?? []), meta.eventId],
    total: (state?.total ?? 0) + e.value,
    late: (state?.late ?? 0) + (meta.late ? 1 : 0),
  }),
};

function keyedStateProperty(): OperatorProperty {
  const compiled = testPipeline(profileOperator);
  return {
    name: 'keyed state',
    compiled,
    check(partitions, { contents }) {
      const events = acceptedEvents(partitions, compiled.horizonMs).filter((e) => !e.expired);
      const want = new Map<string, { ids: string[]; total: number; late: number }>();
      for (const e of events) {
        const s = want.get(e.entity) ?? { ids: [], total: 0, late: 0 };
        s.ids.push(e.eventId);
        s.total += e.event.value;
        if (isLate(e, ALLOWED_LATENESS_MS)) s.late++;
        want.set(e.entity, s);
      }
      const got = new Map(contents.items.filter((i) => i.sk === 'state').map((i) => [i.body.key, i.body.state]));
      expect(got).toEqual(want);
    },
  };
}

export const attributionOperator: IntervalJoin<TestEvent> = {
  kind: 'join',
  name: 'attribution',
  left: { stream: 'order', key: (e) => `${e.entity}|${e.item}`, keep: (e) => ({ value: e.value }) },
  right: { stream: 'click', key: (e) => `${e.entity}|${e.item}`, keep: (e) => ({ value: e.value }) },
  lowerMs: -20_000,
  upperMs: 0,
};

function joinProperty(): OperatorProperty {
  const op = attributionOperator;
  const compiled = testPipeline(op);
  return {
    name: 'interval join',
    compiled,
    check(partitions, { contents }) {
      const events = acceptedEvents(partitions, compiled.horizonMs).filter((e) => !e.expired);
      const want = joinPairs(events, { left: 'order', right: 'click' }, op.left.key, op, ALLOWED_LATENESS_MS);
      const matches = outputsOf(contents, 'm#') as unknown as JoinMatch[];
      expect(matches.map((m) => m.matchId).sort()).toEqual(want);
      for (const m of matches) expect(m.right.ts - m.left.ts).toBeLessThanOrEqual(0);
    },
  };
}

export const operatorProperties: OperatorProperty[] = [
  windowsProperty('tumbling windows', tumbling(10_000)),
  windowsProperty('hopping windows', hopping(15_000, 5_000)),
  windowsProperty('tumbling windows closed by the watermark', tumbling(10_000), 'watermark'),
  sessionsProperty(),
  keyedStateProperty(),
  joinProperty(),
];
