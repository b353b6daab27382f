/**
 * Transit's speed z-score on the engine (`pipelines/transit/engine/speed-score.ts`) against today's
 * `processBatch`: the same deliveries, the same speed anomalies (ids, fixes, scores, evidence).
 */
import { describe, expect, it } from 'vitest';
import type { VehiclePosition } from '../../../pipelines/transit/model.js';
import { position, seededRandom, sourceRecords, T0 } from '../../helpers/processing.js';
import { EMISSIONS, END, OUTLIER_FIXES } from '../../helpers/route-sequence.js';
import {
  type Attempt,
  delivery,
  expectSameSpeedAnomalies,
  partitionRecords,
  runEngine,
  runTransit,
  speedAnomaliesOf,
} from '../../helpers/transit-on-engine.js';

const MINUTE = 60_000;
const drawFrom = (random: () => number) => (n: number) => Math.floor(random() * n);

/** Both sides over the same attempts (transit takes a failing attempt whole; the engine fails it part way). */
async function bothSides(attempts: Attempt[], now: number) {
  const transit = await runTransit(attempts, now);
  const engine = await runEngine(attempts, now, { speedScore: true });
  return { transit: speedAnomaliesOf(transit.store), engine: engine.speedAnomalies };
}

describe('the speed z-score on the engine, against processBatch', () => {
  const now = END + MINUTE;
  const routeRecords = () =>
    sourceRecords(
      EMISSIONS.map((e) => e.event),
      1,
      'shardId-000000000000',
    );

  it('finds F’s first outlier, not the most extreme, and the standing vehicles, in one batch and one record per batch', async () => {
    for (const attempts of [[{ records: routeRecords() }], routeRecords().map((r) => ({ records: [r] }))]) {
      const { transit, engine } = await bothSides(attempts, now);

      // F's first fix far above the route, and the standing S and J far below it.
      expect(transit.filter((a) => a.vehicleId === 'F').map((a) => a.evidence.eventId)).toEqual([
        `F-${OUTLIER_FIXES[0]}`,
      ]);
      expect(new Set(transit.map((a) => a.vehicleId))).toEqual(new Set(['F', 'S', 'J']));
      expectSameSpeedAnomalies(engine, transit);
    }
  });

  it('finds the same anomalies when the engine is cut, failed half way and rewound', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const attempts = delivery([routeRecords()], drawFrom(seededRandom(seed)), { maxBatch: 40, failures: true });
      expect(attempts.some((a) => a.failAfterWrites !== undefined)).toBe(true);

      const { transit, engine } = await bothSides(attempts, now);

      expect(transit.filter((a) => a.vehicleId === 'F')).toHaveLength(1);
      expectSameSpeedAnomalies(engine, transit);
    }
  });

  /**
   * Six vehicles on two routes for 14 minutes, a fix every 5 s: speeds around 30 km/h, a few far above
   * or at 0, some sent out of order (within the lateness) or twice, one vehicle changing route half way.
   */
  function busyRoutes(seed: number): VehiclePosition[] {
    const random = seededRandom(seed);
    const out: VehiclePosition[] = [];
    for (let i = 0; i * 5_000 < 14 * MINUTE; i++) {
      for (let v = 0; v < 6; v++) {
        const ts = T0 + i * 5_000 + v * 700;
        const normal = 30 + 12 * (random() + random() + random() - 1.5);
        const r = random();
        const speedKmh = r < 0.03 ? 70 + 40 * random() : r < 0.04 ? 0 : Math.round(normal * 10) / 10;
        const routeId = v === 5 && ts > T0 + 7 * MINUTE ? 'R1' : `R${v % 2}`;
        const event = position({ eventId: `V${v}-${i}`, vehicleId: `V${v}`, routeId, ts, speedKmh });
        const lag = random() < 0.02 ? Math.floor(random() * 100_000) : 0;
        out.push(lag > 0 ? { ...event, ts: ts - lag } : event);
        if (random() < 0.01) out.push(event);
      }
    }
    return out;
  }

  // Both sides fold the same attempts in the same order, so a route's baseline holds the same fixes on
  // both when a fix is scored, however far one partition runs ahead of the other.
  it('finds the same anomalies on busy routes, over two partitions cut, failed and rewound at random', async () => {
    let found = 0;
    for (const seed of [1, 2, 3]) {
      const partitions = partitionRecords(busyRoutes(seed), 2, (e) => Number(e.vehicleId.slice(1)) % 2);
      const attempts = delivery(partitions, drawFrom(seededRandom(seed + 10)), { maxBatch: 60, failures: true });

      const { transit, engine } = await bothSides(attempts, T0 + 15 * MINUTE);

      expectSameSpeedAnomalies(engine, transit);
      found += transit.length;
    }
    expect(found).toBeGreaterThan(10);
  });
});
