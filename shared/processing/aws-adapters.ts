/** The processor's ports on AWS (or the local emulators): Kinesis output, SQS dead letters, DynamoDB reference data. */
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadRouteReference, loadTrip } from '../gtfs/reference-store.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, stringifyBounded } from '../json-bounds.js';
import type { OutputRecord } from '../model.js';
import type { DeadLetterMessage, DeadLetterSink, Publisher, ReferenceSource, ShapeRef } from './ports.js';

const PUT_RECORDS_MAX = 500;
const MAX_ATTEMPTS = 6;
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));

/** Thrown when Kinesis keeps rejecting some entries of a PutRecords after every retry. */
export class PublishError extends Error {
  override name = 'PublishError';
}

/** The entity a result is about: its partition key, so one entity's updates stay in order. */
export function outputPartitionKey(record: OutputRecord): string {
  switch (record.kind) {
    case 'vehicle':
      return record.data.vehicleId;
    case 'window':
      return record.data.entityId;
    case 'anomaly':
      return record.data.vehicleId;
    case 'pipeline':
      return record.key;
  }
}

/**
 * PutRecords in chunks, retrying only the entries that failed. Shared by the ingest function (input
 * stream) and the processor (output stream).
 */
export async function putRecordsReliably(
  kinesis: KinesisClient,
  streamName: string,
  entries: Array<{ data: Uint8Array; partitionKey: string }>,
): Promise<void> {
  for (let i = 0; i < entries.length; i += PUT_RECORDS_MAX) {
    let pending = entries.slice(i, i + PUT_RECORDS_MAX);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new PublishError(`${pending.length} records not accepted by ${streamName}`);
      if (attempt > 0) await backoff(attempt);
      const result = await kinesis.send(
        new PutRecordsCommand({
          StreamName: streamName,
          Records: pending.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey })),
        }),
      );
      if (!result.FailedRecordCount) break;
      pending = pending.filter((_, index) => result.Records?.[index]?.ErrorCode);
    }
  }
}

/** Puts events on an input stream as JSON, partitioned by their entity so each entity's events stay in order. */
export class KinesisEventWriter<E> {
  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
    private readonly partitionKeyOf: (event: E) => string,
  ) {}

  write(events: E[]) {
    return putRecordsReliably(
      this.kinesis,
      this.streamName,
      events.map((e) => ({ data: Buffer.from(JSON.stringify(e)), partitionKey: this.partitionKeyOf(e) })),
    );
  }
}

/** The output stream: results as JSON, partitioned by the entity they are about. */
export class KinesisPublisher implements Publisher {
  private readonly writer: KinesisEventWriter<OutputRecord>;

  constructor(kinesis: KinesisClient, streamName: string) {
    this.writer = new KinesisEventWriter(kinesis, streamName, outputPartitionKey);
  }

  publish(records: OutputRecord[]) {
    return this.writer.write(records);
  }
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

/**
 * Reference data from the ReferenceTable's current feed version, cached per execution environment for a
 * few minutes (so a reloaded feed is seen within `ttlMs`).
 */
export class DynamoReferenceSource implements ReferenceSource {
  private readonly routes = new Map<string, { at: number; shapes: Promise<Map<string, ShapeRef> | undefined> }>();
  private readonly trips = new Map<string, { at: number; shapeId: Promise<string | undefined> }>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  routeShapes(routeId: string) {
    const cached = this.routes.get(routeId);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.shapes;
    const shapes = loadRouteReference(routeId, { client: this.client, tableName: this.tableName }).then((route) =>
      route
        ? new Map([...route.shapes].map(([shapeId, shape]): [string, ShapeRef] => [shapeId, { shapeId, ...shape }]))
        : undefined,
    );
    this.routes.set(routeId, { at: Date.now(), shapes });
    shapes.catch(() => this.routes.delete(routeId));
    return shapes;
  }

  tripShapeId(tripId: string) {
    const cached = this.trips.get(tripId);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.shapeId;
    const shapeId = loadTrip(tripId, { client: this.client, tableName: this.tableName }).then((trip) => trip?.shapeId);
    this.trips.set(tripId, { at: Date.now(), shapeId });
    shapeId.catch(() => this.trips.delete(tripId));
    return shapeId;
  }
}
