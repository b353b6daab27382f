// The local runtime must run the same template as AWS: every function, event-source mapping, table,
// stream, queue, REST method, WebSocket route and scheduled rule of the synthesized stack has to be wired
// locally (or, for a rule, noted as not run), every Lambda permission has to belong to something wired, and
// every other resource type has to be known to be safe to ignore.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findReferencedId } from '../../local/runtime/intrinsics.js';
import {
  IGNORED_RESOURCE_TYPES,
  type LocalStackPlan,
  planLocalStack,
  WIRED_RESOURCE_TYPES,
} from '../../local/runtime/plan.js';
import { type CfnTemplate, synthesizeTemplate } from '../../local/runtime/template.js';
import { sensorsDescription } from '../fixtures/pipelines/sensors/description.js';
import { buildStack } from '../helpers/synth.js';

const root = join(import.meta.dirname, '..', '..');
const outdir = mkdtempSync(join(tmpdir(), 'streamfold-parity-'));

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const TEMPLATES: [name: string, load: () => Promise<CfnTemplate>][] = [
  // Synthesized without bundling, as `npm start` does, into a private directory so parallel runs don't collide.
  ['the app as npm start synthesizes it', () => synthesizeTemplate({ root, outdir })],
  // The app has no pipeline yet; the stack with the test pipeline brings its functions, rule, routes and topic.
  [
    'the stack with a pipeline',
    async () => Template.fromStack(buildStack({ pipelines: [sensorsDescription] })).toJSON() as CfnTemplate,
  ],
];

describe.each(TEMPLATES)('local runtime parity with %s', (_name, load) => {
  let template: CfnTemplate;
  let plan: LocalStackPlan;

  const idsOfType = (type: string) =>
    Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([id]) => id)
      .sort();

  beforeAll(async () => {
    template = await load();
    plan = planLocalStack(template);
  });

  it('runs every Lambda function from its source entry', () => {
    expect(plan.functions.map((f) => f.logicalId).sort()).toEqual(idsOfType('AWS::Lambda::Function'));
    expect(idsOfType('AWS::Lambda::Function').length).toBeGreaterThan(0);
  });

  it('polls every event-source mapping, Kinesis or Kafka, into a running function', () => {
    const mappings = [...plan.kinesisMappings, ...plan.kafkaMappings];
    expect(mappings.map((m) => m.logicalId).sort()).toEqual(idsOfType('AWS::Lambda::EventSourceMapping'));
    const functions = new Set(plan.functions.map((f) => f.logicalId));
    for (const mapping of mappings) expect(functions).toContain(mapping.functionLogicalId);
  });

  it('creates every Kafka topic the template declares, and every topic a mapping reads', () => {
    expect(plan.kafkaTopics.map((t) => t.logicalId).sort()).toEqual(idsOfType('Custom::KafkaTopic'));
    const declared = new Set(plan.kafkaTopics.map((t) => t.name));
    for (const mapping of plan.kafkaMappings) for (const topic of mapping.topics) expect(declared).toContain(topic);
  });

  it('creates every table, stream and queue', () => {
    expect(plan.tables.map((t) => t.logicalId).sort()).toEqual(
      [...idsOfType('AWS::DynamoDB::Table'), ...idsOfType('AWS::DynamoDB::GlobalTable')].sort(),
    );
    expect(plan.streams.map((s) => s.logicalId).sort()).toEqual(idsOfType('AWS::Kinesis::Stream'));
    expect(plan.queues.map((q) => q.logicalId).sort()).toEqual(idsOfType('AWS::SQS::Queue'));
  });

  it('serves every REST method', () => {
    expect(plan.restRoutes.map((r) => r.methodLogicalId).sort()).toEqual(idsOfType('AWS::ApiGateway::Method'));
  });

  it('serves every WebSocket route', () => {
    expect(plan.webSocketApis.map((a) => a.logicalId).sort()).toEqual(idsOfType('AWS::ApiGatewayV2::Api'));
    expect(plan.webSocketApis.flatMap((a) => a.routes.map((r) => r.routeLogicalId)).sort()).toEqual(
      idsOfType('AWS::ApiGatewayV2::Route'),
    );
  });

  it("runs $connect's authorizer and checks the key the template selects, as API Gateway does", () => {
    const [api] = plan.webSocketApis;
    const connect = api?.routes.find((route) => route.routeKey === '$connect');

    expect(api?.apiKeySelectionExpression).toBe('$context.authorizer.usageIdentifierKey');
    expect(connect?.apiKeyRequired).toBe(true);
    expect(connect?.authorizer).toEqual({
      logicalId: idsOfType('AWS::ApiGatewayV2::Authorizer')[0],
      functionLogicalId: idsOfType('AWS::Lambda::Function').find((id) => id.startsWith('WsAuthorizerFunction')),
      identitySource: ['route.request.querystring.token'],
    });
  });

  it('sends every on-failure destination to a queue it creates', () => {
    const queues = new Set(plan.queues.map((q) => q.logicalId));
    for (const mapping of [...plan.kinesisMappings, ...plan.kafkaMappings]) {
      if (mapping.onFailureQueueLogicalId) expect(queues).toContain(mapping.onFailureQueueLogicalId);
    }
  });

  it('schedules every EventBridge rule into running functions, or notes why it does not run', () => {
    const scheduled = new Set(plan.schedules.map((rule) => rule.logicalId));
    const functions = new Set(plan.functions.map((f) => f.logicalId));
    const unaccounted = idsOfType('AWS::Events::Rule').filter(
      (id) => !scheduled.has(id) && !plan.warnings.some((warning) => warning.startsWith(`${id}:`)),
    );

    expect(unaccounted).toEqual([]);
    for (const target of plan.schedules.flatMap((rule) => rule.targets)) {
      expect(functions).toContain(target.functionLogicalId);
      // Without it EventBridge cannot invoke the function in AWS, though the local run would pass.
      expect(target.permissionLogicalId).toBeDefined();
    }
  });

  it('accounts for every Lambda permission: API Gateway invoking a function it serves, EventBridge a rule', () => {
    const servedFunctions = new Set([
      ...plan.restRoutes.flatMap((route) => (route.target.kind === 'lambda' ? [route.target.functionLogicalId] : [])),
      ...plan.webSocketApis.flatMap((api) =>
        api.routes.flatMap((route) => [
          route.functionLogicalId,
          ...(route.authorizer ? [route.authorizer.functionLogicalId] : []),
        ]),
      ),
    ]);
    const functionTypes = new Set(['AWS::Lambda::Function']);
    const unaccounted = idsOfType('AWS::Lambda::Permission').filter((id) => {
      const props = template.Resources[id]?.Properties ?? {};
      if (props.Principal === 'apigateway.amazonaws.com') {
        return !servedFunctions.has(findReferencedId(template, props.FunctionName, functionTypes) ?? '');
      }
      if (props.Principal === 'events.amazonaws.com') {
        // Its SourceArn names a rule of the template, which the test above shows scheduled or noted.
        return findReferencedId(template, props.SourceArn, new Set(['AWS::Events::Rule'])) === undefined;
      }
      return true;
    });

    expect(unaccounted).toEqual([]);
  });

  it('knows every resource type of the template, wired or deliberately ignored', () => {
    const unknown = [...new Set(Object.values(template.Resources).map((r) => r.Type))].filter(
      (type) => !WIRED_RESOURCE_TYPES.has(type) && !(type in IGNORED_RESOURCE_TYPES),
    );

    expect(unknown).toEqual([]);
  });
});
