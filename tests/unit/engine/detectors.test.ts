import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { count, sum } from '../../../shared/engine/accumulators.js';
import { field } from '../../../shared/engine/aggregate.js';
import { detectionPk, sequence, threshold, zScore } from '../../../shared/engine/detectors.js';
import { loadLogisticModel, ModelArtifactError, modelScore } from '../../../shared/engine/models.js';
import type { WindowedAggregate } from '../../../shared/engine/operators/windows.js';
import { compile, runBatch, tick } from '../../../shared/engine/run-batch.js';
import { MemoryEngineStore } from '../../../shared/engine/store.js';
import { tumbling } from '../../../shared/engine/window-assigners.js';
import {
  ALLOWED_LATENESS_MS,
  deliver,
  outputsOf,
  partitionsOf,
  type TestEvent,
  testRecord,
  workload,
} from '../../helpers/engine-harness.js';
import { acceptedEvents, isLate } from '../../helpers/engine-oracle.js';

const record = testRecord;

const perMinute: WindowedAggregate<TestEvent> = {
  kind: 'windows',
  name: 'per-minute',
  key: (e) => e.entity,
  windows: tumbling(60_000),
  aggregate: { events: field(count(), () => 1), total: field(sum(), (e) => e.value) },
};

describe('threshold', () => {
  const compiled = compile({
    pipeline: 'test',
    allowedLatenessMs: ALLOWED_LATENESS_MS,
    operators: [perMinute],
    detectors: [threshold({ name: 'busy', on: 'per-minute', when: (w) => (w.events as number) >= 3 })],
  });

  it('fires once per window, however many updates cross it', async () => {
    const store = new MemoryEngineStore();
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await runBatch(compiled, [record(i, 1_000 + i)], store, { now: 0 }));

    expect(results.map((r) => r.detections.length)).toEqual([0, 0, 1, 1, 1, 1]);
    expect([...store.outputs.values()].filter((o) => o.pk === detectionPk('test', 'busy'))).toHaveLength(1);
  });
});

describe('zScore', () => {
  const compiled = compile({
    pipeline: 'test',
    allowedLatenessMs: ALLOWED_LATENESS_MS,
    operators: [perMinute],
    detectors: [
      zScore({
        name: 'surge',
        on: 'per-minute',
        value: (w) => w.total as number,
        threshold: 3,
        baselineWindows: 5,
        windowSizeMs: 60_000,
        allowedLatenessMs: ALLOWED_LATENESS_MS,
      }),
    ],
  });

  it('judges a closed window against the closed windows before it, and names them', async () => {
    const store = new MemoryEngineStore();
    // Minutes 0..5 carry 10 ± 1 per minute, minute 7 carries 100.
    const totals = [9, 11, 10, 9, 11, 10];
    let i = 0;
    for (const [minute, total] of totals.entries()) {
      await runBatch(compiled, [record(i++, minute * 60_000 + 1_000, total)], store, { now: 0 });
      await tick(compiled, store, { now: (minute + 1) * 60_000 + ALLOWED_LATENESS_MS });
    }
    await runBatch(compiled, [record(i++, 7 * 60_000 + 1_000, 100)], store, { now: 0 });

    const { detections } = await tick(compiled, store, { now: 8 * 60_000 + ALLOWED_LATENESS_MS });

    // Baseline of minute 7: the windows closed before it starts, minutes 1..5 (minute 6 closes after).
    expect(detections).toEqual([
      expect.objectContaining({
        detectionId: 'surge|u1|420000',
        details: expect.objectContaining({ value: 100, baselineWindows: 5, baselineFrom: 60_000, baselineTo: 360_000 }),
      }),
    ]);
    expect((detections[0]?.details.z as number) > 3).toBe(true);
  });
});

describe('sequence', () => {
  const failures = sequence<TestEvent>({
    name: 'three-failures',
    key: (e) => e.entity,
    match: (e) => e.value < 20,
    count: 3,
    withinMs: 10_000,
  });
  const compiled = compile({
    pipeline: 'test',
    allowedLatenessMs: ALLOWED_LATENESS_MS,
    // The windows widen the event-id horizon past the lateness, so late events reach the fold (flagged).
    operators: [failures.operator, perMinute],
    detectors: [failures.detector],
  });

  it('finds each occurrence of N matches within the interval once, as a sequential scan does, under any batching', async () => {
    await fc.assert(
      fc.asyncProperty(workload, async (w) => {
        const partitions = partitionsOf(w);
        const want: string[] = [];
        const recent = new Map<string, Array<{ eventId: string; ts: number }>>();
        for (const e of acceptedEvents(partitions, compiled.horizonMs)) {
          if (e.expired || isLate(e, ALLOWED_LATENESS_MS) || e.event.value >= 20) continue;
          const list = [...(recent.get(e.entity) ?? []), { eventId: e.eventId, ts: e.ts }].sort((a, b) => a.ts - b.ts);
          const newest = (list[list.length - 1] as { ts: number }).ts;
          const kept = list.filter((m) => m.ts > newest - 10_000);
          if (kept.length >= 3) {
            want.push(`three-failures|${e.entity}|${(kept[0] as { eventId: string }).eventId}`);
            recent.set(e.entity, []);
          } else recent.set(e.entity, kept);
        }

        const { contents } = await deliver(compiled, partitions, w.schedule);

        const found = outputsOf(contents, '').filter((o) => 'detectionId' in o);
        expect(found.map((d) => d.detectionId).sort()).toEqual(want.sort());
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});

describe('model scoring', () => {
  const artifact = {
    kind: 'logistic-regression',
    version: 'churn-2026-12-01',
    features: [
      { name: 'events', mean: 5, std: 2 },
      { name: 'total', mean: 50, std: 10 },
    ],
    weights: [1.5, -0.5],
    bias: 0.25,
  };

  it('scores standardised features with the artifact’s weights', () => {
    const model = loadLogisticModel(artifact);

    const p = model.score({ events: 9, total: 40 });

    // z = 0.25 + 1.5·(9−5)/2 − 0.5·(40−50)/10 = 3.75
    expect(p).toBeCloseTo(1 / (1 + Math.exp(-3.75)), 12);
  });

  it('refuses an artifact with every problem named, and a missing feature by name', () => {
    expect(() =>
      loadLogisticModel({ ...artifact, kind: 'tree', weights: [1], features: [{ name: 'x', mean: 0, std: 0 }] }),
    ).toThrow(/kind must be "logistic-regression".*features\[0\]\.std must be a positive number/);
    expect(() => loadLogisticModel(artifact).score({ events: 1 })).toThrow(
      new ModelArtifactError('feature total is missing'),
    );
  });

  it('reports closed windows scoring at or above the threshold, with the model version', async () => {
    const compiled = compile({
      pipeline: 'test',
      allowedLatenessMs: ALLOWED_LATENESS_MS,
      operators: [perMinute],
      detectors: [
        modelScore({
          name: 'churn',
          on: 'per-minute',
          model: loadLogisticModel(artifact),
          features: (u) => ({ events: u.value.events as number, total: u.value.total as number }),
          threshold: 0.9,
        }),
      ],
    });
    const store = new MemoryEngineStore();
    const many = Array.from({ length: 9 }, (_, i) => record(i, 1_000 + i, 4));
    const few = [record(9, 61_000, 4, 'u2')];
    const live = await runBatch(compiled, [...many, ...few], store, { now: 0 });

    const closed = await tick(compiled, store, { now: 120_000 + ALLOWED_LATENESS_MS });

    expect(live.detections).toEqual([]);
    expect(closed.detections).toEqual([
      expect.objectContaining({ key: 'u1', details: expect.objectContaining({ model: 'churn-2026-12-01' }) }),
    ]);
  });
});

describe('detector definitions', () => {
  it('refuses a detector watching no operator', () => {
    expect(() =>
      compile({
        pipeline: 'test',
        allowedLatenessMs: 0,
        operators: [perMinute],
        detectors: [threshold({ name: 'x', on: 'nothing', when: () => true })],
      }),
    ).toThrow(/detector x watches "nothing", which is no operator/);
  });
});
