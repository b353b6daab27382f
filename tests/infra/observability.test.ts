import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthTemplate, synthTemplateJson } from '../helpers/synth.js';

const template = synthTemplate();
const resources = synthTemplateJson().Resources;

/** The dashboard body JSON, with references (region, resource names) replaced by `<ref>`. */
function dashboardBody(): string {
  const dashboard = Object.values(resources).find((resource) => resource.Type === 'AWS::CloudWatch::Dashboard');
  const body = dashboard?.Properties?.['DashboardBody'] as { 'Fn::Join': [string, unknown[]] };
  return body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
}

const CONTRACT_METRICS = [
  'EventsAccepted',
  'EventsRejected',
  'EventsProcessed',
  'DuplicatesSkipped',
  'LateEvents',
  'WindowsWritten',
  'AnomaliesDetected',
  'EtasWritten',
  'ConditionalRetries',
  'BroadcastsSent',
  'ConnectionsGone',
];

describe('observability', () => {
  it('names the dashboard Streamfold', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Streamfold' });
  });

  it.each(CONTRACT_METRICS)('charts the %s metric of the Streamfold namespace', (metric) => {
    expect(dashboardBody()).toContain(`{Streamfold,service} MetricName=\\"${metric}\\"`);
  });

  it('charts iterator age, Lambda health and failure queue depth', () => {
    const body = dashboardBody();
    for (const metric of [
      'GetRecords.IteratorAgeMilliseconds',
      'IteratorAge',
      'Errors',
      'Duration',
      'Throttles',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(`"${metric}"`);
    }
  });

  it('alarms as soon as a failure queue holds a message', () => {
    for (const queue of [
      'DeadLetterQueue',
      'ProcessorFailureQueue',
      'BroadcasterFailureQueue',
      'KafkaProcessorFailureQueue',
    ]) {
      const queueId = Object.keys(resources).find(
        (id) => resources[id]?.Type === 'AWS::SQS::Queue' && id.startsWith(queue),
      );
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('alarms when the processor falls behind the input stream by more than the allowed lateness', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^ProcessorFunction') } }],
      Threshold: 120_000,
    });
  });
});

describe('observability of the Kafka path', () => {
  const kafkaProcessor = Object.keys(resources).find(
    (id) => resources[id]?.Type === 'AWS::Lambda::Function' && id.startsWith('KafkaProcessorFunction'),
  );

  it('charts the Kafka processor with the other functions, and its offset lag', () => {
    const body = dashboardBody();

    expect(body).toContain('"label":"kafkaProcessor"');
    expect(body).toContain('"title":"Kafka offset lag (records)"');
    expect(body).toMatch(
      /"AWS\/Lambda","OffsetLag","FunctionName","<ref>",\{"label":"kafkaProcessor OffsetLag","stat":"Maximum"/,
    );
  });

  it('alarms when the Kafka processor falls 10,000 records behind its topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'OffsetLag',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: kafkaProcessor } }],
      Statistic: 'Maximum',
      Threshold: 10_000,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });
});

describe('stack outputs', () => {
  it.each([
    'RestApiUrl',
    'WebSocketUrl',
    'ApiKeyId',
    'InputStreamName',
    'OutputStreamName',
    'DeadLetterQueueUrl',
    'ReferenceTableName',
    'VehicleStateTableName',
    'WindowsTableName',
    'AnomaliesTableName',
    'EtaTableName',
    'LateEventsTableName',
    'ConnectionsTableName',
    'KafkaClusterArn',
    'KafkaTopicName',
    'KafkaProcessorFailureQueueUrl',
  ])('exports %s', (name) => {
    expect(synthTemplateJson().Outputs?.[name]?.Value).toBeDefined();
  });
});
