/**
 * Runtime configuration, read once. Functions import the named getters they need; a missing
 * required variable fails with its name the first time it is read, not with `undefined` later.
 */

/** Thrown when a required environment variable is missing or malformed. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** The value of a required environment variable. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new ConfigurationError(`environment variable ${name} is required`);
  return value;
}

/** A number from the environment (at least `min`: positive by default), or the default when unset. */
export function numberEnv(name: string, fallback: number, min = Number.MIN_VALUE): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new ConfigurationError(`environment variable ${name} must be a number >= ${min}, got "${raw}"`);
  }
  return value;
}

export const tableNames = {
  get connections() {
    return requireEnv('CONNECTIONS_TABLE');
  },
};

export const streamNames = {
  get input() {
    return requireEnv('INPUT_STREAM_NAME');
  },
  get output() {
    return requireEnv('OUTPUT_STREAM_NAME');
  },
};

export const queueUrls = {
  get deadLetter() {
    return requireEnv('DEAD_LETTER_QUEUE_URL');
  },
};

/** How late an event may be, and how far ahead of the processing clock its time may be. */
export interface EventTimeSettings {
  allowedLatenessMs: number;
  /** How far ahead of the processing clock an event time may be; at most half the allowed lateness. */
  maxClockSkewMs: number;
}

/**
 * Event-time settings shared by ingest and the processors. The clock-skew tolerance is capped at half
 * the allowed lateness: an event at most that far ahead cannot push an entity's watermark so far that
 * an on-time event counts as late, with the other half left for the event's own delivery delay
 * (docs/exactly-once.md, "Clock skew").
 */
export function eventTimeSettings(): EventTimeSettings {
  const allowedLatenessMs = numberEnv('ALLOWED_LATENESS_SECONDS', 120, 0) * 1000;
  const skewMs = numberEnv('MAX_CLOCK_SKEW_SECONDS', 60, 0) * 1000;
  return { allowedLatenessMs, maxClockSkewMs: Math.min(skewMs, allowedLatenessMs / 2) };
}

/** The WebSocket topic forms of the stack's engine pipelines (`PIPELINE_TOPICS`, comma-separated). */
export function pipelineTopicForms(): string[] {
  return (process.env['PIPELINE_TOPICS'] ?? '')
    .split(',')
    .map((form) => form.trim())
    .filter(Boolean);
}
