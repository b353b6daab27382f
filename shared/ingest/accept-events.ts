/**
 * The ingest contract of `POST /v1/events`: validate each event, put the valid ones on the input stream,
 * send the invalid ones to the dead-letter queue with their reasons, and say which were rejected.
 */

import type { DeadLetterMessage, DeadLetterSink } from '../events/dead-letters.js';
import type { ValidationResult } from '../events/event-validator.js';

export const MAX_EVENTS = 500;
export const MAX_BODY_BYTES = 1024 * 1024;

/** The request cannot be taken as a whole: malformed, empty or too large. */
export class IngestRequestError extends Error {
  override name = 'IngestRequestError';
  constructor(
    readonly statusCode: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/** Dead letters could not be recorded: nothing is lost, but the client must retry. */
export class DeadLetterUnavailableError extends Error {
  override name = 'DeadLetterUnavailableError';
}

export interface Rejection {
  index: number;
  eventId?: string;
  field: string;
  reason: string;
}

export interface IngestResult {
  accepted: number;
  rejected: number;
  eventIds: string[];
  errors: Rejection[];
}

export interface EventWriter<E> {
  /** Puts events on the input stream, partitioned by their entity; throws when some could not be written. */
  write(events: E[]): Promise<void>;
}

/** How an ingest endpoint judges its events: the pipeline's validation, and the id it reports back. */
export interface EventContract<E> {
  validate(value: unknown, now: number): ValidationResult<E>;
  idOf(event: E): string;
}

/** Parses the raw body; throws `IngestRequestError` for a body that is not `{"events":[...]}` within the limits. */
export function parseIngestBody(body: string | null, isBase64Encoded: boolean): unknown[] {
  if (body === null || body === '') throw new IngestRequestError(400, 'request body is required: {"events":[...]}');
  const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_BODY_BYTES) {
    throw new IngestRequestError(413, `request body is ${bytes} bytes; the limit is ${MAX_BODY_BYTES}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new IngestRequestError(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
  const events = (parsed as { events?: unknown } | null)?.events;
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(events)) {
    throw new IngestRequestError(400, 'request body must be an object with an "events" array');
  }
  if (events.length === 0) throw new IngestRequestError(400, '"events" is empty');
  if (events.length > MAX_EVENTS) {
    throw new IngestRequestError(413, `"events" holds ${events.length} events; the limit is ${MAX_EVENTS}`);
  }
  return events;
}

/** Validates and routes each event. Valid events are written even when their neighbours are not. */
export async function acceptEvents<E>(
  events: unknown[],
  ports: { writer: EventWriter<E>; deadLetters: DeadLetterSink },
  contract: EventContract<E>,
  now = Date.now(),
): Promise<IngestResult> {
  const valid: E[] = [];
  const dead: DeadLetterMessage[] = [];
  const errors: Rejection[] = [];
  const receivedAt = new Date(now).toISOString();
  events.forEach((value, index) => {
    const result = contract.validate(value, now);
    if (result.ok) {
      valid.push(result.event);
      return;
    }
    const eventId = result.eventId;
    for (const e of result.errors) errors.push({ index, ...(eventId ? { eventId } : {}), ...e });
    dead.push({
      source: 'ingest',
      reason: `invalid event at index ${index}: ${result.errors.map((e) => `${e.field}: ${e.reason}`).join('; ')}`,
      errors: result.errors,
      index,
      ...(eventId ? { eventId } : {}),
      payload: value,
      receivedAt,
    });
  });
  // Dead letters first: if they cannot be recorded the client retries the whole request, and the valid
  // events it re-sends carry the same event ids, so the processor counts them once.
  if (dead.length > 0) {
    const unsent = await ports.deadLetters.send(dead);
    if (unsent.length > 0) throw new DeadLetterUnavailableError(`${unsent.length} dead letters could not be sent`);
  }
  if (valid.length > 0) await ports.writer.write(valid);
  return { accepted: valid.length, rejected: dead.length, eventIds: valid.map(contract.idOf), errors };
}
