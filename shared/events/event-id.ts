import { createHash } from 'node:crypto';

/**
 * A deterministic event id from the given content fields, so a retried POST of the same event without
 * an id is recognised as the same event. Formatted as a UUID (version 8, "custom") for readability.
 */
export function deriveEventIdFrom(fields: readonly string[]): (event: Record<string, unknown>) => string {
  return (event) => {
    const canonical = JSON.stringify(fields.map((field) => event[field] ?? null));
    const hex = createHash('sha256').update(canonical).digest('hex');
    const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  };
}
