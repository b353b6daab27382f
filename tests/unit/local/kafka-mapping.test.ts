import { describe, expect, it } from 'vitest';
import { buildKafkaOnFailureRecord, buildMskEvent, type PartitionRecord } from '../../../local/runtime/kafka-events.js';
import { planLocalStack } from '../../../local/runtime/plan.js';
import type { CfnTemplate } from '../../../local/runtime/template.js';
import { kafkaSourceRecords } from '../../../shared/events/source-records.js';

/** A template shaped like the stack's Kafka path: a cluster, a topic resource, a mapping to a function. */
function kafkaTemplate(mapping: Record<string, unknown> = {}): CfnTemplate {
  return {
    Resources: {
      KafkaCluster: { Type: 'AWS::MSK::ServerlessCluster', Properties: {} },
      Topic: { Type: 'Custom::KafkaTopic', Properties: { Topic: 'vehicle.position.v1', Partitions: 2 } },
      FailureQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: { Handler: 'index.handler' },
        Metadata: { 'streamfold:entry': 'tests/unit/local/fixtures/handlers/echo.ts' },
      },
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          FunctionName: { Ref: 'Fn' },
          EventSourceArn: { Ref: 'KafkaCluster' },
          Topics: ['vehicle.position.v1'],
          AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'streamfold-processor' },
          StartingPosition: 'TRIM_HORIZON',
          BatchSize: 500,
          MaximumBatchingWindowInSeconds: 1,
          BisectBatchOnFunctionError: true,
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['FailureQueue', 'Arn'] } } },
          ...mapping,
        },
      },
    },
  };
}

describe('planning Kafka event sources', () => {
  it('reads topics, consumer group, batching and failure handling of an MSK mapping', () => {
    const plan = planLocalStack(kafkaTemplate());

    expect(plan.kinesisMappings).toEqual([]);
    expect(plan.kafkaMappings).toEqual([
      {
        logicalId: 'Mapping',
        functionLogicalId: 'Fn',
        topics: ['vehicle.position.v1'],
        consumerGroupId: 'streamfold-processor',
        eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/KafkaCluster/local',
        enabled: true,
        batchSize: 500,
        maxBatchingWindowSeconds: 1,
        startingPosition: 'TRIM_HORIZON',
        bisectOnError: true,
        // Unlimited retries with an on-failure destination: Lambda caps Kafka retries at 10.
        maxRetryAttempts: 10,
        maxRecordAgeSeconds: -1,
        reportBatchItemFailures: false,
        onFailureQueueLogicalId: 'FailureQueue',
      },
    ]);
    expect(plan.kafkaTopics).toEqual([{ logicalId: 'Topic', name: 'vehicle.position.v1', partitions: 2 }]);
    expect(plan.kafkaClusters).toEqual(['KafkaCluster']);
  });

  it('keeps the configured retries and notes that an existing cluster is replaced by the local broker', () => {
    const arn = 'arn:aws:kafka:eu-west-1:123456789012:cluster/prod/abc-1';
    const plan = planLocalStack(kafkaTemplate({ EventSourceArn: arn, MaximumRetryAttempts: 5 }));

    expect(plan.kafkaMappings[0]).toMatchObject({ eventSourceArn: arn, maxRetryAttempts: 5 });
    expect(plan.warnings).toContain(`Mapping: the existing cluster ${arn} is replaced by the local broker`);
  });

  it('refuses a topic resource without a literal name or partition count', () => {
    const template = kafkaTemplate();
    template.Resources.Topic!.Properties = { Topic: { Ref: 'X' }, Partitions: 0 };

    expect(() => planLocalStack(template)).toThrow(/Topic.Topic must be a literal topic name/);
  });
});

describe('MSK events built locally', () => {
  const record = (offset: number, value: string | null): PartitionRecord => ({
    topic: 'vehicle.position.v1',
    partition: 1,
    offset,
    sequenceNumber: String(offset),
    arrivalMs: Date.UTC(2026, 10, 21),
    key: Buffer.from('V7'),
    value: value === null ? null : Buffer.from(value),
    headers: { source: 'kcat' },
  });
  const source = {
    eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/K/local',
    bootstrapServers: '127.0.0.1:9092',
  };

  it('groups records by topic-partition with base64 keys and values, and the adapter reads them back', () => {
    const event = buildMskEvent(source, [record(4, '{"a":1}'), record(5, '{"a":2}')]);

    expect(event.eventSource).toBe('aws:kafka');
    expect(Object.keys(event.records)).toEqual(['vehicle.position.v1-1']);
    expect(event.records['vehicle.position.v1-1']![0]).toMatchObject({
      offset: 4,
      key: Buffer.from('V7').toString('base64'),
      value: Buffer.from('{"a":1}').toString('base64'),
      headers: [{ source: [...Buffer.from('kcat')] }],
    });
    expect(kafkaSourceRecords(event).map((r) => r.data.toString())).toEqual(['{"a":1}', '{"a":2}']);
  });

  it('omits the value of a tombstone', () => {
    const event = buildMskEvent(source, [record(1, null)]);

    expect(event.records['vehicle.position.v1-1']![0]).not.toHaveProperty('value');
  });

  it('describes records given up on by partition and offsets', () => {
    const failure = buildKafkaOnFailureRecord(source, [record(4, 'x'), record(6, 'y')], {
      requestId: 'r',
      functionArn: 'arn:fn',
      condition: 'RetryAttemptsExhausted',
      invokeCount: 11,
      functionError: 'Unhandled',
      now: new Date(Date.UTC(2026, 10, 21, 1)),
    });

    expect(failure.KafkaBatchInfo).toMatchObject({
      batchSize: 2,
      eventSourceArn: source.eventSourceArn,
      recordsInfo: { 'vehicle.position.v1-1': { firstRecordOffset: '4', lastRecordOffset: '6' } },
    });
    expect(failure.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 11 });
  });
});
