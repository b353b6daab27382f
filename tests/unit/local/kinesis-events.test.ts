import { describe, expect, it } from 'vitest';
import { buildKinesisEvent, buildOnFailureRecord, type ShardRecord } from '../../../local/runtime/kinesis-events.js';

const source = {
  streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/InputStream',
  shardId: 'shardId-000000000000',
  functionName: 'ProcessorFunction',
};
const record = (seq: string, arrivalMs: number, data = '{"vehicleId":"V1"}'): ShardRecord => ({
  sequenceNumber: seq,
  arrivalMs,
  partitionKey: 'V1',
  data: Buffer.from(data),
});

describe('buildKinesisEvent', () => {
  it('builds records exactly as Lambda does', () => {
    const event = buildKinesisEvent(source, [record('4960001', 1_700_000_000_123)]);

    expect(event.Records[0]).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'V1',
        sequenceNumber: '4960001',
        data: Buffer.from('{"vehicleId":"V1"}').toString('base64'),
        approximateArrivalTimestamp: 1_700_000_000.123,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: 'shardId-000000000000:4960001',
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/ProcessorFunctionServiceRole',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/InputStream',
    });
  });
});

describe('buildOnFailureRecord', () => {
  it('describes the batch given up on in the shape AWS sends to the destination', () => {
    const failed = [record('4960001', Date.UTC(2025, 0, 1)), record('4960009', Date.UTC(2025, 0, 1, 0, 0, 5))];

    const onFailure = buildOnFailureRecord(source, failed, {
      requestId: 'req-1',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ProcessorFunction',
      condition: 'RetryAttemptsExhausted',
      invokeCount: 3,
      functionError: 'Unhandled',
      now: new Date(Date.UTC(2025, 0, 1, 0, 1)),
    });

    expect(onFailure).toEqual({
      requestContext: {
        requestId: 'req-1',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ProcessorFunction',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2025-01-01T00:01:00.000Z',
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: '4960001',
        endSequenceNumber: '4960009',
        approximateArrivalOfFirstRecord: '2025-01-01T00:00:00.000Z',
        approximateArrivalOfLastRecord: '2025-01-01T00:00:05.000Z',
        batchSize: 2,
        streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/InputStream',
      },
    });
  });
});
