import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type StreamfoldStackProps, validateStreamfoldProps } from '../../infra/stack-props.js';
import { planLocalStack } from '../../local/runtime/plan.js';
import type { CfnResource, CfnTemplate } from '../../local/runtime/template.js';
import { TRANSIT_DEPLOYMENT } from '../../pipelines/transit/description.js';
import { deploymentNames, engineDeployment } from '../../shared/engine/deployment.js';
import type { PipelineDescription } from '../../shared/engine/pipeline.js';
import { sensorsDescription } from '../fixtures/pipelines/sensors/description.js';
import { grants, type PolicyStatement, TABLE_READ, TABLE_READ_WRITE } from '../helpers/iam-grants.js';
import { buildStack } from '../helpers/synth.js';

const CLUSTER_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/shared-kafka/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab-3';

type Resource = CfnResource;
type Resources = Record<string, Resource>;
interface TemplateJson extends CfnTemplate {
  Outputs?: Record<string, { Value: unknown }>;
}

/** The test pipeline as if it had no reference data and no settings: a base for other pipelines. */
const { reference: _reference, settings: _settings, ...withoutReference } = sensorsDescription;

const synth = (props: StreamfoldStackProps = {}) => Template.fromStack(buildStack(props)).toJSON() as TemplateJson;

/** Logical id of the one resource of `type` whose id starts with `prefix`. */
function idOf(resources: Resources, type: string, prefix: string): string {
  const ids = Object.keys(resources).filter((id) => resources[id]?.Type === type && id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

const ofType = (resources: Resources, type: string) =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);

// The stack with the test pipeline and MSK Serverless, the default Kafka mode.
const json = synth({ pipelines: [sensorsDescription] });
const resources = json.Resources;
const id = (type: string, prefix: string) => idOf(resources, type, prefix);
const props = (type: string, prefix: string) => resources[id(type, prefix)]?.Properties ?? {};
const FUNCTION = 'AWS::Lambda::Function';
const fnId = (name: string) => id(FUNCTION, `SensorsPipeline${name}Function`);

/** Full path of an API Gateway resource, following ParentId up to the root. */
function resourcePath(all: Resources, logicalId: string): string {
  const resource = all[logicalId];
  if (resource?.Type !== 'AWS::ApiGateway::Resource') return '';
  const parent = resource.Properties?.['ParentId'] as { Ref?: string };
  return `${parent.Ref ? resourcePath(all, parent.Ref) : ''}/${resource.Properties?.['PathPart'] as string}`;
}

/** Every REST method of a template as `VERB /path`, with its properties. */
function restMethods(all: Resources): Map<string, Record<string, unknown>> {
  const methods = new Map<string, Record<string, unknown>>();
  for (const [, resource] of ofType(all, 'AWS::ApiGateway::Method')) {
    const parent = resource.Properties?.['ResourceId'] as { Ref?: string };
    const path = parent.Ref ? resourcePath(all, parent.Ref) : '/';
    methods.set(`${resource.Properties?.['HttpMethod'] as string} ${path}`, resource.Properties ?? {});
  }
  return methods;
}

const environmentOf = (all: Resources, logicalId: string): Record<string, unknown> =>
  (all[logicalId]?.Properties?.['Environment'] as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};

/** The environment a function gets besides StreamfoldFunction's defaults and the pipeline's settings. */
function boundEnvironment(all: Resources, logicalId: string): Record<string, unknown> {
  const { NODE_OPTIONS, POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL, ...bound } =
    environmentOf(all, logicalId);
  return Object.fromEntries(Object.entries(bound).filter(([name]) => !name.startsWith('SENSORS_')));
}

/** The pipeline's settings variables of a function. */
const settingsOf = (all: Resources, logicalId: string) =>
  Object.fromEntries(Object.entries(environmentOf(all, logicalId)).filter(([name]) => name.startsWith('SENSORS_')));

const STREAM_WRITE = ['kinesis:ListShards', 'kinesis:PutRecord', 'kinesis:PutRecords'];
const STREAM_READ = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamConsumer',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  'kinesis:ListShards',
  'kinesis:ListStreams',
  'kinesis:SubscribeToShard',
];
const QUEUE_SEND = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];

describe('a pipeline of the stack', () => {
  const table = id('AWS::DynamoDB::Table', 'SensorsPipelineEngineTable');
  const referenceTable = id('AWS::DynamoDB::Table', 'SensorsPipelineReferenceTable');
  const inputStream = id('AWS::Kinesis::Stream', 'SensorsPipelineInputStream');
  const outputStream = id('AWS::Kinesis::Stream', 'OutputStream');
  const deadLetterQueue = id('AWS::SQS::Queue', 'DeadLetterQueue');
  const failureQueue = id('AWS::SQS::Queue', 'SensorsPipelineProcessorFailureQueue');
  const kafkaFailureQueue = id('AWS::SQS::Queue', 'SensorsPipelineKafkaProcessorFailureQueue');

  it('has its own input stream with the description’s shards, provisioned and encrypted', () => {
    expect(resources[inputStream]?.Properties).toEqual({
      RetentionPeriodHours: 24,
      ShardCount: 1,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
    });
  });

  it('has an engine table keyed pk/sk, with the sparse due index and TTL on ttl, retained by default', () => {
    expect(resources[table]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(resources[table]?.Properties).toEqual({
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'dueShard', AttributeType: 'S' },
        { AttributeName: 'closeAt', AttributeType: 'N' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'due',
          KeySchema: [
            { AttributeName: 'dueShard', KeyType: 'HASH' },
            { AttributeName: 'closeAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  it('has a reference table keyed by the string pk, carrying its seed step for the offline runtime', () => {
    expect(resources[referenceTable]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(resources[referenceTable]?.Metadata).toEqual({
      'streamfold:seed': {
        name: 'sensors',
        loader: 'tests/fixtures/pipelines/sensors/reference.ts',
        export: 'loadSensorReference',
      },
    });
    expect(resources[referenceTable]?.Properties).toEqual({
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(json.Outputs?.['SensorsPipelineReferenceTableName']?.Value).toEqual({ Ref: referenceTable });
  });

  it('has the offline runtime create the reference table and know its seed step, as for transit’s', () => {
    const plan = planLocalStack(json);

    expect(plan.tables.find((t) => t.logicalId === referenceTable)?.keySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
    ]);
    expect(plan.seeds).toEqual([
      expect.objectContaining({ name: 'gtfs' }),
      {
        name: 'sensors',
        tableLogicalId: referenceTable,
        loader: 'tests/fixtures/pipelines/sensors/reference.ts',
        exportName: 'loadSensorReference',
      },
    ]);
  });

  it('has no reference table, and binds none, for a pipeline without reference data', () => {
    const plain = synth({ kafka: { mode: 'none' }, pipelines: [withoutReference] }).Resources;
    const processor = idOf(plain, FUNCTION, 'SensorsPipelineProcessorFunction');

    expect(Object.keys(plain).filter((logicalId) => logicalId.startsWith('SensorsPipelineReferenceTable'))).toEqual([]);
    expect(boundEnvironment(plain, processor)['REFERENCE_TABLE']).toBeUndefined();
  });

  it("takes the engine table's removal policy from the stack's tableRemovalPolicy", () => {
    const destroyed = synth({
      kafka: { mode: 'none' },
      pipelines: [sensorsDescription],
      tableRemovalPolicy: RemovalPolicy.DESTROY,
    });

    expect(
      destroyed.Resources[idOf(destroyed.Resources, 'AWS::DynamoDB::Table', 'SensorsPipelineEngineTable')],
    ).toMatchObject({ DeletionPolicy: 'Delete' });
  });

  it('has failure queues for both processors, SQS-encrypted and kept 14 days', () => {
    for (const queue of [failureQueue, kafkaFailureQueue]) {
      expect(resources[queue]?.Properties).toEqual({ MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true });
    }
  });

  it.each([
    ['Ingest', 'ingest', 'sensors-ingest', 10],
    ['Processor', 'processor', 'sensors-processor', 120],
    ['KafkaProcessor', 'kafkaProcessor', 'sensors-kafka-processor', 120],
    ['Tick', 'tick', 'sensors-tick', 30],
    ['Api', 'api', 'sensors-api', 10],
  ])('runs %sFunction from the handlers module’s %s export, as service %s', (name, handler, service, timeout) => {
    const fn = resources[fnId(name)];

    expect(fn?.Metadata?.['streamfold:entry']).toBe('tests/fixtures/pipelines/sensors/handlers.ts');
    expect(fn?.Properties).toMatchObject({
      Handler: `index.${handler}`,
      Timeout: timeout,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: { Variables: expect.objectContaining({ POWERTOOLS_SERVICE_NAME: service }) },
    });
  });

  it('runs the same exports offline: the local plan names each handler', () => {
    const plan = planLocalStack(json);
    const exports = plan.functions.filter((fn) => fn.logicalId.startsWith('SensorsPipeline'));

    expect(exports.map((fn) => [fn.logicalId, fn.entry, fn.handlerExport])).toEqual(
      ['Ingest', 'Processor', 'Api', 'Tick', 'KafkaProcessor'].map((name) => [
        fnId(name),
        'tests/fixtures/pipelines/sensors/handlers.ts',
        name === 'KafkaProcessor' ? 'kafkaProcessor' : name.toLowerCase(),
      ]),
    );
  });

  it('binds each function to exactly what it uses: environment and IAM actions', () => {
    const bindings = {
      Ingest: {
        environment: { INPUT_STREAM_NAME: { Ref: inputStream }, DEAD_LETTER_QUEUE_URL: { Ref: deadLetterQueue } },
        grants: [
          [STREAM_WRITE, [inputStream]],
          [QUEUE_SEND, [deadLetterQueue]],
        ],
      },
      Processor: {
        environment: {
          ENGINE_TABLE: { Ref: table },
          OUTPUT_STREAM_NAME: { Ref: outputStream },
          DEAD_LETTER_QUEUE_URL: { Ref: deadLetterQueue },
          REFERENCE_TABLE: { Ref: referenceTable },
        },
        // The event source adds reading the input stream and sending to the failure queue.
        grants: [
          [TABLE_READ_WRITE, [table, `${table}/index/*`]],
          [TABLE_READ, [referenceTable]],
          [STREAM_WRITE, [outputStream]],
          [QUEUE_SEND, [deadLetterQueue, failureQueue]],
          [STREAM_READ, [inputStream]],
        ],
      },
      Tick: {
        environment: { ENGINE_TABLE: { Ref: table }, OUTPUT_STREAM_NAME: { Ref: outputStream } },
        grants: [
          [TABLE_READ_WRITE, [table, `${table}/index/*`]],
          [STREAM_WRITE, [outputStream]],
        ],
      },
      Api: {
        environment: { ENGINE_TABLE: { Ref: table } },
        grants: [[TABLE_READ, [table, `${table}/index/*`]]],
      },
    };

    for (const [name, expected] of Object.entries(bindings)) {
      expect(boundEnvironment(resources, fnId(name)), name).toEqual(expected.environment);
      expect(grants(resources, fnId(name)), name).toEqual(expected.grants);
    }
  });

  it("gives every function the pipeline's settings, at their defaults or as pipelineSettings says", () => {
    const tuned = synth({
      pipelines: [sensorsDescription],
      pipelineSettings: { sensors: { allowedLatenessSeconds: 60 } },
    });
    const names = ['Ingest', 'Processor', 'KafkaProcessor', 'Tick', 'Api'];

    for (const name of names) {
      expect(settingsOf(resources, fnId(name)), name).toEqual({
        SENSORS_ALLOWED_LATENESS_SECONDS: '30',
        SENSORS_MAX_CLOCK_SKEW_SECONDS: '15',
      });
      expect(
        settingsOf(tuned.Resources, idOf(tuned.Resources, FUNCTION, `SensorsPipeline${name}Function`)),
        name,
      ).toEqual({
        SENSORS_ALLOWED_LATENESS_SECONDS: '60',
        SENSORS_MAX_CLOCK_SKEW_SECONDS: '15',
      });
    }
  });

  it('refuses pipelineSettings naming no pipeline, no setting, or a value out of bounds', () => {
    expect(
      validateStreamfoldProps({
        pipelines: [sensorsDescription],
        pipelineSettings: {
          sensors: { allowedLatenessSeconds: 2.5, maxClockSkewSeconds: 5, windowSeconds: 10 },
          donations: { allowedLatenessSeconds: 10 },
        },
      }),
    ).toEqual([
      'pipelineSettings.sensors.allowedLatenessSeconds must be a whole number from 0 to 3600, got 2.5',
      'pipelineSettings.sensors.windowSeconds: sensors has no such setting; its settings are allowedLatenessSeconds, maxClockSkewSeconds',
      'pipelineSettings.sensors.maxClockSkewSeconds must be at most allowedLatenessSeconds × 0.5 = 1.25, got 5',
      'pipelineSettings.donations: no pipeline of the stack is named "donations"',
    ]);
  });

  it('refuses at synth the settings its definition would refuse at every cold start: a skew above half the lateness', () => {
    const check = (values: Record<string, number>) =>
      validateStreamfoldProps({ pipelines: [sensorsDescription], pipelineSettings: { sensors: values } });

    // The default skew (15 s) against a shorter lateness, and a set skew against the default lateness (30 s).
    expect(check({ allowedLatenessSeconds: 20 })).toEqual([
      'pipelineSettings.sensors.maxClockSkewSeconds must be at most allowedLatenessSeconds × 0.5 = 10, got 15',
    ]);
    expect(check({ maxClockSkewSeconds: 16 })).toEqual([
      'pipelineSettings.sensors.maxClockSkewSeconds must be at most allowedLatenessSeconds × 0.5 = 15, got 16',
    ]);
    expect(check({ allowedLatenessSeconds: 30, maxClockSkewSeconds: 15 })).toEqual([]);
    expect(check({ allowedLatenessSeconds: 20, maxClockSkewSeconds: 10 })).toEqual([]);
  });

  it('gives the Kafka processor the processor’s bindings, its failure queue and the pipeline topic and group', () => {
    const kafkaGrants = grants(resources, fnId('KafkaProcessor'));
    const processorGrants = grants(resources, fnId('Processor'));

    expect(boundEnvironment(resources, fnId('KafkaProcessor'))).toEqual(boundEnvironment(resources, fnId('Processor')));
    expect(kafkaGrants.slice(0, 4)).toEqual([
      ...processorGrants.slice(0, 3),
      [QUEUE_SEND, [deadLetterQueue, kafkaFailureQueue]],
    ]);
    expect(kafkaGrants.slice(4).map(([actions]) => actions)).toEqual([
      [
        'kafka-cluster:Connect',
        'kafka-cluster:DescribeClusterDynamicConfiguration',
        'kafka:DescribeCluster',
        'kafka:GetBootstrapBrokers',
        'kafka:ListScramSecrets',
      ],
      ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
      ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
    ]);
    expect(JSON.stringify(kafkaGrants[5])).toContain('/sensor.reading.v1');
    expect(JSON.stringify(kafkaGrants[6])).toContain('/streamfold-sensors-processor');
  });

  it('feeds the processor from its input stream with the StreamEventSource defaults', () => {
    const [mapping, ...others] = ofType(resources, 'AWS::Lambda::EventSourceMapping').filter(
      ([, resource]) =>
        JSON.stringify(resource.Properties?.['FunctionName']) === JSON.stringify({ Ref: fnId('Processor') }),
    );

    expect(others).toEqual([]);
    expect(mapping?.[1].Properties).toEqual({
      BatchSize: 500,
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failureQueue, 'Arn'] } } },
      EventSourceArn: { 'Fn::GetAtt': [inputStream, 'Arn'] },
      FunctionName: { Ref: fnId('Processor') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumBatchingWindowInSeconds: 1,
      MaximumRecordAgeInSeconds: 3600,
      MaximumRetryAttempts: 5,
      ParallelizationFactor: 1,
      StartingPosition: 'TRIM_HORIZON',
    });
  });

  it('runs the tick on the description’s rate, with the permission EventBridge needs, also offline', () => {
    const rule = id('AWS::Events::Rule', 'SensorsPipelineTickRule');
    const permissions = ofType(resources, 'AWS::Lambda::Permission').filter(
      ([, resource]) => resource.Properties?.['Principal'] === 'events.amazonaws.com',
    );
    const schedules = planLocalStack(json).schedules;

    expect(resources[rule]?.Properties).toEqual({
      Description: 'Closes due windows and sessions of the sensors pipeline',
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [fnId('Tick'), 'Arn'] }, Id: 'Target0' }],
    });
    expect(permissions.map(([, resource]) => resource.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [fnId('Tick'), 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
        SourceArn: { 'Fn::GetAtt': [rule, 'Arn'] },
      },
    ]);
    expect(schedules.map((s) => [s.logicalId, s.expression, s.targets.map((t) => t.permissionLogicalId)])).toEqual([
      [rule, 'rate(1 minute)', [permissions[0]?.[0]]],
    ]);
  });

  it('adds its routes to the REST API: ingest with the API key, reads public by default', () => {
    const methods = restMethods(resources);
    const target = (route: string) => JSON.stringify((methods.get(route)!['Integration'] as { Uri: unknown }).Uri);
    const auth = (route: string) => [methods.get(route)?.['AuthorizationType'], methods.get(route)?.['ApiKeyRequired']];

    expect([...methods.keys()].filter((route) => route.includes('/v1/sensors/')).sort()).toEqual(
      ['GET /v1/sensors/alerts', 'GET /v1/sensors/{sensorId}/metrics', 'POST /v1/sensors/events'].sort(),
    );
    expect(auth('POST /v1/sensors/events')).toEqual(['NONE', true]);
    expect(target('POST /v1/sensors/events')).toContain(`"${fnId('Ingest')}"`);
    for (const route of ['GET /v1/sensors/{sensorId}/metrics', 'GET /v1/sensors/alerts']) {
      expect(auth(route), route).toEqual(['NONE', false]);
      expect(target(route), route).toContain(`"${fnId('Api')}"`);
    }
    expect(methods.get('GET /v1/sensors/{sensorId}/metrics')?.['RequestParameters']).toEqual({
      'method.request.path.sensorId': true,
    });
  });

  it('takes a route’s authorization from pipelineRestAuth', () => {
    const methods = restMethods(
      synth({
        kafka: { mode: 'none' },
        pipelines: [sensorsDescription],
        pipelineRestAuth: { 'GET /v1/sensors/alerts': 'iam', 'GET /v1/sensors/{sensorId}/metrics': 'apiKey' },
      }).Resources,
    );
    const auth = (route: string) => [methods.get(route)?.['AuthorizationType'], methods.get(route)?.['ApiKeyRequired']];

    expect(auth('GET /v1/sensors/alerts')).toEqual(['AWS_IAM', false]);
    expect(auth('GET /v1/sensors/{sensorId}/metrics')).toEqual(['NONE', true]);
    expect(auth('POST /v1/sensors/events')).toEqual(['NONE', true]);
  });

  it('lets every ingest path through the WAF body-size rules, transit’s first', () => {
    const rules = props('AWS::WAFv2::WebACL', 'RestApiWafWebAcl')['Rules'] as { Name: string; Statement: unknown }[];
    const endsWith = (path: string) => ({
      ByteMatchStatement: {
        FieldToMatch: { UriPath: {} },
        PositionalConstraint: 'ENDS_WITH',
        SearchString: path,
        TextTransformations: [{ Priority: 0, Type: 'NONE' }],
      },
    });
    const ingestRoute = {
      AndStatement: {
        Statements: [
          expect.objectContaining({ ByteMatchStatement: expect.objectContaining({ SearchString: 'POST' }) }),
          {
            OrStatement: {
              Statements: [endsWith('/v1/events'), endsWith('/v1/transit/events'), endsWith('/v1/sensors/events')],
            },
          },
        ],
      },
    };

    expect(rules.find((rule) => rule.Name === 'IngestBodySize')?.Statement).toMatchObject({
      AndStatement: { Statements: [ingestRoute, expect.anything()] },
    });
    expect(rules.find((rule) => rule.Name === 'BodySizeOutsideIngest')?.Statement).toMatchObject({
      AndStatement: { Statements: [expect.anything(), { NotStatement: { Statement: ingestRoute } }] },
    });
  });

  it("tells the WebSocket function every pipeline's topic forms", () => {
    const other: PipelineDescription = {
      ...withoutReference,
      name: 'meters',
      constructId: 'MetersPipeline',
      topic: 'meter.reading.v1',
      routes: ['GET /v1/meters/{meterId}'],
      topics: ['meter:{meterId}'],
    };
    const two = synth({ kafka: { mode: 'none' }, pipelines: [sensorsDescription, other] }).Resources;

    expect(boundEnvironment(resources, id(FUNCTION, 'WsConnectionFunction'))['PIPELINE_TOPICS']).toBe(
      'sensors:alerts,sensor:{sensorId},site:{siteId}',
    );
    expect(boundEnvironment(two, idOf(two, FUNCTION, 'WsConnectionFunction'))['PIPELINE_TOPICS']).toBe(
      'sensors:alerts,sensor:{sensorId},site:{siteId},meter:{meterId}',
    );
  });

  it('outputs its input stream, engine table and ingest path', () => {
    expect({
      SensorsPipelineInputStreamName: json.Outputs?.['SensorsPipelineInputStreamName']?.Value,
      SensorsPipelineEngineTableName: json.Outputs?.['SensorsPipelineEngineTableName']?.Value,
      SensorsPipelineIngestPath: json.Outputs?.['SensorsPipelineIngestPath']?.Value,
    }).toEqual({
      SensorsPipelineInputStreamName: { Ref: inputStream },
      SensorsPipelineEngineTableName: { Ref: table },
      SensorsPipelineIngestPath: '/v1/sensors/events',
    });
  });

  it('charts and alarms on its functions, stream, iterator age, offset lag and failure queues', () => {
    const dashboard = JSON.stringify(props('AWS::CloudWatch::Dashboard', 'ObservabilityDashboard'));
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm').map(([logicalId]) => logicalId);

    for (const name of ['Ingest', 'Processor', 'KafkaProcessor', 'Tick', 'Api'])
      expect(dashboard).toContain(fnId(name));
    expect(dashboard).toContain(inputStream);
    expect(alarms.filter((alarm) => alarm.includes('SensorsPipeline'))).toEqual([
      expect.stringMatching(/^ObservabilitySensorsPipelineProcessorFailureQueueDepthAlarm/),
      expect.stringMatching(/^ObservabilitySensorsPipelineKafkaProcessorFailureQueueDepthAlarm/),
      expect.stringMatching(/^ObservabilitySensorsPipelineProcessorIteratorAgeAlarm/),
      expect.stringMatching(/^ObservabilitySensorsPipelineKafkaProcessorOffsetLagAlarm/),
    ]);
  });
});

describe('a pipeline’s Kafka consumer', () => {
  const topicOf = (all: Resources) =>
    ofType(all, 'Custom::KafkaTopic').filter(([, resource]) => resource.Properties?.['Topic'] === 'sensor.reading.v1');
  const mappingOf = (all: Resources) =>
    ofType(all, 'AWS::Lambda::EventSourceMapping').find(
      ([, resource]) => JSON.stringify(resource.Properties?.['Topics']) === '["sensor.reading.v1"]',
    );

  it('with MSK Serverless, creates the topic on the stack’s cluster with its topic function, then consumes it', () => {
    const [[topicId, topic] = ['', {} as Resource]] = topicOf(resources);
    const mapping = mappingOf(resources)?.[1];
    const topicFunctionGrants = grants(resources, idOf(resources, FUNCTION, 'KafkaTopicFunction'));

    expect(topicId).toMatch(/^SensorsPipelineKafkaTopic/);
    expect(topic.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [idOf(resources, FUNCTION, 'KafkaTopicFunction'), 'Arn'] },
      ClusterArn: { 'Fn::GetAtt': ['KafkaCluster', 'Arn'] },
      Topic: 'sensor.reading.v1',
      Partitions: 1,
    });
    expect(topic.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^KafkaNetworkVpcLambdaEndpoint/)]));
    expect(mapping?.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['KafkaCluster', 'Arn'] },
      FunctionName: { Ref: fnId('KafkaProcessor') },
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'streamfold-sensors-processor' },
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 3600,
      StartingPosition: 'TRIM_HORIZON',
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 2 },
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [id('AWS::SQS::Queue', 'SensorsPipelineKafkaProcessorFailureQueue'), 'Arn'] },
        },
      },
    });
    expect(mapping?.DependsOn).toContain(topicId);
    // IAM merges the statement with transit's: the same actions on both topics.
    expect(topicFunctionGrants.filter(([, arns]) => JSON.stringify(arns).includes('/sensor.reading.v1'))).toEqual([
      [
        ['kafka-cluster:AlterTopic', 'kafka-cluster:CreateTopic', 'kafka-cluster:DescribeTopic'],
        [expect.anything(), expect.anything()],
      ],
    ]);
  });

  it('on an existing cluster, only consumes the topic, which is the account’s', () => {
    const existing = synth({ kafka: { mode: 'existing', clusterArn: CLUSTER_ARN }, pipelines: [sensorsDescription] });

    expect(topicOf(existing.Resources)).toEqual([]);
    expect(mappingOf(existing.Resources)?.[1].Properties).toMatchObject({
      EventSourceArn: CLUSTER_ARN,
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'streamfold-sensors-processor' },
    });
  });

  it('is not there without Kafka', () => {
    const none = synth({ kafka: { mode: 'none' }, pipelines: [sensorsDescription] }).Resources;
    const pipelineIds = Object.keys(none).filter((logicalId) => logicalId.startsWith('SensorsPipeline'));

    expect(pipelineIds.filter((logicalId) => logicalId.includes('Kafka'))).toEqual([]);
    expect(ofType(none, FUNCTION).filter(([logicalId]) => logicalId.startsWith('SensorsPipeline'))).toHaveLength(4);
  });
});

/**
 * Transit is not a pipeline: with a pipeline added, every resource and output of the stack without one is
 * still there with the same logical id and the same definition, but for these, each checked for exactly
 * its difference. (The template without pipelines was also compared, whole, with the one of the commit
 * before pipelines existed: identical for each Kafka mode, the WAF off and a concrete account.)
 */
const INTENDED_DIFFERENCES: [type: string, prefix: string, why: string][] = [
  [FUNCTION, 'WsConnectionFunction', 'PIPELINE_TOPICS joins its environment'],
  ['AWS::WAFv2::WebACL', 'RestApiWafWebAcl', "the ingest-route statement matches the pipeline's ingest path too"],
  ['AWS::ApiGateway::Stage', 'RestApiDeploymentStageprod', 'deploys the new deployment'],
  ['AWS::IAM::Policy', 'KafkaTopicFunctionServiceRoleDefaultPolicy', "may create and grow the pipeline's topic"],
  ['AWS::CloudWatch::Dashboard', 'ObservabilityDashboard', "charts the pipeline's functions, stream and queues"],
];

/** `value` with every WAF OR of ingest paths reduced to transit's paths. */
function transitPathOnly(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(transitPathOnly);
  if (typeof value !== 'object' || value === null) return value;
  const or = (value as { OrStatement?: { Statements: unknown[] } }).OrStatement;
  if (or) {
    const transit = or.Statements.filter((statement) => !JSON.stringify(statement).includes('/v1/sensors/'));
    return { OrStatement: { Statements: transitPathOnly(transit) } };
  }
  return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, transitPathOnly(entry)]));
}

describe.each([
  ['MSK Serverless', {}],
  ['no Kafka', { kafka: { mode: 'none' } }],
] satisfies [string, StreamfoldStackProps][])('transit with a pipeline added, with %s', (_name, settings) => {
  const before = synth(settings);
  const after = synth({ ...settings, pipelines: [sensorsDescription] });
  // Without Kafka there is no topic function.
  const intendedIds = INTENDED_DIFFERENCES.filter(([type, prefix]) =>
    Object.keys(before.Resources).some(
      (logicalId) => logicalId.startsWith(prefix) && before.Resources[logicalId]?.Type === type,
    ),
  ).map(([type, prefix]) => idOf(before.Resources, type, prefix));
  const deploymentOf = (template: TemplateJson) =>
    ofType(template.Resources, 'AWS::ApiGateway::Deployment').map(([logicalId]) => logicalId);

  it('keeps every other resource exactly as it was, under the same logical id', () => {
    const [oldDeployment] = deploymentOf(before);
    const changed = Object.keys(before.Resources).filter(
      (logicalId) =>
        logicalId !== oldDeployment &&
        !intendedIds.includes(logicalId) &&
        JSON.stringify(before.Resources[logicalId]) !== JSON.stringify(after.Resources[logicalId]),
    );

    expect(changed).toEqual([]);
    expect(intendedIds).toHaveLength(INTENDED_DIFFERENCES.length - ('kafka' in settings ? 1 : 0));
  });

  it('adds only resources of the pipeline (its construct, its routes, its alarms) and a new API deployment', () => {
    const added = Object.keys(after.Resources).filter((logicalId) => !(logicalId in before.Resources));
    const [oldDeployment] = deploymentOf(before);
    const [newDeployment] = deploymentOf(after);

    expect(added.filter((logicalId) => !/SensorsPipeline|^RestApiv1sensors/.test(logicalId))).toEqual([newDeployment]);
    // CDK names a deployment after the API's methods, so a new method means a new deployment of the same API.
    expect(after.Resources[newDeployment!]?.Properties).toEqual(before.Resources[oldDeployment!]?.Properties);
    expect(oldDeployment! in after.Resources).toBe(false);
  });

  it('changes each intended difference in exactly its one way', () => {
    const pair = (prefix: string) => {
      const logicalId = intendedIds.find((candidate) => candidate.startsWith(prefix))!;
      return [structuredClone(before.Resources[logicalId]!), structuredClone(after.Resources[logicalId]!)] as const;
    };

    const [wsBefore, wsAfter] = pair('WsConnectionFunction');
    const variables = (wsAfter.Properties!['Environment'] as { Variables: Record<string, unknown> }).Variables;
    expect(variables['PIPELINE_TOPICS']).toBe('sensors:alerts,sensor:{sensorId},site:{siteId}');
    delete variables['PIPELINE_TOPICS'];
    expect(wsAfter).toEqual(wsBefore);

    const [aclBefore, aclAfter] = pair('RestApiWafWebAcl');
    expect(aclAfter).not.toEqual(aclBefore);
    expect(transitPathOnly(aclAfter)).toEqual(aclBefore);

    const [stageBefore, stageAfter] = pair('RestApiDeploymentStageprod');
    expect(stageAfter.Properties?.['DeploymentId']).toEqual({ Ref: deploymentOf(after)[0] });
    stageAfter.Properties!['DeploymentId'] = stageBefore.Properties?.['DeploymentId'];
    expect(stageAfter).toEqual(stageBefore);

    const [dashboardBefore, dashboardAfter] = pair('ObservabilityDashboard');
    delete dashboardBefore.Properties?.['DashboardBody'];
    delete dashboardAfter.Properties?.['DashboardBody'];
    expect(dashboardAfter).toEqual(dashboardBefore);

    if (!('kafka' in settings)) {
      // The topic statement (merged by CDK, same actions) names the pipeline's topic besides transit's.
      const [policyBefore, policyAfter] = pair('KafkaTopicFunctionServiceRoleDefaultPolicy');
      const { Statement: statements } = policyAfter.Properties!['PolicyDocument'] as { Statement: PolicyStatement[] };
      const topicStatement = statements.find((statement) => JSON.stringify(statement).includes('/sensor.reading.v1'))!;
      const [transitTopic, ...others] = [topicStatement.Resource]
        .flat()
        .filter((arn) => !JSON.stringify(arn).includes('/sensor.reading.v1'));
      expect(others).toEqual([]);
      topicStatement.Resource = transitTopic;
      expect(policyAfter).toEqual(policyBefore);
    }
  });

  it('keeps every output and template section, and adds the pipeline’s own outputs', () => {
    const { Resources: _before, Outputs: outputsBefore = {}, ...sectionsBefore } = before;
    const { Resources: _after, Outputs: outputsAfter = {}, ...sectionsAfter } = after;

    expect(sectionsAfter).toEqual(sectionsBefore);
    expect(Object.fromEntries(Object.keys(outputsBefore).map((name) => [name, outputsAfter[name]]))).toEqual(
      outputsBefore,
    );
    expect(Object.keys(outputsAfter).filter((name) => !(name in outputsBefore))).toEqual([
      'SensorsPipelineInputStreamName',
      'SensorsPipelineEngineTableName',
      'SensorsPipelineReferenceTableName',
      'SensorsPipelineProcessorFailureQueueUrl',
      ...('kafka' in settings ? [] : ['SensorsPipelineKafkaProcessorFailureQueueUrl']),
      'SensorsPipelineIngestPath',
    ]);
    // The names the props check keeps apart are the names the outputs get, transit's and the pipeline's.
    const names = new Set([
      ...deploymentNames(TRANSIT_DEPLOYMENT),
      ...deploymentNames(engineDeployment(sensorsDescription)),
    ]);
    const pipelines = Object.keys(outputsAfter).filter((name) => name.startsWith('SensorsPipeline') || names.has(name));
    expect(pipelines.filter((name) => !names.has(name))).toEqual([]);
    expect(pipelines.length).toBeGreaterThan(10);
  });
});

describe('pipelines props validation', () => {
  // Without the test pipeline's reference table, whose seed name only one pipeline may have.
  const pipeline = (overrides: Partial<PipelineDescription>): PipelineDescription => ({
    ...withoutReference,
    ...overrides,
  });

  it('accepts the test pipeline, in every Kafka mode', () => {
    expect(validateStreamfoldProps({ pipelines: [sensorsDescription] })).toEqual([]);
    expect(validateStreamfoldProps({ pipelines: [sensorsDescription], kafka: { mode: 'none' } })).toEqual([]);
  });

  it('rejects conflicting pipelines at synth time with one message listing every conflict', () => {
    const build = () =>
      buildStack({
        kafka: { mode: 'none' },
        pipelines: [
          sensorsDescription,
          pipeline({
            routes: ['GET /v1/other/{id}', 'GET /v1/sensors/alerts'],
            tickRate: 'rate(1 minutes)',
            shards: 0,
          }),
        ],
      });

    expect(build).toThrow(
      [
        'Invalid Streamfold stack props:',
        '  - pipelines[1] (sensors): tickRate must be an EventBridge rate expression like rate(1 minute) or rate(5 minutes), got "rate(1 minutes)"',
        '  - pipelines[1] (sensors): shards must be a whole number >= 1, got 0',
        '  - pipelines[1] (sensors): route "GET /v1/other/{id}" must be GET /v1/sensors/<path> (parts of letters, digits, ._~- or a {parameter})',
        '  - pipelines: name "sensors" is used by pipelines[0] (sensors) and pipelines[1] (sensors)',
        '  - pipelines: constructId "SensorsPipeline" is used by pipelines[0] (sensors) and pipelines[1] (sensors)',
      ].join('\n'),
    );
  });

  it("rejects a reference seed another table has, transit's included, and a loader that cannot be imported", () => {
    const gtfs = pipeline({
      name: 'meters',
      constructId: 'MetersPipeline',
      routes: [],
      topic: 'meter.reading.v1',
      reference: { seed: { name: 'gtfs', loader: '../load.ts', export: 'load-it' } },
    });
    const twice = pipeline({ ...gtfs, reference: { seed: { name: 'sensors', loader: 'x/load.ts', export: 'load' } } });

    expect(validateStreamfoldProps({ kafka: { mode: 'none' }, pipelines: [gtfs] })).toEqual([
      'pipelines[0] (meters): reference.seed.loader must be a repo-relative .ts or .js module, got "../load.ts"',
      'pipelines[0] (meters): reference.seed.export must be an export name, got "load-it"',
      'pipelines: reference seed name "gtfs" is used by transit and pipelines[0] (meters)',
    ]);
    expect(validateStreamfoldProps({ kafka: { mode: 'none' }, pipelines: [sensorsDescription, twice] })).toEqual([
      'pipelines: reference seed name "sensors" is used by pipelines[0] (sensors) and pipelines[1] (meters)',
    ]);
  });

  it("rejects a pipeline whose routes would clash with transit's", () => {
    const vehicles = pipeline({ name: 'vehicles', constructId: 'VehiclesPipeline', routes: ['GET /v1/vehicles/{id}'] });
    const events = pipeline({ name: 'events', constructId: 'EventsPipeline', routes: ['GET /v1/events/x'] });
    const transit = pipeline({ name: 'transit', constructId: 'TransitPipeline', routes: ['GET /v1/transit/x'] });

    expect(validateStreamfoldProps({ kafka: { mode: 'none' }, pipelines: [vehicles, events, transit] })).toEqual([
      "pipelines[0] (vehicles): its routes under /v1/vehicles/ clash with transit's GET /v1/vehicles, GET /v1/vehicles/{vehicleId}",
      "pipelines[1] (events): its routes under /v1/events/ clash with transit's POST /v1/events",
      "pipelines[2] (transit): its routes under /v1/transit/ clash with transit's POST /v1/transit/events",
    ]);
  });

  it("rejects a constructId that would give a pipeline's outputs and alarms transit's names (Transit, Kafka)", () => {
    const buses = pipeline({ name: 'buses', constructId: 'Transit', routes: [] });
    const brokers = pipeline({ name: 'brokers', constructId: 'Kafka', routes: [], topic: 'broker.event.v1' });

    expect(validateStreamfoldProps({ kafka: { mode: 'none' }, pipelines: [buses, brokers] })).toEqual([
      "pipelines[0] (buses): constructId Transit would give its outputs and alarms names of transit's: TransitEngineTableName",
      "pipelines[1] (brokers): constructId Kafka would give its outputs and alarms names of transit's: KafkaProcessorFailureQueue, KafkaProcessorFailureQueueUrl",
    ]);
  });

  it.each(['rate(1 minute)', 'rate(5 minutes)', 'rate(1 hour)', 'rate(2 days)'])(
    'accepts the tick rate %s',
    (tickRate) => {
      expect(validateStreamfoldProps({ pipelines: [pipeline({ tickRate })] })).toEqual([]);
    },
  );

  it.each(['rate(1 minutes)', 'rate(5 minute)', 'rate(0 minutes)', 'rate(1 second)', 'cron(* * * * ? *)', '1 minute'])(
    'rejects the tick rate %s, which EventBridge would refuse',
    (tickRate) => {
      expect(validateStreamfoldProps({ pipelines: [pipeline({ tickRate })] })).toEqual([
        `pipelines[0] (sensors): tickRate must be an EventBridge rate expression like rate(1 minute) or rate(5 minutes), got ${JSON.stringify(tickRate)}`,
      ]);
    },
  );

  it('rejects names, construct ids, handler modules, topics and routes that cannot be built', () => {
    const bad = pipeline({
      name: 'Sensors',
      constructId: 'sensors-pipeline',
      handlers: '/abs/handlers.ts',
      topic: 'sensor reading',
      topics: ['sensors:alerts,sensor:{sensorId}', ''],
      routes: ['POST /v1/Sensors/x', 'GET /v1/Sensors/{proxy+}', 'GET /v1/Sensors/x', 'GET /v1/Sensors/x'],
    });

    expect(validateStreamfoldProps({ pipelines: [bad] })).toEqual([
      'pipelines[0] (Sensors): name must match /^[a-z][a-z0-9-]{0,30}$/',
      'pipelines[0] (Sensors): constructId must be PascalCase letters and digits, got "sensors-pipeline"',
      'pipelines[0] (Sensors): handlers must be a repo-relative .ts or .js module, got "/abs/handlers.ts"',
      'pipelines[0] (Sensors): topic must be a Kafka topic name (letters, digits, . _ -), got "sensor reading"',
      'pipelines[0] (Sensors): WebSocket topic "sensors:alerts,sensor:{sensorId}" must be non-empty, without commas or spaces',
      'pipelines[0] (Sensors): WebSocket topic "" must be non-empty, without commas or spaces',
      'pipelines[0] (Sensors): route "POST /v1/Sensors/x" must be GET /v1/Sensors/<path> (parts of letters, digits, ._~- or a {parameter})',
      'pipelines[0] (Sensors): route "GET /v1/Sensors/{proxy+}" must be GET /v1/Sensors/<path> (parts of letters, digits, ._~- or a {parameter})',
      'pipelines[0] (Sensors): route GET /v1/Sensors/x is listed more than once',
    ]);
  });

  it('rejects two path parameters side by side, which API Gateway refuses', () => {
    const routes = ['GET /v1/sensors/{sensorId}/metrics', 'GET /v1/sensors/{id}'];

    expect(validateStreamfoldProps({ pipelines: [pipeline({ routes })] })).toEqual([
      'pipelines: /v1/sensors has path parameters {sensorId} and {id}; API Gateway allows one',
    ]);
  });

  it('rejects a Kafka topic another consumer reads, unless there is no Kafka', () => {
    const meters = pipeline({ name: 'meters', constructId: 'MetersPipeline', routes: [], topic: 'sensor.reading.v1' });
    const transitTopic = pipeline({ topic: 'vehicle.position.v1' });

    expect(validateStreamfoldProps({ pipelines: [sensorsDescription, meters] })).toEqual([
      'pipelines: Kafka topic sensor.reading.v1 is consumed by pipelines[0] (sensors) and pipelines[1] (meters)',
    ]);
    expect(validateStreamfoldProps({ pipelines: [transitTopic] })).toEqual([
      'pipelines: Kafka topic vehicle.position.v1 is consumed by transit and pipelines[0] (sensors)',
    ]);
    expect(validateStreamfoldProps({ kafka: { mode: 'none' }, pipelines: [sensorsDescription, meters] })).toEqual([]);
  });

  it('checks pipelineRestAuth against the pipelines’ routes, the modes and the Cognito pool', () => {
    expect(
      validateStreamfoldProps({
        pipelines: [sensorsDescription],
        pipelineRestAuth: {
          'GET /v1/sensors/nope': 'iam',
          'GET /v1/sensors/alerts': 'oauth' as never,
          'GET /v1/sensors/{sensorId}/metrics': 'cognito',
          'POST /v1/sensors/events': 'none',
        },
      }),
    ).toEqual([
      'pipelineRestAuth: unknown route "GET /v1/sensors/nope"; the pipelines\' routes are POST /v1/sensors/events, GET /v1/sensors/{sensorId}/metrics, GET /v1/sensors/alerts',
      "pipelineRestAuth['GET /v1/sensors/alerts'] must be one of none, apiKey, iam, cognito, got oauth",
      'cognitoUserPoolArn is required when a route uses cognito (GET /v1/sensors/{sensorId}/metrics)',
      "pipelineRestAuth['POST /v1/sensors/events'] must not be none: producers write to the stream",
    ]);
    expect(
      validateStreamfoldProps({
        pipelines: [sensorsDescription],
        pipelineRestAuth: { 'GET /v1/sensors/alerts': 'cognito' },
        cognitoUserPoolArn: 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123',
      }),
    ).toEqual([]);
    expect(validateStreamfoldProps({ pipelineRestAuth: { 'GET /v1/sensors/alerts': 'iam' } })).toEqual([
      'pipelineRestAuth: unknown route "GET /v1/sensors/alerts"; the pipelines\' routes are none',
    ]);
  });
});
