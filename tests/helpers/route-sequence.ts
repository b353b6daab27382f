/**
 * One multi-vehicle event sequence on route R1 over 12 minutes, in the order the vehicles send it:
 * route-average ETAs, ETA refreshes, passed stops, a new trip, a late event, and F's speed outliers.
 * `batching-independence.test.ts` checks every read model against any batching; the engine's speed
 * z-score is checked against `processBatch` on it.
 */
import type { VehiclePosition } from '../../pipelines/transit/model.js';
import { lonAt, position, T0 } from './processing.js';

export const FIX_MS = 5000;
export const END = T0 + 12 * 60_000;

export interface Emission {
  sendTs: number;
  event: VehiclePosition;
}

export function drive(
  vehicleId: string,
  options: { offsetMs: number; fromM: number; metresPerFix: number; speed: (i: number) => number; startMs?: number },
): Emission[] {
  const emissions: Emission[] = [];
  for (let i = 0, ts = T0 + (options.startMs ?? 0) + options.offsetMs; ts < END; i++, ts += FIX_MS) {
    const event = position({
      eventId: `${vehicleId}-${i}`,
      vehicleId,
      // D starts a new trip after six minutes.
      tripId: vehicleId === 'D' && ts >= T0 + 6 * 60_000 ? 'T2' : 'T1',
      ts,
      lon: lonAt(options.fromM + i * options.metresPerFix),
      speedKmh: options.speed(i),
    });
    emissions.push({ sendTs: ts, event });
  }
  return emissions;
}

/** F's two fixes far above the route's speeds, in window 9 (its baseline, windows 2..6, is full). */
export const OUTLIER_FIXES = [108, 109];

export const EMISSIONS: Emission[] = (() => {
  const a = drive('A', { offsetMs: 0, fromM: 9000, metresPerFix: 25, speed: (i) => 28 + (i % 5) });
  const b = drive('B', { offsetMs: 2000, fromM: 9500, metresPerFix: 20, speed: (i) => 24 + (i % 7) });
  const c = drive('C', { offsetMs: 3000, fromM: 19000, metresPerFix: 15, speed: (i) => 33 + (i % 4) });
  const d = drive('D', { offsetMs: 1500, fromM: 9200, metresPerFix: 20, speed: (i) => 30 + (i % 3) });
  const f = drive('F', {
    offsetMs: 1000,
    fromM: 18500,
    metresPerFix: 20,
    speed: (i) => (i === OUTLIER_FIXES[0] ? 80 : i === OUTLIER_FIXES[1] ? 95 : 30 + (i % 3)),
  });
  // S stands still from minute 1: its ETAs need the route average, which exists from window 3 on.
  const s = drive('S', { offsetMs: 4000, startMs: 60_000, fromM: 9900, metresPerFix: 0, speed: () => 0 });
  // J stands at a stop and its GPS jitters 3 m either side of it: the stop is passed, un-passed and
  // passed again, fix by fix, which must not depend on where batches are cut.
  const j = drive('J', { offsetMs: 2500, startMs: 120_000, fromM: 10_000, metresPerFix: 0, speed: () => 0 }).map(
    (emission, i) => ({ ...emission, event: { ...emission.event, lon: lonAt(10_000 + (i % 2 === 0 ? -3 : 3)) } }),
  );
  const extra: Emission[] = [
    // A late event: its window closed minutes ago for A.
    {
      sendTs: T0 + 600_500,
      event: position({ eventId: 'A-late', vehicleId: 'A', ts: T0 + 307_000, lon: lonAt(13_500) }),
    },
    // An out-of-order event within the allowed lateness: folded, but it does not move B back.
    {
      sendTs: T0 + 480_500,
      event: position({ eventId: 'B-ooo', vehicleId: 'B', ts: T0 + 440_000, lon: lonAt(11_000) }),
    },
    // A producer retry: the same event of C again.
    { sendTs: T0 + 360_500, event: c[70]!.event },
  ];
  return [...a, ...b, ...c, ...d, ...f, ...s, ...j, ...extra].sort((x, y) => x.sendTs - y.sendTs);
})();
