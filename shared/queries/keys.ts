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

export const routePk = (routeId: string): string => `ROUTE#${routeId}`;
export const stopPk = (stopId: string): string => `STOP#${stopId}`;

/**
 * The attributes of a LastEvaluatedKey per query: the table key plus, for a GSI, the index key.
 * Pagination tokens are checked against these.
 */
export const pageKeyAttributes = {
  vehiclesByRoute: ['vehicleId', 'routeId'],
  windows: ['pk', 'windowStart'],
  anomaliesByRoute: ['pk', 'sk'],
  anomaliesByDay: ['pk', 'sk', 'day'],
} as const satisfies Record<string, readonly string[]>;

/** A DynamoDB key as the document client returns it (a LastEvaluatedKey / ExclusiveStartKey). */
export type DynamoKey = Record<string, string | number>;
