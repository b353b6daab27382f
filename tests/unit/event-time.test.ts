import { describe, expect, it } from 'vitest';
import { parseIsoInstant } from '../../shared/event-time.js';

describe('parseIsoInstant', () => {
  it.each([
    ['2026-11-21T08:00:00Z', Date.UTC(2026, 10, 21, 8)],
    ['2026-11-21T09:30:00+01:30', Date.UTC(2026, 10, 21, 8)],
    ['2026-11-21T08:00Z', Date.UTC(2026, 10, 21, 8)],
    ['2026-11-21T08:00:00.25-00:00', Date.UTC(2026, 10, 21, 8) + 250],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('reads %s', (text, expected) => {
    expect(parseIsoInstant(text)).toBe(expected);
  });

  it('reads a year below 100 as written, not as 19xx', () => {
    expect(parseIsoInstant('0050-01-01T00:00:00Z')).toBe(new Date('0050-01-01T00:00:00Z').getTime());
  });

  it.each([
    '2026-11-21',
    '2026-11-21T08:00:00',
    '2023-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-11-21T08:00:61Z',
  ])('refuses %s', (text) => {
    expect(parseIsoInstant(text)).toBeUndefined();
  });
});
