import { describe, expect, it } from 'vitest';
import { lonAt, pipeline, position, SHAPE, sourceRecords, T0 } from '../../helpers/processing.js';

describe('anomalies', () => {
  it('flags an impossible jump between consecutive fixes', async () => {
    const p = pipeline();
    await p.run(
      sourceRecords([
        position({ eventId: 'a', lon: lonAt(100) }),
        position({ eventId: 'b', ts: T0 + 5000, lon: lonAt(3100) }),
      ]),
    );

    const jump = [...p.store.anomalies.values()].find((a) => a.type === 'impossible-jump')!;
    expect(jump).toMatchObject({ vehicleId: 'V1', routeId: 'R1', anomalyId: `impossible-jump:V1:${T0 + 5000}` });
    expect(jump.evidence['distanceM']).toBeGreaterThan(2900);
  });

  it('flags leaving the route once per episode', async () => {
    const p = pipeline();
    const off = (i: number) =>
      position({ eventId: `off${i}`, ts: T0 + i * 1000, lon: lonAt(500 + i * 5), lat: 52.375 });
    await p.run(sourceRecords([position({ eventId: 'on', lon: lonAt(495) }), off(1), off(2), off(3)]));

    const offRoute = [...p.store.anomalies.values()].filter((a) => a.type === 'off-route');
    expect(offRoute).toHaveLength(1);
    expect(offRoute[0]!.evidence['offsetM']).toBeGreaterThan(500);
  });

  it('flags a vehicle on a trip that has not moved for the stall time, once', async () => {
    const p = pipeline();
    const still = (minute: number) =>
      position({ eventId: `m${minute}`, ts: T0 + minute * 60_000, lon: lonAt(800), speedKmh: 0 });
    await p.run(sourceRecords([0, 1, 2, 3, 4, 5, 6, 7].map(still)));

    const stalls = [...p.store.anomalies.values()].filter((a) => a.type === 'stalled');
    expect(stalls).toHaveLength(1);
    expect(stalls[0]!.anomalyId).toBe(`stalled:V1:${T0}`);
  });

  it('does not flag a stop dwell shorter than the stall time', async () => {
    const p = pipeline();
    await p.run(sourceRecords([0, 1, 2].map((m) => position({ eventId: `d${m}`, ts: T0 + m * 60_000, speedKmh: 0 }))));
    expect([...p.store.anomalies.values()].filter((a) => a.type === 'stalled')).toHaveLength(0);
  });

  /** 60 fixes of six vehicles at 25..33 km/h over the first four minutes: windows 0 to 3 of route R1. */
  const routeHistory = (from = T0) =>
    Array.from({ length: 60 }, (_, i) =>
      position({
        eventId: `b${i}`,
        vehicleId: `B${i % 6}`,
        ts: from + i * 4000,
        speedKmh: 25 + (i % 5) * 2,
        lon: lonAt(i * 20),
      }),
    );

  it('scores a speed far above the route baseline of the closed windows', async () => {
    const p = pipeline();
    await p.run(sourceRecords(routeHistory(), 1));
    // A fix of window 7 compares with windows 0..4, the newest ones closed for good (120 s lateness).
    const fast = position({ eventId: 'fast', vehicleId: 'F1', ts: T0 + 7 * 60_000, speedKmh: 90, lon: lonAt(1000) });
    await p.run(sourceRecords([fast], 100));
    await p.run(sourceRecords([position({ ...fast, eventId: 'fast2', ts: fast.ts + 1000, lon: lonAt(1025) })], 101));

    const speed = [...p.store.anomalies.values()].filter((a) => a.type === 'speed-zscore');
    expect(speed).toHaveLength(1);
    expect(speed[0]!.score).toBeGreaterThan(3);
    expect(speed[0]!.evidence).toMatchObject({ baselineCount: 60, baselineFrom: T0, baselineTo: T0 + 5 * 60_000 });
    expect(p.publisher.records.filter((r) => r.kind === 'anomaly' && r.data.type === 'speed-zscore')).toHaveLength(1);
  });

  it('does not score against route windows that may still receive events', async () => {
    const p = pipeline();
    await p.run(sourceRecords(routeHistory(T0 + 3 * 60_000), 1));
    // Windows 3 and 4 are still open for an event of window 5: other vehicles may add to them.
    const fast = position({ eventId: 'fast', vehicleId: 'F1', ts: T0 + 5 * 60_000 + 1000, speedKmh: 90 });
    await p.run(sourceRecords([fast], 100));

    expect([...p.store.anomalies.values()].filter((a) => a.type === 'speed-zscore')).toHaveLength(0);
  });

  it('flags the first fix of a window beyond the threshold, not the most extreme one of the batch', async () => {
    const p = pipeline();
    await p.run(sourceRecords(routeHistory(), 1));
    const fix = (id: string, seconds: number, speedKmh: number) =>
      position({ eventId: id, vehicleId: 'F1', ts: T0 + 7 * 60_000 + seconds * 1000, speedKmh, lon: lonAt(1000) });
    await p.run(sourceRecords([fix('ok', 0, 30), fix('fast', 1, 70), fix('faster', 2, 95)], 100));

    const speed = [...p.store.anomalies.values()].filter((a) => a.type === 'speed-zscore');
    expect(speed.map((a) => a.evidence['eventId'])).toEqual(['fast']);
  });

  it('detects the same anomalies, once, when a batch is retried', async () => {
    const p = pipeline();
    const records = sourceRecords([
      position({ eventId: 'a', lon: lonAt(100) }),
      position({ eventId: 'b', ts: T0 + 5000, lon: lonAt(3100) }),
    ]);
    await p.run(records);
    await p.run(records);
    expect(p.store.anomalies.size).toBe(1);
    expect(p.publisher.records.filter((r) => r.kind === 'anomaly')).toHaveLength(1);
  });
});

describe('ETAs', () => {
  it('predicts arrival at each stop ahead from the distance along the shape and the recent speed', async () => {
    const p = pipeline();
    const stop2 = SHAPE.stops[2]!;
    await p.run(sourceRecords([position({ eventId: 'a', lon: lonAt(stop2.distM - 1000), speedKmh: 36 })]));

    const eta = p.store.etas.get(`${stop2.stopId}|V1`)!;
    expect(eta.basis).toBe('vehicle-speed');
    expect(eta.distanceM).toBeGreaterThan(990);
    expect(eta.distanceM).toBeLessThan(1010);
    expect(eta.secondsAway).toBeGreaterThan(99);
    expect(eta.secondsAway).toBeLessThan(101);
    expect(p.store.etas.has(`${SHAPE.stops[0]!.stopId}|V1`)).toBe(false);
  });

  it('removes the ETA of a stop once the vehicle has passed it', async () => {
    const p = pipeline();
    const stop1 = SHAPE.stops[1]!;
    await p.run(sourceRecords([position({ eventId: 'a', lon: lonAt(stop1.distM - 50) })], 1));
    expect(p.store.etas.has(`${stop1.stopId}|V1`)).toBe(true);
    await p.run(sourceRecords([position({ eventId: 'b', ts: T0 + 10_000, lon: lonAt(stop1.distM + 50) })], 2));
    expect(p.store.etas.has(`${stop1.stopId}|V1`)).toBe(false);
  });

  it("refreshes a vehicle's ETAs at most every 30 s of event time", async () => {
    const p = pipeline();
    const stop3 = SHAPE.stops[3]!;
    const fix = (i: number, seconds: number) =>
      sourceRecords([position({ eventId: `f${i}`, ts: T0 + seconds * 1000, lon: lonAt(500 + seconds * 10) })], i);
    await p.run(fix(1, 0));
    const first = p.store.etas.get(`${stop3.stopId}|V1`)!;
    await p.run(fix(2, 10));
    expect(p.store.etas.get(`${stop3.stopId}|V1`)).toEqual(first);
    await p.run(fix(3, 30));
    expect(p.store.etas.get(`${stop3.stopId}|V1`)!.computedFromTs).toBe(T0 + 30_000);
  });

  it('refreshes from the fix that was due, also when several fixes arrive in one batch', async () => {
    const p = pipeline();
    const stop3 = SHAPE.stops[3]!;
    const fixes = [0, 10, 30, 40].map((seconds) =>
      position({ eventId: `f${seconds}`, ts: T0 + seconds * 1000, lon: lonAt(500 + seconds * 10) }),
    );
    await p.run(sourceRecords(fixes));

    expect(p.store.etas.get(`${stop3.stopId}|V1`)!.computedFromTs).toBe(T0 + 30_000);
    expect(p.store.states.get('V1')).toMatchObject({ ts: T0 + 40_000, etaComputedTs: T0 + 30_000 });
  });

  /** 40 fixes of V2 at 40 km/h over windows 0 to 4, closed for a fix of window 7. */
  const closedHistory = () =>
    Array.from({ length: 40 }, (_, i) =>
      position({ eventId: `h${i}`, vehicleId: 'V2', ts: T0 + i * 7000, speedKmh: 40, lon: lonAt(200 + i * 20) }),
    );

  it('falls back to the route average of the closed windows when the vehicle stands still', async () => {
    const p = pipeline();
    await p.run(sourceRecords(closedHistory(), 1));
    const minute7 = T0 + 7 * 60_000;
    await p.run(
      sourceRecords(
        [
          // The current window's average (10 km/h) depends on who was processed first; it is not used.
          position({ eventId: 'other', vehicleId: 'V3', ts: minute7, speedKmh: 10, lon: lonAt(200) }),
          position({ eventId: 'still', ts: minute7 + 1000, speedKmh: 0, lon: lonAt(300) }),
        ],
        100,
      ),
    );
    expect(p.store.etas.get(`${SHAPE.stops[1]!.stopId}|V1`)).toMatchObject({ basis: 'route-average', speedKmh: 40 });
  });

  it('gives a standing vehicle no ETA until the route has closed history, then tries again on its next fix', async () => {
    const p = pipeline();
    const still = (i: number, ts: number) =>
      sourceRecords([position({ eventId: `still${i}`, ts, speedKmh: 0, lon: lonAt(300) })], 100 + i);
    await p.run(sourceRecords([position({ eventId: 'other', vehicleId: 'V2', speedKmh: 40, lon: lonAt(200) })], 1));
    await p.run(still(1, T0 + 1000));
    expect([...p.store.etas.values()].filter((e) => e.vehicleId === 'V1')).toHaveLength(0);

    await p.run(sourceRecords(closedHistory(), 2));
    await p.run(still(2, T0 + 7 * 60_000));
    expect(p.store.etas.get(`${SHAPE.stops[1]!.stopId}|V1`)).toMatchObject({
      basis: 'route-average',
      computedFromTs: T0 + 7 * 60_000,
    });
  });
});
