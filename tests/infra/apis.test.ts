import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildStack, synthTemplate, synthTemplateJson } from '../helpers/synth.js';

const template = synthTemplate();
const resources = synthTemplateJson().Resources;

/** Full path of an API Gateway resource, following ParentId up to the root. */
function resourcePath(logicalId: string): string {
  const resource = resources[logicalId];
  if (resource?.Type !== 'AWS::ApiGateway::Resource') return '';
  const parent = resource.Properties?.['ParentId'] as { Ref?: string };
  return `${parent.Ref ? resourcePath(parent.Ref) : ''}/${resource.Properties?.['PathPart'] as string}`;
}

/** Full path of an API Gateway resource of another template. */
function resourcePathIn(all: typeof resources, logicalId: string): string {
  const resource = all[logicalId];
  if (resource?.Type !== 'AWS::ApiGateway::Resource') return '';
  const parent = resource.Properties?.['ParentId'] as { Ref?: string };
  return `${parent.Ref ? resourcePathIn(all, parent.Ref) : ''}/${resource.Properties?.['PathPart'] as string}`;
}

/** Every REST method as `VERB /path`, with the method's properties. */
function restMethods(): Map<string, Record<string, unknown>> {
  const methods = new Map<string, Record<string, unknown>>();
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::ApiGateway::Method' || !resource.Properties) continue;
    const parent = resource.Properties['ResourceId'] as { Ref?: string };
    const path = parent.Ref ? resourcePath(parent.Ref) : '/';
    methods.set(`${resource.Properties['HttpMethod'] as string} ${path}`, resource.Properties);
  }
  return methods;
}

function functionId(prefix: string): string {
  const id = Object.keys(resources).find(
    (logicalId) => resources[logicalId]?.Type === 'AWS::Lambda::Function' && logicalId.startsWith(prefix),
  );
  if (!id) throw new Error(`no function ${prefix}`);
  return id;
}

describe('REST API', () => {
  const methods = restMethods();

  it('declares exactly the routes of the contract', () => {
    expect([...methods.keys()].sort()).toEqual(
      [
        'POST /v1/events',
        'POST /v1/transit/events',
        'GET /v1/vehicles',
        'GET /v1/vehicles/{vehicleId}',
        'GET /v1/routes/{routeId}/metrics',
        'GET /v1/stops/{stopId}/eta',
        'GET /v1/anomalies',
        'GET /health',
      ].sort(),
    );
  });

  it("requires the API key on transit's two ingest routes only", () => {
    for (const [route, method] of methods) {
      expect(method['ApiKeyRequired'], route).toBe(route === 'POST /v1/events' || route === 'POST /v1/transit/events');
    }
  });

  it.each([
    ['POST /v1/events', 'IngestFunction'],
    ['POST /v1/transit/events', 'IngestFunction'],
    ['GET /v1/vehicles', 'ApiFunction'],
    ['GET /v1/vehicles/{vehicleId}', 'ApiFunction'],
    ['GET /v1/routes/{routeId}/metrics', 'ApiFunction'],
    ['GET /v1/stops/{stopId}/eta', 'ApiFunction'],
    ['GET /v1/anomalies', 'ApiFunction'],
    ['GET /health', 'ApiFunction'],
  ])('sends %s to %s as a Lambda proxy integration', (route, fn) => {
    const integration = methods.get(route)?.['Integration'] as { Type: string; Uri: unknown };

    expect(integration.Type).toBe('AWS_PROXY');
    expect(JSON.stringify(integration.Uri)).toContain(`"${functionId(fn)}"`);
  });

  it('requires path parameters and validates requests', () => {
    expect(methods.get('GET /v1/stops/{stopId}/eta')?.['RequestParameters']).toEqual({
      'method.request.path.stopId': true,
    });
    for (const method of methods.values()) expect(method['RequestValidatorId']).toBeDefined();
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
  });

  it('has a usage plan with throttling that covers the API key', () => {
    // The ingest key, and the WebSocket subscribers' key in a plan of their own.
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 2);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 50, BurstLimit: 100 },
      ApiStages: [Match.objectLike({ Stage: Match.anyValue() })],
    });
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 2);
  });

  it('has a prod stage with throttling, tracing, execution and access logs', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        }),
      ],
    });
  });
});

describe('REST authorization (stack prop restAuth)', () => {
  const POOL = 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123';
  const modes = (methods: Map<string, Record<string, unknown>>) =>
    Object.fromEntries(
      [...methods]
        .filter(([key]) => !key.startsWith('OPTIONS '))
        .map(([key, props]) => [key, `${String(props.AuthorizationType)}${props.ApiKeyRequired ? '+key' : ''}`]),
    );

  it('requires a key to write, IAM to read anomalies, and leaves the public transit reads open by default', () => {
    expect(modes(restMethods())).toEqual({
      'POST /v1/events': 'NONE+key',
      'POST /v1/transit/events': 'NONE+key',
      'GET /v1/vehicles': 'NONE',
      'GET /v1/vehicles/{vehicleId}': 'NONE',
      'GET /v1/routes/{routeId}/metrics': 'NONE',
      'GET /v1/stops/{stopId}/eta': 'NONE',
      'GET /v1/anomalies': 'AWS_IAM',
      'GET /health': 'NONE',
    });
  });

  it('applies each route its setting, with one Cognito authorizer for the pool', () => {
    const custom = Template.fromStack(
      buildStack({
        restAuth: { 'GET /v1/vehicles': 'cognito', 'GET /v1/anomalies': 'cognito', 'GET /health': 'apiKey' },
        cognitoUserPoolArn: POOL,
      }),
    );
    const json = custom.toJSON() as { Resources: typeof resources };
    const methods = new Map<string, Record<string, unknown>>();
    for (const resource of Object.values(json.Resources)) {
      if (resource.Type !== 'AWS::ApiGateway::Method' || !resource.Properties) continue;
      const ref = resource.Properties.ResourceId as { Ref?: string };
      const path = ref.Ref ? resourcePathIn(json.Resources, ref.Ref) : '/';
      methods.set(`${resource.Properties.HttpMethod as string} ${path}`, resource.Properties);
    }

    expect(modes(methods)).toMatchObject({
      'GET /v1/vehicles': 'COGNITO_USER_POOLS',
      'GET /v1/anomalies': 'COGNITO_USER_POOLS',
      'GET /health': 'NONE+key',
      'GET /v1/vehicles/{vehicleId}': 'NONE',
    });
    custom.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    custom.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'COGNITO_USER_POOLS',
      ProviderARNs: [POOL],
      IdentitySource: 'method.request.header.Authorization',
    });
  });
});

describe('WebSocket API', () => {
  it('routes on $request.body.action', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  it('has exactly the routes of the contract, all integrated with the connection function', () => {
    const routes = Object.values(resources).filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route');
    const integrations = Object.values(resources).filter(
      (resource) => resource.Type === 'AWS::ApiGatewayV2::Integration',
    );

    expect(routes.map((route) => route.Properties?.['RouteKey']).sort()).toEqual(
      ['$connect', '$default', '$disconnect', 'subscribe', 'unsubscribe'].sort(),
    );
    expect(integrations).toHaveLength(1);
    expect(JSON.stringify(integrations[0]?.Properties?.['IntegrationUri'])).toContain(
      `"${functionId('WsConnectionFunction')}"`,
    );
  });

  it('returns the function response on subscribe, unsubscribe and $default', () => {
    const routes = Object.values(resources).filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route');
    const returning = routes
      .filter((route) => route.Properties?.['RouteResponseSelectionExpression'] === '$default')
      .map((route) => route.Properties?.['RouteKey'])
      .sort();

    expect(returning).toEqual(['$default', 'subscribe', 'unsubscribe']);
    template.resourceCountIs('AWS::ApiGatewayV2::RouteResponse', 3);
  });

  it('authorizes $connect with the token authorizer and requires the key it passes on', () => {
    const authorizers = template.findResources('AWS::ApiGatewayV2::Authorizer');
    const [authorizerId, authorizer] = Object.entries(authorizers)[0] ?? [];

    expect(Object.keys(authorizers)).toHaveLength(1);
    expect(authorizer?.Properties).toMatchObject({
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.token'],
    });
    expect(JSON.stringify(authorizer?.Properties?.AuthorizerUri)).toContain(`"${functionId('WsAuthorizerFunction')}"`);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ApiKeySelectionExpression: '$context.authorizer.usageIdentifierKey',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$connect',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
      ApiKeyRequired: true,
    });
  });

  it('gives subscribers their own API key, in a usage plan of the WebSocket stage', () => {
    const api = Object.keys(template.findResources('AWS::ApiGatewayV2::Api'))[0];
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      ApiStages: [{ ApiId: { Ref: api }, Stage: 'prod' }],
    });
    template.hasResourceProperties('AWS::ApiGateway::ApiKey', {
      Description: Match.stringLikeRegexp('WebSocket subscribers'),
    });
  });

  it('allows any browser origin by default and passes a configured list to the authorizer', () => {
    const env = (t: typeof template) =>
      Object.values(t.findResources('AWS::Lambda::Function')).find((fn) =>
        JSON.stringify(fn.Metadata).includes('functions/ws-authorizer.ts'),
      )?.Properties?.Environment?.Variables;

    expect(env(template)?.WS_ALLOWED_ORIGINS).toBe('*');
    expect(
      env(Template.fromStack(buildStack({ webSocketAllowedOrigins: ['https://a.example', 'http://localhost:8080'] })))
        ?.WS_ALLOWED_ORIGINS,
    ).toBe('https://a.example,http://localhost:8080');
  });

  it('has an auto-deployed prod stage with throttling and access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('connectionId') },
    });
  });
});
