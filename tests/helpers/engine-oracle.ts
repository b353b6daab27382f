/**
 * The naive oracle the engine is checked against: every event once, one at a time, in its partition's
 * order, with no batches, no store and no retries; aggregates computed from the full list of values.
 */
import { type FixedWindows, windowsOf } from '../../shared/engine/window-assigners.js';
import type { TestEvent, TestRecord } from './engine-harness.js';

export interface OracleEvent extends TestRecord {
  /** The entity's newest event time before this event. */
  watermark: number;
  /** Older than the watermark minus the horizon: maybe a duplicate, late everywhere, not in keyed state. */
  expired: boolean;
}

/**
 * The first delivery of each event id per entity, with its entity's watermark at that point; and
 * every record more than `horizonMs` behind the watermark (the engine cannot tell those from
 * duplicates, and counts them late).
 */
export function acceptedEvents(partitions: TestRecord[][], horizonMs: number): OracleEvent[] {
  const out: OracleEvent[] = [];
  const seen = new Set<string>();
  const watermarks = new Map<string, number>();
  for (const partition of partitions) {
    for (const record of partition) {
      const watermark = watermarks.get(record.entity) ?? Number.NEGATIVE_INFINITY;
      if (record.ts <= watermark - horizonMs) {
        out.push({ ...record, watermark, expired: true });
        continue;
      }
      if (seen.has(record.eventId)) continue;
      seen.add(record.eventId);
      out.push({ ...record, watermark, expired: false });
      watermarks.set(record.entity, Math.max(watermark, record.ts));
    }
  }
  return out;
}

export const isLate = (e: OracleEvent, lateness: number) => e.ts + lateness <= e.watermark;

/**
 * Per `key|windowStart`, the events of each window in arrival order; and per event id that was late, the
 * starts of the windows it missed and whether it was expired (of its first late delivery).
 */
export function windowContents(
  events: OracleEvent[],
  windows: FixedWindows,
  key: (e: TestEvent) => string,
  lateness: number,
) {
  const contents = new Map<string, { key: string; start: number; events: TestEvent[] }>();
  const late = new Map<string, { missed: number[]; expired: boolean }>();
  for (const e of events) {
    const missed: number[] = [];
    for (const w of windowsOf(windows, e.ts)) {
      if (w.end + lateness <= e.watermark) {
        missed.push(w.start);
        continue;
      }
      const id = `${key(e.event)}|${w.start}`;
      const entry = contents.get(id) ?? { key: key(e.event), start: w.start, events: [] };
      entry.events.push(e.event);
      contents.set(id, entry);
    }
    // Late records are written once per event id: the first late delivery is the one kept.
    if (missed.length > 0 && !late.has(e.eventId)) late.set(e.eventId, { missed, expired: e.expired });
  }
  return { contents, late };
}

/** Sessions per key from on-time events: runs of events less than `gapMs` apart, in time order. */
export function sessionContents(events: OracleEvent[], key: (e: TestEvent) => string, gapMs: number, lateness: number) {
  const byKey = new Map<string, OracleEvent[]>();
  for (const e of events) {
    if (isLate(e, lateness)) continue;
    byKey.set(key(e.event), [...(byKey.get(key(e.event)) ?? []), e]);
  }
  const sessions: Array<{ key: string; start: number; end: number; events: TestEvent[]; watermark: number }> = [];
  for (const [k, list] of byKey) {
    const watermark = Math.max(...list.map((e) => e.ts));
    const sorted = [...list].sort((a, b) => a.ts - b.ts);
    let current: (typeof sessions)[number] | undefined;
    for (const e of sorted) {
      if (current && e.ts - current.end < gapMs) {
        current.end = e.ts;
        current.events.push(e.event);
      } else {
        current = { key: k, start: e.ts, end: e.ts, events: [e.event], watermark };
        sessions.push(current);
      }
    }
  }
  return sessions;
}

/** Every (left, right) pair of on-time events of one key with `right.ts - left.ts` in [lower, upper]. */
export function joinPairs(
  events: OracleEvent[],
  sides: { left: string; right: string },
  key: (e: TestEvent) => string,
  bounds: { lowerMs: number; upperMs: number },
  lateness: number,
) {
  const onTime = events.filter((e) => !isLate(e, lateness));
  const pairs: string[] = [];
  for (const l of onTime.filter((e) => e.stream === sides.left)) {
    for (const r of onTime.filter((e) => e.stream === sides.right)) {
      const d = r.ts - l.ts;
      if (key(l.event) === key(r.event) && d >= bounds.lowerMs && d <= bounds.upperMs)
        pairs.push(`${l.eventId}|${r.eventId}`);
    }
  }
  return pairs.sort();
}

/** The population variance of values, two-pass. */
export function naiveVariance(values: number[]) {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return values.reduce((a, v) => a + (v - m) * (v - m), 0) / values.length;
}
