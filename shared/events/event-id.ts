import { createHash } from 'node:crypto';

/** The content fields that identify a position fix when a producer sends no `eventId`. */
const IDENTITY_FIELDS = [
  'vehicleId',
  'routeId',
  'tripId',
  'lat',
  'lon',
  'speedKmh',
  'headingDeg',
  'ts',
  'occupancy',
  'accuracyM',
] as const;

/**
 * A deterministic event id from the event's content, so a retried POST of the same fix is
 * recognised as the same event. Formatted as a UUID (version 8, "custom") for readability.
 */
export function deriveEventId(event: Record<string, unknown>): string {
  const canonical = JSON.stringify(IDENTITY_FIELDS.map((field) => event[field] ?? null));
  const hex = createHash('sha256').update(canonical).digest('hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
