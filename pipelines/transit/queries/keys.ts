/** Key layouts of the read-model tables (docs/contracts.md), in one place so queries and tokens agree. */

/** Epoch ms as the 13-digit, zero-padded string the sort keys use, so string order equals time order. */
export function ts13(epochMs: number): string {
  return String(Math.max(0, Math.trunc(epochMs))).padStart(13, '0');
}

/** `YYYY-MM-DD` of an epoch ms instant in UTC: the AnomaliesTable `byDay` partition. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

const DAY_MS = 86_400_000;

/** Every UTC day from `to` back to `from` inclusive, newest first. */
export function utcDaysNewestFirst(from: number, to: number): string[] {
  const days: string[] = [];
  const first = Math.floor(from / DAY_MS);
  for (let day = Math.floor(to / DAY_MS); day >= first; day--) days.push(utcDay(day * DAY_MS));
  return days;
}

const ROUTE_PREFIX = 'ROUTE#';

export const routePk = (routeId: string): string => `${ROUTE_PREFIX}${routeId}`;
export const stopPk = (stopId: string): string => `STOP#${stopId}`;

/** The route of a `ROUTE#<routeId>` key, or undefined for another key. */
export function routeIdOfPk(pk: unknown): string | undefined {
  return typeof pk === 'string' && pk.startsWith(ROUTE_PREFIX) ? pk.slice(ROUTE_PREFIX.length) : undefined;
}

/**
 * The AnomaliesTable sort key: the window start, 13 digits, then the anomaly id. Sorted by window start, not
 * by the triggering fix's time, so a speed anomaly re-detected later in the same window lands on the same key.
 */
export const anomalySortKey = (windowStart: number, anomalyId: string): string => `${ts13(windowStart)}#${anomalyId}`;

/** The window start and anomaly id of an AnomaliesTable sort key, or undefined for another string. */
export function parseAnomalySortKey(sk: unknown): { windowStart: number; anomalyId: string } | undefined {
  const match = typeof sk === 'string' ? /^(\d{13})#(.+)$/s.exec(sk) : null;
  return match ? { windowStart: Number(match[1]), anomalyId: match[2]! } : undefined;
}

/** A DynamoDB key as the document client returns it (a LastEvaluatedKey / ExclusiveStartKey). */
export type DynamoKey = Record<string, string | number>;
