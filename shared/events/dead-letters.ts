/**
 * Dead letters: an event that cannot be processed goes to a queue with the reason, the field errors and
 * its payload, never dropped (docs/contracts.md). The port and its SQS implementation.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MAX_JSON_DEPTH, nestsDeeperThan, stringifyBounded } from '../json-bounds.js';
import type { FieldError } from './event-validator.js';

export interface DeadLetterMessage {
  source: 'ingest' | 'processor';
  reason: string;
  errors: FieldError[];
  eventId?: string;
  index?: number;
  record?: { partition: string; position: string; itemIdentifier: string };
  payload: unknown;
  receivedAt: string;
}

export interface DeadLetterSink {
  /** Sends messages; returns the ones that could not be sent. */
  send(messages: DeadLetterMessage[]): Promise<DeadLetterMessage[]>;
}

/**
 * SQS takes 256 KiB per message, body and attributes together, counted in bytes. The body keeps
 * 8 KiB for the attributes (the reason attribute is cut to 1,000 characters).
 */
export const MAX_DEAD_LETTER_BODY_BYTES = 248 * 1024;

/** The first `maxBytes` bytes of `text` as UTF-8, cut at a character boundary. */
function utf8Prefix(text: string, maxBytes: number): string {
  const cut = new TextDecoder().decode(Buffer.from(text).subarray(0, maxBytes));
  return cut.endsWith('\uFFFD') && !text.startsWith(cut) ? cut.slice(0, -1) : cut;
}

/**
 * SQS refuses U+FFFE and U+FFFF (and lone surrogates, which JSON.stringify already escapes) anywhere
 * in a message; in JSON text they can only stand inside strings, where an escape means the same.
 */
const escapeForSqs = (json: string) => json.replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/**
 * A message attribute value SQS accepts: at most `max` characters, none that it refuses (C0 controls
 * other than tab and line breaks, U+FFFE, U+FFFF, lone surrogates). A reason can quote raw record bytes.
 */
export const sqsAttributeText = (text: string, max = 1000) =>
  text
    .slice(0, max)
    .toWellFormed()
    // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters SQS refuses
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD');

/**
 * The message body of a dead letter. A payload that makes it too large (or that nests too deep to
 * serialise) is replaced by a note and a preview of its JSON text; the reason and errors are never cut.
 */
export function deadLetterBody(message: DeadLetterMessage): string {
  const deep = nestsDeeperThan(message.payload);
  if (!deep) {
    const whole = escapeForSqs(JSON.stringify(message));
    if (Buffer.byteLength(whole) <= MAX_DEAD_LETTER_BODY_BYTES) return whole;
  }
  const text = stringifyBounded(message.payload ?? null);
  const bytes = Buffer.byteLength(text);
  const reason = deep
    ? `payload nests deeper than ${MAX_JSON_DEPTH} levels; deeper levels are shown as "…"`
    : `payload of ${bytes} bytes cut to fit a 256 KiB SQS message`;
  // JSON escapes can make the preview longer than its bytes, so shrink until the body fits.
  for (let budget = MAX_DEAD_LETTER_BODY_BYTES; ; budget = Math.floor(budget / 2)) {
    const preview = utf8Prefix(text, Math.max(0, budget - 1024));
    const body = escapeForSqs(JSON.stringify({ ...message, payload: { truncated: true, reason, preview } }));
    if (Buffer.byteLength(body) <= MAX_DEAD_LETTER_BODY_BYTES || preview === '') return body;
  }
}

/** SQS's caps on one SendMessageBatch: 10 entries, and 256 KiB of bodies and attributes together. */
const SQS_BATCH_ENTRIES = 10;
const SQS_BATCH_BYTES = 256 * 1024;

/** A dead letter as a batch entry, with the bytes SQS counts for it. */
function sqsEntry(message: DeadLetterMessage) {
  const attributes = { source: message.source, reason: sqsAttributeText(message.reason) };
  const body = deadLetterBody(message);
  const bytes =
    Buffer.byteLength(body) +
    Object.entries(attributes).reduce(
      (sum, [name, value]) => sum + name.length + 'String'.length + Buffer.byteLength(value),
      0,
    );
  const MessageAttributes = Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
  return { message, entry: { MessageBody: body, MessageAttributes }, bytes };
}

/** Consecutive batches within SQS's entry and byte caps (each dead letter alone always fits). */
function sqsBatches<T extends { bytes: number }>(items: T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length === SQS_BATCH_ENTRIES || (current.length > 0 && bytes + item.bytes > SQS_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(messages: DeadLetterMessage[]): Promise<DeadLetterMessage[]> {
    const failed: DeadLetterMessage[] = [];
    for (const chunk of sqsBatches(messages.map(sqsEntry))) {
      try {
        const result = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: chunk.map(({ entry }, index) => ({ Id: String(index), ...entry })),
          }),
        );
        for (const f of result.Failed ?? []) failed.push(chunk[Number(f.Id)]!.message);
      } catch {
        failed.push(...chunk.map(({ message }) => message));
      }
    }
    return failed;
  }
}
