import { setTimeout as sleep } from 'node:timers/promises';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { ShardPoller } from '../../../local/runtime/kinesis-poller.js';
import type { KinesisMappingPlan } from '../../../local/runtime/plan.js';

const MAPPING: KinesisMappingPlan = {
  logicalId: 'Mapping',
  functionLogicalId: 'Fn',
  streamLogicalId: 'Stream',
  enabled: true,
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  startingPosition: 'TRIM_HORIZON',
  parallelizationFactor: 1,
  bisectOnError: true,
  maxRetryAttempts: 2,
  maxRecordAgeSeconds: -1,
  reportBatchItemFailures: false,
};

/** A poller of one shard of MAPPING on `kinesis`, invoking `invoke` for each batch. */
const shardPoller = (
  kinesis: KinesisClient,
  invoke: () => void,
  extra: Partial<ConstructorParameters<typeof ShardPoller>[0]> = {},
): ShardPoller =>
  new ShardPoller({
    kinesis,
    sqs: {} as SQSClient,
    mapping: MAPPING,
    streamName: 'Stream',
    streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/Stream',
    shardId: 'shardId-000000000000',
    fn: {
      name: 'fn',
      arn: 'arn:fn',
      invoke: async () => {
        invoke();
        return { ok: true, requestId: 'r', value: null };
      },
    },
    pollIntervalMs: 5,
    ...extra,
  });

/** A shard holding one record that arrived `ageMs` ago, read by the first GetRecords; then caught up. */
function oneRecordShard(ageMs: number) {
  let reads = 0;
  return {
    send: async (command: { constructor: { name: string } }) => {
      if (command.constructor.name === 'GetShardIteratorCommand') return { ShardIterator: 'it' };
      reads += 1;
      if (reads > 1) return { Records: [], NextShardIterator: 'it', MillisBehindLatest: 0 };
      return {
        Records: [
          {
            SequenceNumber: '1',
            PartitionKey: 'k',
            Data: new TextEncoder().encode('{}'),
            ApproximateArrivalTimestamp: new Date(Date.now() - ageMs),
          },
        ],
        NextShardIterator: 'it',
        MillisBehindLatest: ageMs,
      };
    },
  } as unknown as KinesisClient;
}

describe('ShardPoller lag', () => {
  it('reports an iterator age of 0 once the shard is caught up, not the last batch age forever', async () => {
    const invoked: number[] = [];
    const poller: ShardPoller = shardPoller(oneRecordShard(5_000), () => invoked.push(poller.stats.iteratorAgeMs));

    poller.start();
    await sleep(200);
    await poller.stop();

    expect(invoked).toHaveLength(1);
    expect(invoked[0]).toBeGreaterThanOrEqual(5_000);
    expect(poller.stats.iteratorAgeMs).toBe(0);
    expect(poller.stats.millisBehindLatest).toBe(0);
  });
});

describe('ShardPoller resume', () => {
  it('keeps polling from the start position when its checkpoint is unusable and the iterator then expires', async () => {
    let reads = 0;
    const kinesis = {
      send: async (command: { constructor: { name: string }; input: { ShardIteratorType?: string } }) => {
        if (command.constructor.name === 'GetShardIteratorCommand') {
          if (command.input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER') throw new Error('InvalidArgumentException');
          return { ShardIterator: 'it' };
        }
        reads += 1;
        if (reads === 1) throw Object.assign(new Error('expired'), { name: 'ExpiredIteratorException' });
        if (reads > 2) return { Records: [], NextShardIterator: 'it', MillisBehindLatest: 0 };
        const record = { SequenceNumber: '7', PartitionKey: 'k', Data: new TextEncoder().encode('{}') };
        return { Records: [{ ...record, ApproximateArrivalTimestamp: new Date() }], NextShardIterator: 'it' };
      },
    } as unknown as KinesisClient;
    let invocations = 0;
    const poller = shardPoller(kinesis, () => invocations++, {
      checkpoints: { get: () => 'gone-after-retention', set: () => undefined },
      log: () => undefined,
    });

    poller.start();
    await sleep(200);
    await poller.stop();

    expect(invocations).toBe(1);
    expect(poller.stats.checkpoint).toBe('7');
  });
});
