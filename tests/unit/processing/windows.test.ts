import { describe, expect, it } from 'vitest';
import { closedWindowsBefore } from '../../../pipelines/transit/processing/windows.js';
import { T0 } from '../../helpers/processing.js';

const minute = 60_000;

describe('closed windows', () => {
  it('are W-7..W-3 for a fix in W with one-minute windows and two minutes of allowed lateness', () => {
    const w = T0 + 10 * minute;
    expect(closedWindowsBefore(w, 5, { windowSizeMs: minute, allowedLatenessMs: 2 * minute })).toEqual({
      from: w - 7 * minute,
      to: w - 3 * minute,
    });
  });

  it('round a lateness that is not a whole number of windows up', () => {
    const w = T0 + 10 * minute;
    expect(closedWindowsBefore(w, 5, { windowSizeMs: minute, allowedLatenessMs: 90_000 }).to).toBe(w - 3 * minute);
  });

  it('are the windows right before W when no lateness is allowed', () => {
    const w = T0 + 10 * minute;
    expect(closedWindowsBefore(w, 5, { windowSizeMs: minute, allowedLatenessMs: 0 })).toEqual({
      from: w - 5 * minute,
      to: w - minute,
    });
  });
});
