import { describe, expect, it } from 'vitest';
import { UnresolvableIntrinsicError } from '../../../local/runtime/intrinsics.js';
import { planLocalStack, resolveEnvironment, UnsupportedTemplateError } from '../../../local/runtime/plan.js';
import { fixtureTemplate } from './fixtures/fixture-template.js';

const addresses = {
  sqsEndpoint: 'http://127.0.0.1:9324',
  webSocketManagementUrl: 'http://127.0.0.1:3001',
  webSocketUrl: 'ws://127.0.0.1:3001',
};

describe('planLocalStack', () => {
  it('plans every stream, table, queue and function of the template under its logical id', () => {
    const plan = planLocalStack(fixtureTemplate());

    expect(plan.streams).toEqual([
      { logicalId: 'PartialStream', name: 'PartialStream', shardCount: 1 },
      { logicalId: 'PoisonStream', name: 'PoisonStream', shardCount: 2 },
    ]);
    expect(plan.tables.map((t) => t.name)).toEqual(['SeenTable']);
    expect(plan.tables[0]?.globalSecondaryIndexes[0]?.IndexName).toBe('byGroup');
    expect(plan.queues.map((q) => q.name)).toEqual(['FailureQueue']);
    expect(plan.queues[0]?.attributes).toEqual({ MessageRetentionPeriod: '1209600' });
    expect(plan.functions.map((f) => [f.logicalId, f.entry, f.handlerExport, f.timeoutSeconds])).toEqual([
      ['EchoFunction', 'tests/unit/local/fixtures/handlers/echo.ts', 'handler', 10],
      ['PartialFunction', 'tests/unit/local/fixtures/handlers/partial.ts', 'handler', 30],
      ['PoisonFunction', 'tests/unit/local/fixtures/handlers/poison.ts', 'handler', 30],
      ['WsFunction', 'tests/unit/local/fixtures/handlers/ws.ts', 'handler', 30],
    ]);
  });

  it('plans the seeding step a table declares in its streamfold:seed metadata, and refuses a malformed one', () => {
    const template = fixtureTemplate();
    const table = template.Resources.SeenTable as { Metadata?: Record<string, unknown> };
    table.Metadata = { 'streamfold:seed': { name: 'catalog', loader: 'local/load-catalog.ts', export: 'loadCatalog' } };

    expect(planLocalStack(template).seeds).toEqual([
      { name: 'catalog', tableLogicalId: 'SeenTable', loader: 'local/load-catalog.ts', exportName: 'loadCatalog' },
    ]);
    expect(planLocalStack(fixtureTemplate()).seeds).toEqual([]);
    table.Metadata = { 'streamfold:seed': { name: 'catalog' } };
    expect(() => planLocalStack(template)).toThrow(
      /SeenTable: Metadata "streamfold:seed" must be \{ name, loader, export \} strings/,
    );
  });

  it('notes the table TTL it ignores', () => {
    expect(planLocalStack(fixtureTemplate()).warnings).toContain(
      'SeenTable: TTL is ignored locally (dynalite has no TTL)',
    );
  });

  it('reads the event-source mapping settings', () => {
    const mapping = planLocalStack(fixtureTemplate()).kinesisMappings.find((m) => m.logicalId === 'PoisonMapping');

    expect(mapping).toEqual({
      logicalId: 'PoisonMapping',
      functionLogicalId: 'PoisonFunction',
      streamLogicalId: 'PoisonStream',
      enabled: true,
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      startingPosition: 'TRIM_HORIZON',
      bisectOnError: true,
      maxRetryAttempts: 1,
      maxRecordAgeSeconds: 3600,
      reportBatchItemFailures: true,
      parallelizationFactor: 1,
      onFailureQueueLogicalId: 'FailureQueue',
    });
  });

  it("reads each REST method's AuthorizationType and a Cognito authorizer's user pools", () => {
    const template = fixtureTemplate();
    const resources = template.Resources;
    const pool = 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123';
    resources.Authorizer = {
      Type: 'AWS::ApiGateway::Authorizer',
      Properties: {
        RestApiId: { Ref: 'Api' },
        Type: 'COGNITO_USER_POOLS',
        ProviderARNs: [pool],
        IdentitySource: 'method.request.header.Authorization',
      },
    };
    Object.assign(resources.ApiRootGET?.Properties ?? {}, { AuthorizationType: 'AWS_IAM' });
    Object.assign(resources.Apiv1itemslatestGET?.Properties ?? {}, {
      AuthorizationType: 'COGNITO_USER_POOLS',
      AuthorizerId: { Ref: 'Authorizer' },
    });

    const routes = planLocalStack(template).restRoutes;

    expect(routes.find((r) => r.path === '/')?.authorizationType).toBe('AWS_IAM');
    expect(routes.find((r) => r.path === '/v1/items/latest')).toMatchObject({
      authorizationType: 'COGNITO_USER_POOLS',
      cognitoUserPoolArns: [pool],
    });
    expect(routes.find((r) => r.path === '/v1/items/{itemId}')?.authorizationType).toBe('NONE');
  });

  it('refuses a REST authorization type it cannot enforce (a Lambda authorizer)', () => {
    const template = fixtureTemplate();
    Object.assign(template.Resources.ApiRootGET?.Properties ?? {}, { AuthorizationType: 'CUSTOM' });

    expect(() => planLocalStack(template)).toThrow(/ApiRootGET: AuthorizationType CUSTOM is not supported locally/);
  });

  it('rebuilds REST paths from the resource chain and finds each integration function', () => {
    const routes = planLocalStack(fixtureTemplate()).restRoutes.map((r) => [
      r.httpMethod,
      r.path,
      r.apiKeyRequired,
      r.target,
    ]);

    expect(routes).toEqual([
      ['GET', '/', false, { kind: 'lambda', functionLogicalId: 'EchoFunction' }],
      ['POST', '/v1/items', true, { kind: 'lambda', functionLogicalId: 'EchoFunction' }],
      [
        'OPTIONS',
        '/v1/items',
        false,
        {
          kind: 'mock',
          statusCode: 204,
          headers: { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'OPTIONS,GET,POST' },
        },
      ],
      ['GET', '/v1/items/{itemId}', false, { kind: 'lambda', functionLogicalId: 'EchoFunction' }],
      ['GET', '/v1/items/latest', false, { kind: 'lambda', functionLogicalId: 'EchoFunction' }],
    ]);
    expect(planLocalStack(fixtureTemplate()).restRoutes[0]?.stageName).toBe('prod');
  });

  it('plans the WebSocket routes and which of them return their response', () => {
    const [api] = planLocalStack(fixtureTemplate()).webSocketApis;

    expect(api?.routeSelectionExpression).toBe('$request.body.action');
    expect(api?.routes.map((r) => [r.routeKey, r.functionLogicalId, r.returnResponse])).toEqual([
      ['$connect', 'WsFunction', false],
      ['$disconnect', 'WsFunction', false],
      ['$default', 'WsFunction', true],
      ['echo', 'WsFunction', true],
      ['push', 'WsFunction', false],
    ]);
  });

  it('fails naming the function without streamfold:entry metadata', () => {
    const template = fixtureTemplate();
    delete template.Resources.EchoFunction?.Metadata;

    expect(() => planLocalStack(template)).toThrow(/EchoFunction: no Metadata "streamfold:entry"/);
  });

  it('fails naming the resource and variable of an unsupported intrinsic', () => {
    const template = fixtureTemplate();
    const props = template.Resources.EchoFunction?.Properties as {
      Environment: { Variables: Record<string, unknown> };
    };
    const variables = props.Environment.Variables;
    variables.SECRET = { 'Fn::ImportValue': 'shared-secret' };

    expect(() => planLocalStack(template)).toThrow(UnsupportedTemplateError);
    expect(() => planLocalStack(template)).toThrow(
      'EchoFunction.Environment.Variables.SECRET: Fn::ImportValue is not supported by the local runtime',
    );
  });

  it('lists every problem at once', () => {
    const template = fixtureTemplate();
    delete template.Resources.EchoFunction?.Metadata;
    delete template.Resources.WsFunction?.Metadata;

    expect(() => planLocalStack(template)).toThrow(/EchoFunction[\s\S]*WsFunction/);
  });

  it('refuses an event source that is not a Kinesis stream of the template', () => {
    const template = fixtureTemplate();
    const props = template.Resources.PartialMapping?.Properties as Record<string, unknown>;
    props.EventSourceArn = { 'Fn::GetAtt': ['SeenTable', 'StreamArn'] };

    expect(() => planLocalStack(template)).toThrow(/PartialMapping: only Kinesis streams/);
  });
});

describe('resolveEnvironment', () => {
  it('resolves names, queue URLs, ARNs and the WebSocket management endpoint', () => {
    const template = fixtureTemplate();
    const plan = planLocalStack(template);
    const [echo, , , ws] = plan.functions;

    expect(resolveEnvironment(template, echo ?? plan.functions[0]!, addresses)).toEqual({
      TABLE_NAME: 'SeenTable',
      QUEUE_URL: 'http://127.0.0.1:9324/000000000000/FailureQueue',
      STREAM_ARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/PartialStream',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_SERVICE_NAME: 'fixture',
    });
    expect(resolveEnvironment(template, ws!, addresses)).toEqual({
      TABLE_NAME: 'SeenTable',
      WS_MANAGEMENT_ENDPOINT: 'http://127.0.0.1:3001',
      WS_URL: 'ws://127.0.0.1:3001',
    });
  });

  it('throws UnresolvableIntrinsicError for a Ref to a missing resource', () => {
    const template = fixtureTemplate();
    const fn = planLocalStack(template).functions[0]!;
    fn.environment.MISSING = { Ref: 'NoSuchTable' };

    expect(() => resolveEnvironment(template, fn, addresses)).toThrow(UnresolvableIntrinsicError);
    expect(() => resolveEnvironment(template, fn, addresses)).toThrow(
      'EchoFunction.Environment.Variables.MISSING: Ref to unknown resource NoSuchTable',
    );
  });
});
