/** The shapes Lambda gives an MSK consumer and its on-failure destination, built from local Kafka messages. */
import type { MSKEvent, MSKRecord } from 'aws-lambda';
import type { FailureCondition, SequencedRecord } from './esm-decisions.js';
import { type FailureDetails, failureEnvelope } from './kinesis-events.js';

/** A message read from a local topic-partition; `sequenceNumber` is its offset (for the shared ESM decisions). */
export interface PartitionRecord extends SequencedRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | undefined>;
}

/** Identifies where a batch came from. */
export interface KafkaSource {
  eventSourceArn: string;
  /** Comma-separated, as Lambda sends them. */
  bootstrapServers: string;
}

const topicPartition = (record: PartitionRecord) => `${record.topic}-${record.partition}`;

/** An `MSKEvent` as Lambda builds it: records grouped by `topic-partition`, keys and values base64. */
export function buildMskEvent(source: KafkaSource, records: readonly PartitionRecord[]): MSKEvent {
  const grouped: Record<string, MSKRecord[]> = {};
  for (const record of records) {
    const list = grouped[topicPartition(record)] ?? [];
    grouped[topicPartition(record)] = list;
    // Lambda omits a null key or value; the types declare them as strings, so the cast documents that.
    list.push({
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      timestamp: record.arrivalMs,
      timestampType: 'CREATE_TIME',
      ...(record.key ? { key: record.key.toString('base64') } : {}),
      ...(record.value ? { value: record.value.toString('base64') } : {}),
      headers: Object.entries(record.headers).map(([name, value]) => ({
        [name]: [...Buffer.from(value ?? '')],
      })),
    } as MSKRecord);
  }
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: source.eventSourceArn,
    bootstrapServers: source.bootstrapServers,
    records: grouped,
  };
}

/** The on-failure record Lambda sends to an SQS or SNS destination when it gives up on Kafka records. */
export interface KafkaOnFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion: string; functionError?: string };
  version: '1.0';
  timestamp: string;
  KafkaBatchInfo: {
    batchSize: number;
    eventSourceArn: string;
    bootstrapServers: string;
    payloadSize: number;
    recordsInfo: Record<
      string,
      { firstRecordOffset: string; lastRecordOffset: string; firstRecordTimestamp: string; lastRecordTimestamp: string }
    >;
  };
}

/** Builds the on-failure record for records of one partition given up on (in offset order, non-empty). */
export function buildKafkaOnFailureRecord(
  source: KafkaSource,
  records: readonly PartitionRecord[],
  details: FailureDetails,
): KafkaOnFailureRecord {
  const first = records[0];
  const last = records.at(-1);
  if (!first || !last) throw new RangeError('an on-failure record describes at least one record');
  return {
    ...failureEnvelope(details),
    KafkaBatchInfo: {
      batchSize: records.length,
      eventSourceArn: source.eventSourceArn,
      bootstrapServers: source.bootstrapServers,
      payloadSize: Buffer.byteLength(JSON.stringify(buildMskEvent(source, records))),
      recordsInfo: {
        [topicPartition(first)]: {
          firstRecordOffset: String(first.offset),
          lastRecordOffset: String(last.offset),
          firstRecordTimestamp: new Date(first.arrivalMs).toISOString(),
          lastRecordTimestamp: new Date(last.arrivalMs).toISOString(),
        },
      },
    },
  };
}
