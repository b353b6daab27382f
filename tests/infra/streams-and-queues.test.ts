import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthTemplate, synthTemplateJson } from '../helpers/synth.js';

const template = synthTemplate();

function logicalIdsOf(type: string): string[] {
  return Object.entries(synthTemplateJson().Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id]) => id);
}

describe('Kinesis streams', () => {
  it.each(['InputStream', 'OutputStream'])('%s is provisioned with 2 shards and KMS-encrypted', (name) => {
    const [id] = logicalIdsOf('AWS::Kinesis::Stream').filter((logicalId) => logicalId.startsWith(name));

    expect(id).toBeDefined();
    expect(synthTemplateJson().Resources[id!]?.Properties).toMatchObject({
      ShardCount: 2,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
    });
  });

  it('has exactly the two streams of the contract', () => {
    expect(logicalIdsOf('AWS::Kinesis::Stream').map((id) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(
      expect.arrayContaining(['InputStream', 'OutputStream']),
    );
    expect(logicalIdsOf('AWS::Kinesis::Stream')).toHaveLength(2);
  });
});

describe('SQS queues', () => {
  it('has the dead-letter queue and one failure queue per event-source mapping', () => {
    expect(
      logicalIdsOf('AWS::SQS::Queue')
        .map((id) => id.replace(/[0-9A-F]{8}$/, ''))
        .sort(),
    ).toEqual(['BroadcasterFailureQueue', 'DeadLetterQueue', 'KafkaProcessorFailureQueue', 'ProcessorFailureQueue']);
  });

  it('encrypts every queue and keeps messages 14 days', () => {
    template.allResourcesProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('denies non-TLS access to every queue', () => {
    const queues = logicalIdsOf('AWS::SQS::Queue');
    for (const queue of queues) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});
