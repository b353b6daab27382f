import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { StreamfoldFunction } from '../../infra/constructs/streamfold-function.js';
import { planLocalStack } from '../../local/runtime/plan.js';
import type { CfnTemplate } from '../../local/runtime/template.js';
import { NO_BUNDLING, synthTemplate, synthTemplateJson } from '../helpers/synth.js';

const template = synthTemplate();
const resources = synthTemplateJson().Resources;
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Logical id of the one resource of `type` whose id starts with `prefix`. */
function logicalId(type: string, prefix: string): string {
  const ids = Object.keys(resources).filter((id) => resources[id]?.Type === type && id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

const FUNCTIONS = {
  IngestFunction: 'functions/ingest.ts',
  ProcessorFunction: 'functions/processor.ts',
  ApiFunction: 'functions/api.ts',
  WsConnectionFunction: 'functions/ws-connection.ts',
  WsAuthorizerFunction: 'functions/ws-authorizer.ts',
  BroadcasterFunction: 'functions/broadcaster.ts',
  KafkaProcessorFunction: 'functions/kafka-processor.ts',
  KafkaTopicFunction: 'functions/kafka-topic.ts',
} as const;

/** AWS-managed policies a function role may carry: only what Lambda's MSK event source or a VPC needs. */
const MANAGED_POLICIES: Partial<Record<keyof typeof FUNCTIONS, string[]>> = {
  KafkaProcessorFunction: ['service-role/AWSLambdaMSKExecutionRole'],
  KafkaTopicFunction: ['service-role/AWSLambdaVPCAccessExecutionRole'],
};

function environmentOf(name: keyof typeof FUNCTIONS): Record<string, unknown> {
  const fn = resources[logicalId('AWS::Lambda::Function', name)];
  const environment = fn?.Properties?.['Environment'] as { Variables: Record<string, unknown> } | undefined;
  return environment?.Variables ?? {};
}

describe('Lambda functions', () => {
  it('are exactly the eight of the contract (six, plus the Kafka processor and topic handler by default)', () => {
    template.resourceCountIs('AWS::Lambda::Function', Object.keys(FUNCTIONS).length);
  });

  it('all run Node.js 24 on arm64 with active tracing, source maps and the Powertools namespace', () => {
    template.allResourcesProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: 1024,
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_METRICS_NAMESPACE: 'Streamfold',
          POWERTOOLS_SERVICE_NAME: Match.anyValue(),
        }),
      },
    });
  });

  it.each(Object.entries(FUNCTIONS))('%s carries streamfold:entry metadata naming %s, which exists', (name, entry) => {
    const fn = resources[logicalId('AWS::Lambda::Function', name)];

    expect(fn?.Metadata?.['streamfold:entry']).toBe(entry);
    expect(existsSync(`${repoRoot}${entry}`)).toBe(true);
  });

  it.each(Object.keys(FUNCTIONS))('%s logs to its own log group kept for a year', (name) => {
    const logGroup = logicalId('AWS::Logs::LogGroup', `${name}LogGroup`);
    const fn = resources[logicalId('AWS::Lambda::Function', name)];

    expect(resources[logGroup]?.Properties?.['RetentionInDays']).toBe(365);
    expect(fn?.Properties?.['LoggingConfig']).toEqual({ LogGroup: { Ref: logGroup } });
  });

  it('uses Resource "*" in function policies only for X-Ray, which the nag acknowledgment relies on', () => {
    const wildcardActions = Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .flatMap(
        (policy) =>
          (policy.Properties?.['PolicyDocument'] as { Statement: { Action: unknown; Resource: unknown }[] } | undefined)
            ?.Statement ?? [],
      )
      .filter((statement) => statement.Resource === '*')
      .flatMap((statement) => [statement.Action].flat());

    expect(wildcardActions.length).toBeGreaterThan(0);
    expect(wildcardActions.filter((action) => !String(action).startsWith('xray:'))).toEqual([]);
  });

  it('attaches AWS-managed policies only where the MSK event source or a VPC needs them', () => {
    for (const name of Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]) {
      const role = resources[logicalId('AWS::IAM::Role', `${name}ServiceRole`)];
      const arns = (role?.Properties?.['ManagedPolicyArns'] as { 'Fn::Join': [string, unknown[]] }[] | undefined) ?? [];
      const names = arns.map((arn) => String(arn['Fn::Join'][1].at(-1)).replace(':iam::aws:policy/', ''));

      expect(names, name).toEqual(MANAGED_POLICIES[name] ?? []);
    }
  });
});

describe('a function with a named handler export', () => {
  const probe = (handler: string) => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Probe');
    new StreamfoldFunction(stack, 'TickFunction', { entry: 'functions/api.ts', handler });
    return Template.fromStack(stack).toJSON() as CfnTemplate;
  };

  it('has Lambda invoke that export in AWS, and the local runtime run the same one', () => {
    const probeTemplate = probe('tick');
    const functions = Object.values(probeTemplate.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');

    expect(functions.map((fn) => [fn.Properties?.['Handler'], fn.Properties?.['Description']])).toEqual([
      ['index.tick', 'functions/api.ts#tick'],
    ]);
    expect(planLocalStack(probeTemplate).functions.map((fn) => [fn.entry, fn.handlerExport])).toEqual([
      ['functions/api.ts', 'tick'],
    ]);
  });

  it('refuses a name that is not an export name', () => {
    expect(() => probe('handlers.tick')).toThrow('TickFunction: handler must be an export name, got "handlers.tick"');
  });
});

describe('function configuration (bind methods set env and grant together)', () => {
  const ref = (prefix: string, type: string) => ({ Ref: logicalId(type, prefix) });
  const table = (prefix: string) => ref(prefix, 'AWS::DynamoDB::Table');
  const stream = (prefix: string) => ref(prefix, 'AWS::Kinesis::Stream');

  it('gives ingest the input stream and the dead-letter queue', () => {
    expect(environmentOf('IngestFunction')).toMatchObject({
      INPUT_STREAM_NAME: stream('InputStream'),
      DEAD_LETTER_QUEUE_URL: ref('DeadLetterQueue', 'AWS::SQS::Queue'),
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId('AWS::IAM::Role', 'IngestFunctionServiceRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['kinesis:PutRecords']),
            Resource: { 'Fn::GetAtt': [logicalId('AWS::Kinesis::Stream', 'InputStream'), 'Arn'] },
          }),
        ]),
      },
    });
  });

  it.each(['ProcessorFunction', 'KafkaProcessorFunction'] as const)(
    'gives %s every read-model table, the output stream, the DLQ and the window settings',
    (name) => {
      expect(environmentOf(name)).toMatchObject({
        VEHICLE_STATE_TABLE: table('VehicleStateTable'),
        WINDOWS_TABLE: table('WindowsTable'),
        ANOMALIES_TABLE: table('AnomaliesTable'),
        ETA_TABLE: table('EtaTable'),
        REFERENCE_TABLE: table('ReferenceTable'),
        LATE_EVENTS_TABLE: table('LateEventsTable'),
        OUTPUT_STREAM_NAME: stream('OutputStream'),
        DEAD_LETTER_QUEUE_URL: ref('DeadLetterQueue', 'AWS::SQS::Queue'),
        WINDOW_SIZE_SECONDS: '60',
        ALLOWED_LATENESS_SECONDS: '120',
        MAX_CLOCK_SKEW_SECONDS: '60',
        SPEED_Z_THRESHOLD: '3',
        STALL_MINUTES: '5',
        MAX_PLAUSIBLE_SPEED_KMH: '160',
        OFF_ROUTE_METERS: '150',
      });
    },
  );

  it('keeps the WebSocket authorizer response, which holds the caller key, out of X-Ray traces', () => {
    expect(environmentOf('WsAuthorizerFunction')).toMatchObject({ POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false' });
  });

  it('gives ingest the same event-time rule as the processors', () => {
    expect(environmentOf('IngestFunction')).toMatchObject({
      ALLOWED_LATENESS_SECONDS: '120',
      MAX_CLOCK_SKEW_SECONDS: '60',
    });
  });

  it('gives both processors the same environment and the same table and output-stream grants', () => {
    const { POWERTOOLS_SERVICE_NAME: kinesisService, ...kinesisEnvironment } = environmentOf('ProcessorFunction');
    const { POWERTOOLS_SERVICE_NAME: kafkaService, ...kafkaEnvironment } = environmentOf('KafkaProcessorFunction');
    const dataStatements = (name: string) => {
      const role = logicalId('AWS::IAM::Role', `${name}ServiceRole`);
      const policy = Object.values(resources).find(
        (resource) =>
          resource.Type === 'AWS::IAM::Policy' &&
          JSON.stringify(resource.Properties?.['Roles']) === `[{"Ref":"${role}"}]`,
      );
      if (!policy) throw new Error(`no policy for ${role}`);
      const { PolicyDocument } = policy.Properties as {
        PolicyDocument: { Statement: { Action: string | string[] }[] };
      };
      const statements = PolicyDocument.Statement;
      // The tables and the output stream; each event source adds its own read and failure-queue grants.
      return statements
        .map((statement) => JSON.stringify(statement))
        .filter((statement) => statement.includes('"dynamodb:') || statement.includes('OutputStream'));
    };

    expect([kinesisService, kafkaService]).toEqual(['processor', 'kafka-processor']);
    expect(kafkaEnvironment).toEqual(kinesisEnvironment);
    expect(dataStatements('ProcessorFunction')).toHaveLength(3);
    expect(dataStatements('KafkaProcessorFunction')).toEqual(dataStatements('ProcessorFunction'));
  });

  it('gives the API read-only access to the read models', () => {
    const policy = Object.values(resources).find(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(resource.Properties?.['Roles']).includes(logicalId('AWS::IAM::Role', 'ApiFunctionServiceRole')),
    );
    const actions = JSON.stringify(policy?.Properties?.['PolicyDocument']);

    expect(environmentOf('ApiFunction')).toMatchObject({ VEHICLE_STATE_TABLE: table('VehicleStateTable') });
    expect(actions).toContain('dynamodb:Query');
    expect(actions).not.toMatch(/dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)/);
  });

  it('gives the WebSocket functions the connections table', () => {
    expect(environmentOf('WsConnectionFunction')).toMatchObject({ CONNECTIONS_TABLE: table('ConnectionsTable') });
    expect(environmentOf('BroadcasterFunction')).toMatchObject({ CONNECTIONS_TABLE: table('ConnectionsTable') });
  });

  it('points the broadcaster at the WebSocket stage callback URL and lets it manage connections', () => {
    const api = logicalId('AWS::ApiGatewayV2::Api', 'WebSocketApi');
    const endpoint = JSON.stringify(environmentOf('BroadcasterFunction')['WS_MANAGEMENT_ENDPOINT']);

    expect(endpoint).toMatch(/^\{"Fn::Join":\["",\["https:\/\/",\{"Ref":"WebSocketApi/);
    expect(endpoint).toContain(`{"Ref":"${api}"}`);
    expect(endpoint).toContain('.execute-api.');
    expect(endpoint).toMatch(/\/prod"\]\]\}$/);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId('AWS::IAM::Role', 'BroadcasterFunctionServiceRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'execute-api:ManageConnections', Effect: 'Allow' })]),
      },
    });
  });
});

describe('Kinesis event-source mappings', () => {
  const mappings = Object.values(resources).filter((resource) => resource.Type === 'AWS::Lambda::EventSourceMapping');
  const kinesisMappings = mappings.filter((mapping) => mapping.Properties?.['Topics'] === undefined);

  it('exist only for the processor and the broadcaster (the third mapping is the Kafka one)', () => {
    expect(mappings).toHaveLength(3);
    expect(kinesisMappings.map((mapping) => mapping.Properties?.['FunctionName'])).toEqual([
      { Ref: logicalId('AWS::Lambda::Function', 'ProcessorFunction') },
      { Ref: logicalId('AWS::Lambda::Function', 'BroadcasterFunction') },
    ]);
  });

  it('all bisect failing batches, report item failures, bound retries and record age, and keep shard order', () => {
    for (const mapping of kinesisMappings) {
      expect(mapping.Properties).toMatchObject({
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 3600,
        ParallelizationFactor: 1,
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 500,
        MaximumBatchingWindowInSeconds: 1,
        DestinationConfig: { OnFailure: { Destination: expect.anything() } },
      });
    }
  });

  it.each([
    ['ProcessorFunction', 'InputStream', 'ProcessorFailureQueue'],
    ['BroadcasterFunction', 'OutputStream', 'BroadcasterFailureQueue'],
  ])('connects %s to %s with failures going to %s', (fn, stream, queue) => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId('AWS::Lambda::Function', fn) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId('AWS::Kinesis::Stream', stream), 'Arn'] },
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', queue), 'Arn'] } },
      },
    });
  });
});
