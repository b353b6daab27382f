/** The processor's ports on AWS (or the local emulators): Kinesis output, SQS dead letters, DynamoDB reference data. */
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadRouteReference, loadTrip } from '../gtfs/reference-store.js';
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

export class KinesisPublisher implements Publisher {
  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
  ) {}

  publish(records: OutputRecord[]) {
    return putRecordsReliably(
      this.kinesis,
      this.streamName,
      records.map((record) => ({
        data: Buffer.from(JSON.stringify(record)),
        partitionKey: outputPartitionKey(record),
      })),
    );
  }
}

/** SQS bodies are capped at 256 KiB; an oversized payload is cut, the reason and errors never are. */
const MAX_PAYLOAD_CHARS = 200_000;

export function deadLetterBody(message: DeadLetterMessage): string {
  const payloadText = JSON.stringify(message.payload ?? null);
  const payload =
    payloadText.length > MAX_PAYLOAD_CHARS
      ? { truncated: true, preview: payloadText.slice(0, MAX_PAYLOAD_CHARS) }
      : message.payload;
  return JSON.stringify({ ...message, payload });
}

export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(messages: DeadLetterMessage[]): Promise<DeadLetterMessage[]> {
    const failed: DeadLetterMessage[] = [];
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      try {
        const result = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: chunk.map((m, index) => ({
              Id: String(index),
              MessageBody: deadLetterBody(m),
              MessageAttributes: {
                source: { DataType: 'String', StringValue: m.source },
                reason: { DataType: 'String', StringValue: m.reason.slice(0, 1000) },
              },
            })),
          }),
        );
        for (const f of result.Failed ?? []) failed.push(chunk[Number(f.Id)]!);
      } catch {
        failed.push(...chunk);
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
