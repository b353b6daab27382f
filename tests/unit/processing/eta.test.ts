import { describe, expect, it } from 'vitest';
import type { VehicleState } from '../../../pipelines/transit/model.js';
import {
  computeEtas,
  ETA_REFRESH_MS,
  type EtaFix,
  etaRowsFrom,
  planEtas,
  refreshDue,
  stopsPassed,
} from '../../../pipelines/transit/processing/eta.js';
import { SHAPE, T0 } from '../../helpers/processing.js';

const STOP1 = SHAPE.stops[1]!;

/** The state after a fix `seconds` into the test, `distM` along SHAPE. */
function fixAt(seconds: number, distM: number, overrides: Partial<VehicleState> = {}): EtaFix {
  const state: VehicleState = {
    vehicleId: 'V1',
    routeId: 'R1',
    tripId: 'T1',
    shapeId: SHAPE.shapeId,
    lat: 52.37,
    lon: 4.9,
    speedKmh: 36,
    headingDeg: 90,
    ts: T0 + seconds * 1000,
    eventId: `f${seconds}`,
    recentSpeedKmh: 36,
    lastMovedTs: T0,
    lastMovedLat: 52.37,
    lastMovedLon: 4.9,
    distanceAlongM: distM,
    offRouteM: 0,
    updatedAt: '',
    ...overrides,
  };
  return { state, shape: SHAPE, routeAverageKmh: undefined };
}

/** Plans fix by fix over batches, carrying the state between them as the processor does. */
function planInBatches(batches: EtaFix[][]) {
  let prev: VehicleState | undefined;
  let plan: ReturnType<typeof planEtas> = { anchor: undefined, computedTs: undefined };
  for (const fixes of batches) {
    plan = planEtas(prev, fixes);
    const last = fixes.at(-1)!.state;
    prev = { ...last, ...(plan.computedTs !== undefined ? { etaComputedTs: plan.computedTs } : {}) };
  }
  return plan;
}

describe('ETA refresh', () => {
  it('is due when none was computed on the run yet or the refresh interval has passed', () => {
    expect(refreshDue(undefined, T0)).toBe(true);
    expect(refreshDue(T0, T0 + ETA_REFRESH_MS - 1)).toBe(false);
    expect(refreshDue(T0, T0 + ETA_REFRESH_MS)).toBe(true);
  });

  it('picks the same refreshing fix however the fixes are cut into batches', () => {
    const fixes = Array.from({ length: 9 }, (_, i) => fixAt(i * 10, 500 + i * 100));
    const whole = planEtas(undefined, fixes);

    expect(whole.computedTs).toBe(T0 + 60_000);
    expect(planInBatches(fixes.map((f) => [f])).computedTs).toBe(T0 + 60_000);
    expect(planInBatches([fixes.slice(0, 4), fixes.slice(4)]).computedTs).toBe(T0 + 60_000);
  });

  it('refreshes on the first fix of a new trip, before the interval has passed', () => {
    const plan = planEtas(undefined, [fixAt(0, 500), fixAt(10, 600, { tripId: 'T2' })]);
    expect(plan.computedTs).toBe(T0 + 10_000);
    expect(plan.anchor?.state.tripId).toBe('T2');
  });

  it('does not count a fix that cannot produce ETAs: the next one tries again', () => {
    const standing = { ...fixAt(0, 500, { recentSpeedKmh: 0 }), routeAverageKmh: undefined };
    const withHistory = { ...fixAt(5, 500, { recentSpeedKmh: 0 }), routeAverageKmh: 30 };

    expect(planEtas(undefined, [standing]).computedTs).toBeUndefined();
    expect(planEtas(undefined, [standing, withHistory]).computedTs).toBe(T0 + 5000);
  });
});

describe('ETA rows of a batch', () => {
  it('come from the last refreshing fix, minus the stops passed after it', () => {
    const { puts } = computeEtas(undefined, [fixAt(0, STOP1.distM - 100), fixAt(10, STOP1.distM + 100)], undefined, T0);

    expect(puts.map((p) => p.stopId)).toEqual(SHAPE.stops.slice(2).map((s) => s.stopId));
    expect(puts[0]).toMatchObject({
      computedFromTs: T0,
      distanceM: Math.round(SHAPE.stops[2]!.distM - STOP1.distM + 100),
    });
  });

  it('are the rows one-at-a-time processing would leave', () => {
    const fixes = [fixAt(0, STOP1.distM - 100), fixAt(10, STOP1.distM + 100)];
    const oneByOne = etaRowsFrom(fixes[0]!, T0).filter(
      (r) => !stopsPassed(SHAPE, STOP1.distM - 100, STOP1.distM + 100).includes(r.stopId),
    );
    expect(computeEtas(undefined, fixes, undefined, T0).puts).toEqual(oneByOne);
  });

  it('drop the rows of a trip the vehicle left later in the batch and delete its stops ahead', () => {
    const prev = { ...fixAt(0, 500).state, etaComputedTs: T0 };
    const update = computeEtas(prev, [fixAt(40, 900), fixAt(50, 950, { tripId: 'T2', recentSpeedKmh: 0 })], SHAPE, T0);

    expect(update.puts).toEqual([]);
    expect(update.deletes.map((d) => d.stopId)).toEqual(SHAPE.stops.slice(1).map((s) => s.stopId));
    expect(update.computedTs).toBeUndefined();
  });
});
