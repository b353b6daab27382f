import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Moments, pooledStats, stats } from '../../../shared/engine/accumulators.js';
import { closedWindowsBefore } from '../../../shared/engine/window-assigners.js';
import { naiveVariance } from '../../helpers/engine-oracle.js';

const statesOf = (groups: number[][]): Moments[] => {
  const acc = stats();
  return groups.map((values) => values.reduce((m, v) => acc.add(m, v), acc.empty()));
};

describe('pooledStats', () => {
  it('gives the statistics of all the windows’ values together', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: -1_000, max: 1_000 }), { maxLength: 20 }), { maxLength: 6 }),
        (groups) => {
          const all = groups.flat();

          const pooled = pooledStats(statesOf(groups));

          expect(pooled.count).toBe(all.length);
          if (all.length === 0) {
            expect(pooled).toEqual({ count: 0, mean: null, variance: null, std: null });
            return;
          }
          expect(pooled.mean).toBeCloseTo(all.reduce((a, b) => a + b, 0) / all.length, 9);
          expect(pooled.variance).toBeCloseTo(naiveVariance(all), 6);
        },
      ),
    );
  });

  it('keeps the spread of large values that sums of squares lose to cancellation', () => {
    // Epoch-millisecond-sized values 1 apart: sumSq / n − mean² is noise at this magnitude.
    const groups = [
      [1e12, 1e12 + 1],
      [1e12 + 2, 1e12 + 3],
    ];
    const all = groups.flat();
    const sumSq = all.reduce((a, v) => a + v * v, 0);
    const mean = all.reduce((a, b) => a + b, 0) / all.length;

    const pooled = pooledStats(statesOf(groups));

    expect(pooled.variance).toBeCloseTo(1.25, 9);
    expect(Math.abs(sumSq / all.length - mean * mean - 1.25)).toBeGreaterThan(0.1);
  });

  it('leaves the states it pools as they were', () => {
    const states = statesOf([[1, 2], [3], []]);
    const before = JSON.stringify(states);

    pooledStats(states);

    expect(JSON.stringify(states)).toBe(before);
  });
});

describe('closedWindowsBefore', () => {
  const minute = 60_000;

  it('aligns to the baseline’s windows when the judged window has another size', () => {
    // A 5-minute baseline before a minute window starting at 13:01 with 2 minutes of lateness:
    // the newest closed one ends at or before 12:59, so it is 12:50-12:55.
    const w = 13 * 60 * minute + minute;

    expect(closedWindowsBefore(w, 2, { windowSizeMs: 5 * minute, allowedLatenessMs: 2 * minute })).toEqual({
      from: w - 16 * minute,
      to: w - 11 * minute,
    });
  });

  it('ends the newest window plus the lateness at or before the time, and no window after it does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 30_000 }),
        (before, size, lateness) => {
          const { to } = closedWindowsBefore(before, 1, { windowSizeMs: size, allowedLatenessMs: lateness });

          expect(to % size === 0).toBe(true);
          expect(to + size + lateness).toBeLessThanOrEqual(before);
          expect(to + 2 * size + lateness).toBeGreaterThan(before);
        },
      ),
    );
  });
});
