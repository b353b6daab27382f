/**
 * Instants given as text: ISO-8601 date-times with an explicit offset (`Z` or `±hh:mm`), nothing else.
 * `Date.parse` alone accepts far more (`"1"` is 2001-01-01, `"March 7"`, zone-less times in the
 * server's zone, `2024-02-30` rolled over to March), so the shape and the calendar are checked here.
 */

const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-](\d{2}):?(\d{2}))$/i;

/** The rule in words, for error messages. */
export const ISO_INSTANT_RULE = 'an ISO-8601 date-time with an explicit offset, such as 2026-03-07T08:15:00Z';

/** Epoch ms of an ISO-8601 date-time with an explicit offset, or undefined when `text` is not one. */
export function parseIsoInstant(text: string): number | undefined {
  const m = ISO_WITH_OFFSET.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0)) as number[];
  const offsetH = Number(m[9] ?? 0);
  const offsetM = Number(m[10] ?? 0);
  if (month! < 1 || month! > 12 || hour! > 23 || minute! > 59 || second! > 59 || offsetH > 23 || offsetM > 59) {
    return undefined;
  }
  // Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear takes the year as written.
  const date = new Date(Date.UTC(2000, month! - 1, day!, hour, minute, second));
  date.setUTCFullYear(year!, month! - 1, day!);
  const utc = date.getTime();
  if (new Date(utc).getUTCDate() !== day) return undefined; // 2024-02-30 and the like
  const millis = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  const sign = m[8]?.startsWith('-') ? -1 : 1;
  return utc + millis - (m[8]?.toUpperCase() === 'Z' ? 0 : sign * (offsetH * 60 + offsetM) * 60_000);
}
