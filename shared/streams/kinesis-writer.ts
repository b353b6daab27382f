/** Writing JSON records to a Kinesis stream: chunked PutRecords that retries only the entries that failed. */
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';

const PUT_RECORDS_MAX = 500;
const MAX_ATTEMPTS = 6;
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));

/** Thrown when Kinesis keeps rejecting some entries of a PutRecords after every retry. */
export class PublishError extends Error {
  override name = 'PublishError';
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
