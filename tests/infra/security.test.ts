import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { validateStreamfoldProps } from '../../infra/stack-props.js';
import { buildStack, synthTemplate, synthTemplateJson, type TemplateJson } from '../helpers/synth.js';

const template = synthTemplate();
const resources = synthTemplateJson().Resources;
const idsOf = (json: TemplateJson, type: string) =>
  Object.entries(json.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id]) => id);
const [keyId] = idsOf(synthTemplateJson(), 'AWS::KMS::Key');
const [topicId] = idsOf(synthTemplateJson(), 'AWS::SNS::Topic');

describe('the stack key', () => {
  it('is one rotated customer-managed key', () => {
    expect(idsOf(synthTemplateJson(), 'AWS::KMS::Key')).toHaveLength(1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('lets CloudWatch Logs use it for the log groups of this account and region only', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'CloudWatchLogs',
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': {
                  'Fn::Join': [
                    '',
                    Match.arrayWith([':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:*']),
                  ],
                },
              },
            },
          }),
          Match.objectLike({ Sid: 'CloudWatchAlarms', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
          Match.objectLike({ Sid: 'GrantsOnlyForAwsResources', Effect: 'Deny', Action: 'kms:CreateGrant' }),
        ]),
      },
    });
  });
});

describe('log groups', () => {
  it('keep every log for a year and are encrypted with the stack key', () => {
    const groups = idsOf(synthTemplateJson(), 'AWS::Logs::LogGroup');

    expect(groups.length).toBeGreaterThan(5);
    for (const id of groups) {
      expect(resources[id]?.Properties, id).toMatchObject({
        RetentionInDays: 365,
        KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      });
    }
  });

  it('follow the logRetention and logEncryption settings', () => {
    const json = Template.fromStack(
      buildStack({ logRetention: logs.RetentionDays.TWO_YEARS, logEncryption: false, kafka: { mode: 'none' } }),
    ).toJSON() as TemplateJson;

    for (const id of idsOf(json, 'AWS::Logs::LogGroup')) {
      expect(json.Resources[id]?.Properties?.['RetentionInDays'], id).toBe(731);
      expect(json.Resources[id]?.Properties?.['KmsKeyId'], id).toBeUndefined();
    }
  });
});

describe('alarms', () => {
  it('notify the encrypted, TLS-only alarm topic when they fire and when they clear', () => {
    const alarms = idsOf(synthTemplateJson(), 'AWS::CloudWatch::Alarm');

    expect(alarms.length).toBeGreaterThan(0);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    for (const id of alarms) {
      expect(resources[id]?.Properties, id).toMatchObject({
        AlarmActions: [{ Ref: topicId }],
        OKActions: [{ Ref: topicId }],
      });
    }
    expect(synthTemplateJson().Outputs?.['AlarmTopicArn']?.Value).toEqual({ Ref: topicId });
  });

  it('subscribe each alarm subscriber by email, SQS or Lambda', () => {
    const queue = 'arn:aws:sqs:eu-west-1:123456789012:ops';
    const fn = 'arn:aws:lambda:eu-west-1:123456789012:function:pager';
    const alarmed = Template.fromStack(
      buildStack({ kafka: { mode: 'none' }, alarmSubscribers: ['ops@example.com', queue, fn] }),
    );

    alarmed.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    alarmed.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs', Endpoint: queue });
    alarmed.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda', Endpoint: fn });
  });
});

describe('invoke permissions', () => {
  it('scope every API Gateway permission to the API and the account', () => {
    const permissions = idsOf(synthTemplateJson(), 'AWS::Lambda::Permission');

    expect(permissions.length).toBeGreaterThan(0);
    for (const id of permissions) {
      expect(resources[id]?.Properties, id).toMatchObject({
        Principal: 'apigateway.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
        SourceArn: { 'Fn::Join': ['', expect.arrayContaining([':execute-api:'])] },
      });
    }
  });
});

describe('security settings validation', () => {
  it('accepts the documented values', () => {
    expect(
      validateStreamfoldProps({
        logRetention: logs.RetentionDays.FIVE_YEARS,
        logEncryption: false,
        alarmSubscribers: ['ops@example.com', 'arn:aws:sqs:eu-west-1:123456789012:ops'],
      }),
    ).toEqual([]);
  });

  it('lists every bad value at once', () => {
    expect(
      validateStreamfoldProps({
        logRetention: 42 as logs.RetentionDays,
        logEncryption: 'no' as unknown as boolean,
        alarmSubscribers: ['not-an-address', 'arn:aws:sns:eu-west-1:123456789012:topic'],
      }),
    ).toEqual([
      'logRetention must be one of logs.RetentionDays, got 42',
      'logEncryption must be true or false, got no',
      'alarmSubscribers must be email addresses or SQS queue / Lambda function ARNs, got not-an-address',
      'alarmSubscribers must be email addresses or SQS queue / Lambda function ARNs, got arn:aws:sns:eu-west-1:123456789012:topic',
    ]);
  });
});
