/**
 * Read-side rules that sit between the raw read models and the API: which ETAs are still worth serving,
 * late-event counts per window, and anomaly listing across UTC-day partitions.
 */
import type { Anomaly, StopEta, WindowAggregate } from '../model.js';
import { type DynamoKey, utcDaysNewestFirst } from './keys.js';
import type { AnomalyFilter, ReadModels } from './read-models.js';

/** How far back `/v1/anomalies` may look: the byDay fan-out costs one query per day. */
export const ANOMALY_LOOKBACK_MAX_MS = 7 * 86_400_000;

/** An ETA whose predicted arrival passed longer ago than this is stale: the vehicle has arrived or gone. */
export const ETA_ARRIVAL_GRACE_MS = 60_000;

/** An ETA computed from a fix older than this is stale: the vehicle stopped reporting. */
export const ETA_MAX_FIX_AGE_MS = 10 * 60_000;

/**
 * The ETAs worth serving at `now`, soonest first: not expired (`expiresAt` is epoch seconds; the TTL sweep
 * is lazy and the local emulator has none) and not stale (arrival long past, or computed from an old fix).
 */
export function etasToServe(etas: readonly StopEta[], now: number): StopEta[] {
  return etas
    .filter(
      (eta) =>
        eta.expiresAt >= now / 1000 &&
        eta.etaTs >= now - ETA_ARRIVAL_GRACE_MS &&
        eta.computedFromTs >= now - ETA_MAX_FIX_AGE_MS,
    )
    .sort((a, b) => a.etaTs - b.etaTs || a.vehicleId.localeCompare(b.vehicleId));
}

/** A route window with the number of events that arrived too late to be folded into it. */
export type WindowWithLateEvents = WindowAggregate & { lateEvents: number };

/** Adds `lateEvents` to each window, with one range query over the windows' span. */
export async function withLateCounts(
  read: ReadModels,
  routeId: string,
  windows: readonly WindowAggregate[],
): Promise<WindowWithLateEvents[]> {
  if (windows.length === 0) return [];
  const starts = windows.map((w) => w.windowStart);
  const counts = await read.lateEventCounts(routeId, Math.min(...starts), Math.max(...starts));
  return windows.map((w) => ({ ...w, lateEvents: counts.get(w.windowStart) ?? 0 }));
}

/** Where a cross-day anomaly listing resumes: a day partition and, mid-day, the key within it. */
export interface DayCursor {
  day: string;
  startKey?: DynamoKey;
}

/** The UTC days an anomaly listing from `since` to `until` spans, newest first. */
export function anomalyDays(since: number, until: number): string[] {
  return utcDaysNewestFirst(since, until);
}

/**
 * All routes' anomalies since `filter.since`, newest first, one page of `limit`. Walks the byDay partitions
 * from today backwards; the cursor says which day (and key) to resume from. `cursor.day` must be one of
 * `anomalyDays(since, until)`.
 */
export async function anomaliesSince(
  read: ReadModels,
  filter: AnomalyFilter & { until: number },
  limit: number,
  cursor?: DayCursor,
): Promise<{ items: Anomaly[]; cursor?: DayCursor }> {
  const days = anomalyDays(filter.since, filter.until);
  const items: Anomaly[] = [];
  const first = cursor ? days.indexOf(cursor.day) : 0;
  let startKey = cursor?.startKey;
  for (let i = Math.max(first, 0); i < days.length; i++) {
    const day = days[i]!;
    const result = await read.anomaliesOnDay(day, filter, { limit: limit - items.length, startKey });
    startKey = undefined;
    items.push(...result.items);
    if (result.lastKey) return { items, cursor: { day, startKey: result.lastKey } };
    const next = days[i + 1];
    if (items.length >= limit) return next ? { items, cursor: { day: next } } : { items };
  }
  return { items };
}
