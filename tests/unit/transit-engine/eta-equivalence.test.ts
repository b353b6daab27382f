/**
 * Transit's stop ETAs on the engine (`pipelines/transit/engine/etas.ts`: the fold's refresh decision
 * and the `stop-etas` sink) against `processBatch`'s `computeEtas`, on the ETA cases of
 * `tests/unit/processing/anomalies-and-etas.test.ts` and a vehicle that changes route: the same
 * `EtaTable` rows (every field), the same `etaComputedTs` in every state, in one batch, one record per
 * batch, and cut at random with failed attempts retried with another cut.
 */
import { describe, expect, it } from 'vitest';
import type { RouteReferenceItem } from '../../../pipelines/transit/engine/route-reference.js';
import type { VehiclePosition } from '../../../pipelines/transit/model.js';
import type { ReferenceSource, ShapeRef } from '../../../pipelines/transit/processing/ports.js';
import { MemoryReferenceSource } from '../../../shared/engine/reference.js';
import { lonAt, position, SHAPE, seededRandom, T0 } from '../../helpers/processing.js';
import {
  delivery,
  expectSameStates,
  partitionRecords,
  runEngineStates,
  runTransit,
  transitStates,
} from '../../helpers/transit-on-engine.js';

const MINUTE = 60_000;

/** Route R2 runs trip T2 on a road of its own: SHAPE's geometry, its own shape and stop ids. */
const SHAPE_2: ShapeRef = {
  ...SHAPE,
  shapeId: 'S2',
  stops: SHAPE.stops.map((stop) => ({ ...stop, stopId: `B-${stop.stopId}`, name: `B ${stop.name}` })),
};
const SHAPES: Record<string, ShapeRef> = { R1: SHAPE, R2: SHAPE_2 };
const TRIPS: Record<string, string> = { T1: 'S1', T2: 'S2' };

const transitReference: ReferenceSource = {
  routeShapes: async (routeId) => {
    const shape = SHAPES[routeId];
    return shape ? new Map([[shape.shapeId, shape]]) : undefined;
  },
  tripShapeId: async (tripId) => TRIPS[tripId],
};
const engineReference = () =>
  new MemoryReferenceSource(
    Object.fromEntries(
      Object.entries(SHAPES).map(([routeId, shape]): [string, RouteReferenceItem] => [
        routeId,
        { routeId, shapes: [shape], tripShapeIds: { [routeId === 'R1' ? 'T1' : 'T2']: shape.shapeId } },
      ]),
    ),
  );

/** 40 fixes of V2 at 40 km/h over windows 0 to 4, closed for a fix of window 7. */
const closedHistory = () =>
  Array.from({ length: 40 }, (_, i) =>
    position({ eventId: `h${i}`, vehicleId: 'V2', ts: T0 + i * 7000, speedKmh: 40, lon: lonAt(200 + i * 20) }),
  );

const fixesEvery = (seconds: number[], vehicleId = 'V1', overrides: Partial<VehiclePosition> = {}) =>
  seconds.map((s) =>
    position({ eventId: `${vehicleId}-${s}`, vehicleId, ts: T0 + s * 1000, lon: lonAt(500 + s * 10), ...overrides }),
  );

const CASES: Record<string, () => VehiclePosition[]> = {
  'a fix with stops ahead': () => [position({ eventId: 'a', lon: lonAt(SHAPE.stops[2]!.distM - 1000), speedKmh: 36 })],
  'a vehicle passing a stop': () => [
    position({ eventId: 'a', lon: lonAt(SHAPE.stops[1]!.distM - 50) }),
    position({ eventId: 'b', ts: T0 + 10_000, lon: lonAt(SHAPE.stops[1]!.distM + 50) }),
  ],
  'fixes refreshing every 30 s at most': () => fixesEvery([0, 10, 30, 40, 55, 61, 95]),
  'a standing vehicle after the route has closed history': () => [
    ...closedHistory(),
    position({ eventId: 'other', vehicleId: 'V3', ts: T0 + 7 * MINUTE, speedKmh: 10, lon: lonAt(200) }),
    position({ eventId: 'still', ts: T0 + 7 * MINUTE + 1000, speedKmh: 0, lon: lonAt(300) }),
    position({ eventId: 'still2', ts: T0 + 7 * MINUTE + 40_000, speedKmh: 0, lon: lonAt(300) }),
  ],
  'a standing vehicle before and after the route has closed history': () => [
    position({ eventId: 'other', vehicleId: 'V2', speedKmh: 40, lon: lonAt(200) }),
    position({ eventId: 'still1', ts: T0 + 1000, speedKmh: 0, lon: lonAt(300) }),
    ...closedHistory().slice(1),
    position({ eventId: 'still2', ts: T0 + 7 * MINUTE, speedKmh: 0, lon: lonAt(300) }),
  ],
  'a vehicle that changes trip and route half way': () => [
    ...fixesEvery([0, 10, 20, 40]),
    ...fixesEvery([50, 60, 95], 'V1', { routeId: 'R2', tripId: 'T2' }),
  ],
  'a vehicle that leaves for a route nobody knows': () => [
    ...fixesEvery([0, 10, 20]),
    ...fixesEvery([40, 50], 'V1', { routeId: 'R9', tripId: null }),
  ],
};

/**
 * One partition, in the case's order. A route average is the route's history as far as it has been
 * processed, so with vehicles on several partitions it depends on how they interleave (docs/exactly-once.md,
 * Partition skew), which these cases are not about.
 */
const partitionsOf = (events: VehiclePosition[]) => partitionRecords(events, 1, () => 0);

const drawFrom = (random: () => number) => (n: number) => Math.floor(random() * n);
const NOW = T0 + 10 * MINUTE;

describe('stop ETAs on the engine, against processBatch', () => {
  for (const [name, events] of Object.entries(CASES)) {
    it(`writes the same rows for ${name}, however the batches are cut and retried`, async () => {
      const partitions = partitionsOf(events());
      const oneBatch = [{ records: partitions.flat() }];
      const oneByOne = partitions.flat().map((r) => ({ records: [r] }));
      const transit = transitStates((await runTransit(oneBatch, NOW, transitReference)).store);
      // Every case ends with rows but the one whose vehicle left for a route without shapes.
      expect(transit.etas.length > 0).toBe(!name.includes('nobody knows'));
      expectSameStates(await runEngineStates(oneBatch, NOW, engineReference()), transit);
      expectSameStates(await runEngineStates(oneByOne, NOW, engineReference()), transit);
      expectSameStates(transitStates((await runTransit(oneByOne, NOW, transitReference)).store), transit);
      for (const seed of [1, 2, 3, 4]) {
        const attempts = delivery(partitions, drawFrom(seededRandom(seed)), { maxBatch: 6, failures: true });
        expectSameStates(await runEngineStates(attempts, NOW, engineReference()), transit);
      }
    });
  }

  it('writes nothing for an older fix that keeps the state, though the route average became usable since', async () => {
    // V1 stands at 7:00 before the route has history (no ETA), the history arrives, then an older fix of V1.
    const events = [
      position({ eventId: 'still', ts: T0 + 7 * MINUTE, speedKmh: 0, lon: lonAt(300) }),
      ...closedHistory(),
      position({ eventId: 'older', ts: T0 + 7 * MINUTE - 10_000, speedKmh: 0, lon: lonAt(290) }),
    ];
    // One record per batch, on both sides: the route average depends on what was processed before.
    const attempts = partitionsOf(events)
      .flat()
      .map((r) => ({ records: [r] }));
    const transit = transitStates((await runTransit(attempts, NOW, transitReference)).store);
    expect(transit.etas.filter((row) => row.vehicleId === 'V1')).toEqual([]);
    expectSameStates(await runEngineStates(attempts, NOW, engineReference()), transit);
  });

  it('deletes the rows of a vehicle that left for a route without shapes', async () => {
    const records = partitionsOf(CASES['a vehicle that leaves for a route nobody knows']!()).flat();
    const before = await runEngineStates([{ records: records.slice(0, 3) }], NOW, engineReference());
    expect(before.etas.length).toBeGreaterThan(0);
    const after = await runEngineStates(
      [{ records: records.slice(0, 3) }, { records: records.slice(3) }],
      NOW,
      engineReference(),
    );
    expect(after.etas).toEqual([]);
  });

  it("deletes the stops ahead on the route a vehicle left, reading that route's shape when the batch has none of it", async () => {
    const partitions = partitionsOf(CASES['a vehicle that changes trip and route half way']!());
    const records = partitions.flat();
    // The first batch ends on R1; the second has only R2's fixes, so R1's shape comes from the reference.
    const attempts = [{ records: records.slice(0, 4) }, { records: records.slice(4) }];
    const references = engineReference();
    const engine = await runEngineStates(attempts, NOW, references);
    expect(references.loads).toEqual([['R1'], ['R2'], ['R1']]);
    expect(engine.etas.map((row) => row.stopId).every((stop) => stop.startsWith('B-'))).toBe(true);
    expect(engine.etas.length).toBeGreaterThan(0);
    expectSameStates(engine, transitStates((await runTransit(attempts, NOW, transitReference)).store));
  });
});
