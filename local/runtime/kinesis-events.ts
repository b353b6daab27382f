/** The shapes Lambda gives a Kinesis consumer and its on-failure destination, built from local records. */
import type { KinesisStreamEvent } from 'aws-lambda';
import type { FailureCondition, SequencedRecord } from './esm-decisions.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './intrinsics.js';

/** A record read from a local shard. */
export interface ShardRecord extends SequencedRecord {
  partitionKey: string;
  data: Uint8Array;
}

/** Identifies the shard a batch came from. */
export interface ShardSource {
  streamArn: string;
  shardId: string;
  functionName: string;
}

/** A `KinesisStreamEvent` exactly as Lambda builds it. */
export function buildKinesisEvent(source: ShardSource, records: readonly ShardRecord[]): KinesisStreamEvent {
  return {
    Records: records.map((record) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.partitionKey,
        sequenceNumber: record.sequenceNumber,
        data: Buffer.from(record.data).toString('base64'),
        approximateArrivalTimestamp: record.arrivalMs / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${source.shardId}:${record.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${source.functionName}ServiceRole`,
      awsRegion: LOCAL_REGION,
      eventSourceARN: source.streamArn,
    })),
  };
}

/** The on-failure record Lambda sends to a destination when it gives up on Kinesis records. */
export interface KinesisOnFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion: string; functionError?: string };
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/** Details of the last attempt on the records given up on. */
export interface FailureDetails {
  requestId: string;
  functionArn: string;
  condition: FailureCondition;
  /** Invocations made for these records (0 when they expired before being invoked). */
  invokeCount: number;
  /** `Unhandled` when the function threw or timed out; absent for a partial batch failure or expiry. */
  functionError?: string;
  now: Date;
}

/** Details of giving up now, with a fresh request id. */
export function failureDetails(
  functionArn: string,
  condition: FailureCondition,
  invokeCount: number,
  functionError: string | undefined,
): FailureDetails {
  return {
    requestId: crypto.randomUUID(),
    functionArn,
    condition,
    invokeCount,
    ...(functionError ? { functionError } : {}),
    now: new Date(),
  };
}

/** The part of an on-failure record every event source shares: what was invoked and how it ended. */
export function failureEnvelope(details: FailureDetails) {
  return {
    requestContext: {
      requestId: details.requestId,
      functionArn: details.functionArn,
      condition: details.condition,
      approximateInvokeCount: details.invokeCount,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      ...(details.functionError ? { functionError: details.functionError } : {}),
    },
    version: '1.0' as const,
    timestamp: details.now.toISOString(),
  };
}

/** Builds the on-failure record for records given up on (in shard order, non-empty). */
export function buildOnFailureRecord(
  source: ShardSource,
  records: readonly ShardRecord[],
  details: FailureDetails,
): KinesisOnFailureRecord {
  const first = records[0];
  const last = records.at(-1);
  if (!first || !last) throw new RangeError('an on-failure record describes at least one record');
  return {
    ...failureEnvelope(details),
    KinesisBatchInfo: {
      shardId: source.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: last.sequenceNumber,
      approximateArrivalOfFirstRecord: new Date(first.arrivalMs).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.arrivalMs).toISOString(),
      batchSize: records.length,
      streamArn: source.streamArn,
    },
  };
}
