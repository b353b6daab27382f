/**
 * Runtime configuration, read once. Functions import the named getters they need; a missing
 * required variable fails with its name the first time it is read, not with `undefined` later.
 */

import { ConfigurationError, EVENT_TIME_SETTINGS, readSetting } from './settings.js';

export { ConfigurationError };

/** The value of a required environment variable. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new ConfigurationError(`environment variable ${name} is required`);
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
export function eventTimeSettings(env: NodeJS.ProcessEnv = process.env): EventTimeSettings {
  const allowedLatenessMs = readSetting(EVENT_TIME_SETTINGS.allowedLateness, env) * 1000;
  const skewMs = readSetting(EVENT_TIME_SETTINGS.maxClockSkew, env) * 1000;
  return { allowedLatenessMs, maxClockSkewMs: Math.min(skewMs, allowedLatenessMs / 2) };
}

/** The WebSocket topic forms of the stack's engine pipelines (`PIPELINE_TOPICS`, comma-separated). */
export function pipelineTopicForms(): string[] {
  return (process.env['PIPELINE_TOPICS'] ?? '')
    .split(',')
    .map((form) => form.trim())
    .filter(Boolean);
}
