/**
 * Transit's route and vehicle windows on the engine (`pipelines/transit/engine/`) against today's
 * `processBatch`: the same deliveries, the same projected windows. Where the two cannot agree, the
 * tests at the end show what differs (docs/transit-on-engine.md, Windows).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateWorkload, simNetworkFromFeed } from '../../../local/simulator/workload.js';
import { ROUTE_WINDOWS, VEHICLE_WINDOWS } from '../../../pipelines/transit/engine/windows.js';
import type { VehiclePosition } from '../../../pipelines/transit/model.js';
import { position, seededRandom, T0 } from '../../helpers/processing.js';
import {
  cityReference,
  delivery,
  expectSamePublished,
  expectSameWindows,
  partitionRecords,
  runEngine,
  runTransit,
} from '../../helpers/transit-on-engine.js';

const MINUTE = 60_000;

/** The simulator's workload on the synthetic city, with every kind of repetition and disorder it injects. */
async function simulatorWorkload(seed: number) {
  const { feed, transit: reference } = await cityReference();
  const { emissions } = generateWorkload({
    network: simNetworkFromFeed(feed),
    vehicles: 30,
    minutes: 6,
    startTime: T0,
    seed,
    duplicates: 0.02,
    outOfOrder: 0.03,
    late: 0.01,
    invalid: 0.01,
  });
  const partitions = partitionRecords(
    emissions,
    2,
    (e) => Number(e.vehicleId.slice(1)) % 2,
    (e) => e.event,
  );
  return { partitions, reference, now: T0 + 7 * MINUTE };
}

const drawFrom = (random: () => number) => (n: number) => Math.floor(random() * n);

describe('transit windows on the engine, against processBatch', () => {
  let workload: Awaited<ReturnType<typeof simulatorWorkload>>;
  beforeAll(async () => {
    workload = await simulatorWorkload(7);
  });

  it('stores and publishes the same windows, batch by batch, for the same delivery of a simulator workload', async () => {
    const attempts = delivery(workload.partitions, drawFrom(seededRandom(1)), { maxBatch: 200 });

    const transit = await runTransit(attempts, workload.now, workload.reference);
    const engine = await runEngine(attempts, workload.now);

    expect(transit.windows.size).toBeGreaterThan(200);
    expect(new Set([...transit.windows.values()].map((w) => w.entityType))).toEqual(new Set(['route', 'vehicle']));
    expectSameWindows(engine, transit);
    expectSamePublished(engine, transit);
  });

  it('stores the same windows when the engine is cut, failed half way and rewound differently', async () => {
    const transit = await runTransit(
      delivery(workload.partitions, drawFrom(seededRandom(2)), { maxBatch: 300 }),
      workload.now,
      workload.reference,
    );
    const engine = await runEngine(
      delivery(workload.partitions, drawFrom(seededRandom(3)), { maxBatch: 40, failures: true }),
      workload.now,
    );

    expectSameWindows(engine, transit);
  });

  /** Vehicles changing route mid-window, out of order, late, duplicated near and far, with fractional speeds. */
  const step = fc.record({
    advanceMs: fc.oneof(
      fc.integer({ min: 0, max: 5_000 }),
      fc.integer({ min: 5_000, max: 200_000 }),
      fc.constant(MINUTE),
    ),
    lagMs: fc.oneof(
      { weight: 5, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 400_000 }) },
    ),
    speedKmh: fc.oneof(fc.integer({ min: 0, max: 160 }), fc.double({ min: 0, max: 160, noNaN: true })),
    route: fc.integer({ min: 0, max: 2 }),
    duplicateAfter: fc.oneof(
      { weight: 8, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 60 }) },
    ),
  });
  const vehicles = fc.array(fc.array(step, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 });

  type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

  /** Each vehicle's events in its order, the vehicles' steps interleaved; a duplicate goes after `duplicateAfter` steps. */
  function events(workloadSteps: Step[][]) {
    const out: VehiclePosition[] = [];
    const pending: Array<{ at: number; event: VehiclePosition }> = [];
    const clocks = workloadSteps.map(() => T0);
    const longest = Math.max(...workloadSteps.map((s) => s.length));
    for (let i = 0; i < longest; i++) {
      workloadSteps.forEach((steps, v) => {
        const s = steps[i];
        if (!s) return;
        clocks[v] = (clocks[v] as number) + s.advanceMs;
        const event = position({
          eventId: `V${v}-${i}`,
          vehicleId: `V${v}`,
          routeId: `R${s.route}`,
          ts: (clocks[v] as number) - s.lagMs,
          speedKmh: s.speedKmh,
        });
        out.push(event);
        if (s.duplicateAfter !== null) pending.push({ at: i + s.duplicateAfter, event });
        for (const p of pending.filter((p) => p.at <= i && p.event.vehicleId === event.vehicleId)) {
          out.push(p.event);
          pending.splice(pending.indexOf(p), 1);
        }
      });
    }
    return { events: [...out, ...pending.map((p) => p.event)], now: Math.max(...clocks) + MINUTE };
  }

  it('stores the same windows and late events, but for far duplicates, for any workload and any two deliveries of it', async () => {
    await fc.assert(
      fc.asyncProperty(
        vehicles,
        fc.integer({ min: 1, max: 2 }),
        fc.array(fc.nat(), { minLength: 10, maxLength: 60 }),
        fc.array(fc.nat(), { minLength: 10, maxLength: 60 }),
        async (steps, partitionCount, transitDraws, engineDraws) => {
          const { events: sent, now } = events(steps);
          const partitions = partitionRecords(
            sent,
            partitionCount,
            (e) => Number(e.vehicleId.slice(1)) % partitionCount,
          );
          const drawer = (draws: number[]) => {
            let i = 0;
            return (n: number) => (draws[i++ % draws.length] as number) % n;
          };
          const transit = await runTransit(delivery(partitions, drawer(transitDraws), { maxBatch: 12 }), now);
          const engine = await runEngine(
            delivery(partitions, drawer(engineDraws), { maxBatch: 12, failures: true }),
            now,
          );
          expectSameWindows(engine, transit);
          // Late events: the engine keeps every one transit keeps, and besides them only re-sent copies of
          // folded events (transit's duplicates) that came beyond its id memory.
          const transitLate = new Set(transit.lateEvents.map((e) => e.eventId));
          const engineLate = new Set(engine.lateRecords.map((r) => r.eventId));
          const folded = new Set([...transit.store.windows.values()].flatMap((w) => Object.keys(w.eventIds ?? {})));
          expect([...transitLate].filter((id) => !engineLate.has(id))).toEqual([]);
          expect([...engineLate].filter((id) => !transitLate.has(id) && !folded.has(id))).toEqual([]);
        },
      ),
      { numRuns: 80 },
    );
  });
});

/** Fixes of one vehicle on R1, every `everyMs` from `fromMs` to `toMs` after T0, with ids `<vehicle>-<ms>`. */
const fixes = (vehicleId: string, fromMs: number, toMs: number, everyMs = 10_000) =>
  Array.from({ length: Math.floor((toMs - fromMs) / everyMs) + 1 }, (_, i) =>
    position({ eventId: `${vehicleId}-${fromMs + i * everyMs}`, vehicleId, ts: T0 + fromMs + i * everyMs }),
  );

/** One partition; each list of events is one batch. */
function oneBatchEach(...batches: VehiclePosition[][]) {
  const [records = []] = partitionRecords(batches.flat(), 1, () => 0);
  let at = 0;
  return batches.map((events) => {
    const batch = { records: records.slice(at, at + events.length) };
    at += events.length;
    return batch;
  });
}

describe('where the engine differs from processBatch', () => {
  it('keeps a duplicate re-sent beyond the horizon as a late record, where transit skips it; windows agree', async () => {
    // Two of V1's fixes are re-sent: the one of 0:10 at a watermark of 3:05 (within the engine's id memory
    // of 3 minutes, allowed lateness plus window size) and the one of 0:20 at 5:00 (beyond it).
    const attempts = oneBatchEach(
      fixes('V1', 10_000, 185_000, 5_000),
      fixes('V1', 10_000, 10_000),
      fixes('V1', 190_000, 300_000),
      fixes('V1', 20_000, 20_000),
    );
    const now = T0 + 10 * MINUTE;

    const transit = await runTransit(attempts, now);
    const engine = await runEngine(attempts, now);

    expectSameWindows(engine, transit);
    expect(transit.lateEvents).toEqual([]);
    expect(engine.lateRecords).toEqual([
      expect.objectContaining({ eventId: 'V1-20000', lateByMs: 280_000, expired: true }),
    ]);
  });

  it('folds what a vehicle sends long after the processing clock passed its windows, as transit does', async () => {
    // A reports live; B drives through a tunnel and sends five minutes of fixes at once, after a tick at
    // 5:00 that would have closed R1's windows up to 3:00 were they closed by the tick. None of B's fixes
    // is late for B, so both sides fold them all.
    const attempts = oneBatchEach(fixes('A', 0, 300_000), fixes('B', 0, 300_000));
    const now = T0 + 6 * MINUTE;

    const transit = await runTransit(attempts, now);
    const engine = await runEngine(attempts, now, { tickAt: (i) => (i === 1 ? T0 + 5 * MINUTE : undefined) });

    expectSameWindows(engine, transit);
    expect(engine.windows.get(`route|R1|${T0}`)).toMatchObject({ count: 12, distinctVehicles: 2 });
    expect(transit.lateEvents).toEqual([]);
    expect(engine.lateRecords).toEqual([]);
  });

  it('describes a late event by its entity and the windows it missed, late by its own time, not the window end', async () => {
    const late = position({ eventId: 'V1-late', vehicleId: 'V1', ts: T0 + 150_000 });
    const attempts = oneBatchEach(fixes('V1', 0, 300_000), [late]);
    const now = T0 + 10 * MINUTE;

    const transit = await runTransit(attempts, now);
    const engine = await runEngine(attempts, now);

    expectSameWindows(engine, transit);
    expect(transit.lateEvents).toEqual([
      expect.objectContaining({ routeId: 'R1', vehicleId: 'V1', windowStart: T0 + 2 * MINUTE, lateByMs: 120_000 }),
    ]);
    expect(engine.lateRecords).toEqual([
      {
        eventId: 'V1-late',
        entity: 'V1',
        ts: late.ts,
        lateByMs: 150_000,
        missed: [
          { operator: ROUTE_WINDOWS, key: 'R1', start: T0 + 2 * MINUTE, end: T0 + 3 * MINUTE },
          { operator: VEHICLE_WINDOWS, key: 'V1', start: T0 + 2 * MINUTE, end: T0 + 3 * MINUTE },
        ],
        event: late,
      },
    ]);
  });
});
