/**
 * Transit's vehicle state and track anomalies on the engine (`pipelines/transit/engine/vehicle-state.ts`,
 * enriched by `route-reference.ts`) against today's `processBatch`: the same deliveries, the same public
 * vehicle states and the same `impossible-jump`, `off-route` and `stalled` anomalies. Where the two
 * differ, the tests at the end pin it (docs/transit-on-engine.md, Vehicle state).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateWorkload, simNetworkFromFeed } from '../../../local/simulator/workload.js';
import type { VehiclePosition } from '../../../pipelines/transit/model.js';
import { MemoryReferenceSource } from '../../../shared/engine/reference.js';
import { lonAt, position, reference, SHAPE, seededRandom, T0 } from '../../helpers/processing.js';
import {
  cityReference,
  delivery,
  expectSameStates,
  partitionRecords,
  publishedStates,
  runEngineStates,
  runTransit,
  transitStates,
} from '../../helpers/transit-on-engine.js';

const MINUTE = 60_000;

const drawFrom = (random: () => number) => (n: number) => Math.floor(random() * n);

/** The simulator on the synthetic city, with one of each injected anomaly, and every kind of disorder. */
async function simulatorWorkload(seed: number) {
  const city = await cityReference();
  const { emissions } = generateWorkload({
    network: simNetworkFromFeed(city.feed),
    vehicles: 20,
    minutes: 9,
    startTime: T0,
    seed,
    duplicates: 0.02,
    outOfOrder: 0.03,
    late: 0.01,
    invalid: 0.01,
    anomalies: true,
  });
  const partitions = partitionRecords(
    emissions,
    2,
    (e) => Number(e.vehicleId.slice(1)) % 2,
    (e) => e.event,
  );
  return { partitions, city, now: T0 + 10 * MINUTE };
}

describe('transit vehicle state on the engine, against processBatch', () => {
  let workload: Awaited<ReturnType<typeof simulatorWorkload>>;
  beforeAll(async () => {
    workload = await simulatorWorkload(11);
  });

  it('ends with, and publishes batch by batch, the same vehicle states and track anomalies for the same delivery of a simulator workload', async () => {
    const attempts = delivery(workload.partitions, drawFrom(seededRandom(1)), { maxBatch: 200 });

    const transit = await runTransit(attempts, workload.now, workload.city.transit);
    const engine = await runEngineStates(attempts, workload.now, workload.city.engine());

    const expected = transitStates(transit.store);
    expect(expected.states.size).toBe(20);
    expect([...expected.states.values()].filter((s) => s.shapeId !== undefined).length).toBeGreaterThan(15);
    expect(new Set([...expected.anomalies.values()].map((a) => a.type))).toEqual(
      new Set(['impossible-jump', 'off-route', 'stalled']),
    );
    expectSameStates(engine, expected);
    expect(publishedStates(engine.published)).toEqual(publishedStates(transit.outputs));
    const deadLettered = (run: typeof transit | typeof engine) => run.deadLetters.messages.map((m) => m.reason).sort();
    expect(deadLettered(engine)).toEqual(deadLettered(transit));
  });

  it('ends the same when the engine is cut, failed half way and rewound differently', async () => {
    const transit = await runTransit(
      delivery(workload.partitions, drawFrom(seededRandom(2)), { maxBatch: 300 }),
      workload.now,
      workload.city.transit,
    );
    const engine = await runEngineStates(
      delivery(workload.partitions, drawFrom(seededRandom(3)), { maxBatch: 40, failures: true }),
      workload.now,
      workload.city.engine(),
    );

    expectSameStates(engine, transitStates(transit.store));
  });

  /**
   * Vehicles on the 40 km road of route R1 (or the unknown R9): standing (long enough to stall), moving,
   * jumping kilometres, leaving the road sideways and coming back, with or without a trip, out of order,
   * late, and duplicated near and far.
   */
  const step = fc.record({
    advanceMs: fc.oneof(
      fc.integer({ min: 0, max: 5_000 }),
      fc.integer({ min: 5_000, max: 200_000 }),
      fc.constant(5 * MINUTE),
    ),
    lagMs: fc.oneof(
      { weight: 5, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 400_000 }) },
    ),
    moveM: fc.oneof(
      { weight: 8, arbitrary: fc.constant(0) },
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 400 }) },
      { weight: 1, arbitrary: fc.integer({ min: 3_000, max: 8_000 }) },
    ),
    offsetDeg: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(0.003) }),
    speedKmh: fc.double({ min: 0, max: 90, noNaN: true }),
    trip: fc.oneof({ weight: 4, arbitrary: fc.constant('T1') }, { weight: 1, arbitrary: fc.constant(null) }),
    route: fc.oneof({ weight: 5, arbitrary: fc.constant('R1') }, { weight: 1, arbitrary: fc.constant('R9') }),
    duplicateAfter: fc.oneof(
      { weight: 8, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 60 }) },
    ),
  });
  type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

  function events(vehicleSteps: Step[][]) {
    const out: VehiclePosition[] = [];
    const pending: Array<{ at: number; event: VehiclePosition }> = [];
    const clocks = vehicleSteps.map(() => T0);
    const along = vehicleSteps.map(() => 1_000);
    const longest = Math.max(...vehicleSteps.map((s) => s.length));
    for (let i = 0; i < longest; i++) {
      vehicleSteps.forEach((steps, v) => {
        const s = steps[i];
        if (!s) return;
        clocks[v] = (clocks[v] as number) + s.advanceMs;
        along[v] = ((along[v] as number) + s.moveM) % 39_000;
        const event = position({
          eventId: `V${v}-${i}`,
          vehicleId: `V${v}`,
          routeId: s.route,
          tripId: s.trip,
          lat: 52.37 + s.offsetDeg,
          lon: lonAt(along[v] as number),
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

  /** Route R1 with its one shape, and its trip T1 on it, as `reference` (tests/helpers/processing.ts) has it. */
  const roadReference = () =>
    new MemoryReferenceSource({ R1: { routeId: 'R1', shapes: [SHAPE], tripShapeIds: { T1: SHAPE.shapeId } } });

  /** A vehicle that stalls five minutes, jumps 5 km in 10 s, then leaves the road sideways. */
  const plain: Omit<Step, 'advanceMs'> = {
    lagMs: 0,
    moveM: 0,
    offsetDeg: 0,
    speedKmh: 30,
    trip: 'T1',
    route: 'R1',
    duplicateAfter: null,
  };
  const everyAnomaly: Step[] = [
    { ...plain, advanceMs: 0 },
    { ...plain, advanceMs: 10_000 },
    { ...plain, advanceMs: 5 * MINUTE },
    { ...plain, advanceMs: 10_000, moveM: 5_000 },
    { ...plain, advanceMs: 10_000, offsetDeg: 0.003 },
  ];

  it('ends with the same vehicle states and track anomalies for any workload and any two deliveries of it', async () => {
    const found = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(step, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 }),
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
          const transit = await runTransit(
            delivery(partitions, drawer(transitDraws), { maxBatch: 12 }),
            now,
            reference,
          );
          const engine = await runEngineStates(
            delivery(partitions, drawer(engineDraws), { maxBatch: 12, failures: true }),
            now,
            roadReference(),
          );
          const expected = transitStates(transit.store);
          for (const a of expected.anomalies.values()) found.add(a.type);
          expectSameStates(engine, expected);
        },
      ),
      { numRuns: 80, examples: [[[everyAnomaly], 1, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3], [2, 7, 1, 8, 2, 8, 1, 8, 2, 8]]] },
    );
    // The workloads reach every anomaly the fold can find (the example does; random ones mostly too).
    expect(found).toEqual(new Set(['impossible-jump', 'off-route', 'stalled']));
  });
});

describe('where the engine differs from processBatch', () => {
  it('dead-letters the fixes of a route whose reference item it cannot read, and folds the others', async () => {
    // processBatch reads shape items as they are: a shape without points fails its fold, and the batch
    // with it, again on every retry. The engine's reader refuses the item and dead-letters its fixes.
    const fixes = [
      position({ eventId: 'a', vehicleId: 'V1', routeId: 'R1', ts: T0 }),
      position({ eventId: 'b', vehicleId: 'V2', routeId: 'R2', ts: T0 }),
      position({ eventId: 'c', vehicleId: 'V1', routeId: 'R1', ts: T0 + 10_000, lon: lonAt(100) }),
    ];
    const [records = []] = partitionRecords(fixes, 1, () => 0);
    const references = new MemoryReferenceSource({
      R1: { routeId: 'R1', shapes: [SHAPE], tripShapeIds: { T1: SHAPE.shapeId } },
      R2: { routeId: 'R2', shapes: [{ shapeId: 'S2' }], tripShapeIds: {} },
    });

    const engine = await runEngineStates([{ records }], T0 + MINUTE, references);

    expect(engine.deadLetters.messages.map((m) => m.reason)).toEqual([
      'event b: missing reference: route "R2" (routeId) is unusable: route R2 has a shape without shapeId, points or stops',
    ]);
    expect([...engine.states.keys()]).toEqual(['V1']);
    expect(engine.states.get('V1')).toMatchObject({
      eventId: 'c',
      shapeId: SHAPE.shapeId,
      distanceAlongM: expect.closeTo(100, 0),
    });
  });
});
