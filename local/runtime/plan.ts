/**
 * Turns a synthesized template into a plan of what the local runtime creates and wires. Pure: no
 * network, no files. The parity test compares this plan with the template, resource type by type.
 */
import { findReferencedId, type LocalAddresses, localArn, resolveIntrinsic } from './intrinsics.js';
import { InvalidScheduleExpressionError, parseScheduleExpression, type Schedule } from './schedule-expression.js';
import { type CfnResource, type CfnTemplate, isRecord } from './template.js';

/** A Kinesis stream to create. */
export interface StreamPlan {
  logicalId: string;
  name: string;
  shardCount: number;
}

/** Key schema element, as the DynamoDB API takes it. */
export interface KeyElement {
  AttributeName: string;
  KeyType: 'HASH' | 'RANGE';
}

/** A secondary index, as the DynamoDB API takes it. */
export interface IndexPlan {
  IndexName: string;
  KeySchema: KeyElement[];
  Projection: { ProjectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] };
}

/** A DynamoDB table to create. */
export interface TablePlan {
  logicalId: string;
  name: string;
  keySchema: KeyElement[];
  attributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  globalSecondaryIndexes: IndexPlan[];
  localSecondaryIndexes: IndexPlan[];
}

/** An SQS queue to create; attribute values as SQS takes them (strings). */
export interface QueuePlan {
  logicalId: string;
  name: string;
  attributes: Record<string, string>;
}

/** A function to run from source. */
export interface FunctionPlan {
  logicalId: string;
  name: string;
  /** Repo-relative source file, from the `streamfold:entry` metadata. */
  entry: string;
  /** The exported handler name (the part of `Handler` after the last dot). */
  handlerExport: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The environment as written in the template; resolve with {@link resolveEnvironment}. */
  environment: Record<string, unknown>;
}

/** A Kinesis event-source mapping to poll. */
export interface KinesisMappingPlan extends FailureHandlingPlan {
  logicalId: string;
  functionLogicalId: string;
  streamLogicalId: string;
  enabled: boolean;
  batchSize: number;
  maxBatchingWindowSeconds: number;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  parallelizationFactor: number;
}

/** How a mapping handles a failing batch (the fields `esm-decisions.ts` reads, plus the destination). */
export interface FailureHandlingPlan {
  bisectOnError: boolean;
  /** -1 = retry until the record expires. */
  maxRetryAttempts: number;
  /** -1 = never expires (locally; AWS caps it at the stream retention). */
  maxRecordAgeSeconds: number;
  reportBatchItemFailures: boolean;
  onFailureQueueLogicalId?: string;
}

/** A Kafka event-source mapping (MSK or self-managed) to run with a consumer group on the local broker. */
export interface KafkaMappingPlan extends FailureHandlingPlan {
  logicalId: string;
  functionLogicalId: string;
  topics: string[];
  /** `AmazonManagedKafkaEventSourceConfig.ConsumerGroupId`; Lambda's default is the mapping's UUID. */
  consumerGroupId: string;
  /** The cluster ARN the template names (a cluster of the template, or an existing one); reported in events. */
  eventSourceArn: string;
  enabled: boolean;
  batchSize: number;
  maxBatchingWindowSeconds: number;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

/** A Kafka topic to create on the local broker (from a `Custom::KafkaTopic` resource). */
export interface KafkaTopicPlan {
  logicalId: string;
  name: string;
  partitions: number;
}

/** What a REST method's integration does. */
export type RestTarget =
  | { kind: 'lambda'; functionLogicalId: string }
  | { kind: 'mock'; statusCode: number; headers: Record<string, string> };

/** One REST method, with its full path. */
export interface RestRoutePlan {
  methodLogicalId: string;
  restApiLogicalId: string;
  stageName: string;
  /** HTTP method, upper case, or `ANY`. */
  httpMethod: string;
  /** Full resource path, e.g. `/v1/vehicles/{vehicleId}`. */
  path: string;
  apiKeyRequired: boolean;
  /** `AuthorizationType`: `NONE`, `AWS_IAM` (SigV4) or `COGNITO_USER_POOLS`. */
  authorizationType: RestAuthorizationType;
  /** For `COGNITO_USER_POOLS`: the ARNs of the pools whose tokens the method's authorizer accepts. */
  cognitoUserPoolArns?: string[];
  target: RestTarget;
}

/** The REST authorization types the local server enforces. */
export type RestAuthorizationType = 'NONE' | 'AWS_IAM' | 'COGNITO_USER_POOLS';

/** One route of a WebSocket API. */
export interface WebSocketRoutePlan {
  routeLogicalId: string;
  routeKey: string;
  functionLogicalId: string;
  /** True when the template has a RouteResponse: the function's response body goes back to the client. */
  returnResponse: boolean;
  /** `ApiKeyRequired`: the key the API's `ApiKeySelectionExpression` selects must be a valid API key. */
  apiKeyRequired: boolean;
  /** The route's Lambda REQUEST authorizer (`AuthorizationType: CUSTOM`), run before the route. */
  authorizer?: WebSocketAuthorizerPlan;
}

/** A Lambda REQUEST authorizer of a WebSocket API. */
export interface WebSocketAuthorizerPlan {
  logicalId: string;
  functionLogicalId: string;
  /** e.g. `route.request.querystring.token`, `route.request.header.Auth`; all must be present, or 401. */
  identitySource: string[];
}

/** A WebSocket API. */
export interface WebSocketApiPlan {
  logicalId: string;
  routeSelectionExpression: string;
  /** `$request.header.x-api-key` or `$context.authorizer.usageIdentifierKey`. @default the header */
  apiKeySelectionExpression: string;
  stageName: string;
  routes: WebSocketRoutePlan[];
}

/**
 * What a scheduled rule's target receives: the scheduled event, or the target's constant `Input`, whose
 * `expression` is the template's value (a JSON string, or an intrinsic building one; see
 * {@link resolveTargetInput}).
 */
export type ScheduleTargetInput = { kind: 'scheduled-event' } | { kind: 'constant'; expression: unknown };

/** A Lambda function of the template that a scheduled rule invokes. */
export interface ScheduleTargetPlan {
  /** The target's `Id`. */
  id: string;
  functionLogicalId: string;
  input: ScheduleTargetInput;
  /**
   * The `AWS::Lambda::Permission` that lets EventBridge invoke the function for this rule. Absent: AWS
   * would fail every invocation (a warning says so); locally it runs anyway, as there is no IAM.
   */
  permissionLogicalId?: string;
}

/** An enabled EventBridge rule with a `ScheduleExpression`, and its function targets. */
export interface ScheduleRulePlan {
  logicalId: string;
  /** As the template writes it, e.g. `rate(1 minute)`. */
  expression: string;
  /** Rates run on a timer; cron rules only on demand (`runSchedule`), see `schedule-expression.ts`. */
  schedule: Schedule;
  /** The rule's local ARN: the scheduled event's `resources`. */
  ruleArn: string;
  /** At least one: a rule none of whose targets runs locally is left out, with a warning. */
  targets: ScheduleTargetPlan[];
}

/** A table's offline seeding step, as its `streamfold:seed` metadata declares it. */
export interface SeedPlan {
  /** The name the runtime's `seeds` option and `npm start` give its data directory by, e.g. `gtfs`. */
  name: string;
  tableLogicalId: string;
  /** Repo-relative module whose `exportName` is `(dir, tableName, { client, log }) => Promise<unknown>`. */
  loader: string;
  exportName: string;
}

/** Metadata key of a table's seeding step (set by the CDK construct). */
export const SEED_METADATA_KEY = 'streamfold:seed';

/** Everything the local runtime creates and wires for one template. */
export interface LocalStackPlan {
  streams: StreamPlan[];
  tables: TablePlan[];
  queues: QueuePlan[];
  functions: FunctionPlan[];
  kinesisMappings: KinesisMappingPlan[];
  kafkaMappings: KafkaMappingPlan[];
  kafkaTopics: KafkaTopicPlan[];
  /** Logical ids of the template's Kafka clusters; locally they are all the one local broker. */
  kafkaClusters: string[];
  restRoutes: RestRoutePlan[];
  webSocketApis: WebSocketApiPlan[];
  /** EventBridge rules run on a schedule. */
  schedules: ScheduleRulePlan[];
  /** Tables the runtime can load data into when it starts (their `streamfold:seed` metadata). */
  seeds: SeedPlan[];
  /**
   * Template features the local runtime knowingly ignores (TTL, streams, PITR...). Each starts with the
   * logical id it is about and a colon.
   */
  warnings: string[];
}

/** Raised when a template uses something the local runtime cannot run; lists every problem at once. */
export class UnsupportedTemplateError extends Error {
  override name = 'UnsupportedTemplateError';
  constructor(readonly problems: string[]) {
    super(`the local runtime cannot run this template:\n- ${problems.join('\n- ')}`);
  }
}

/** Resource types the local runtime creates or serves (see {@link planLocalStack}). */
export const WIRED_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'AWS::Kinesis::Stream',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::SQS::Queue',
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
  'AWS::ApiGateway::Method',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Route',
  'AWS::Events::Rule',
  'AWS::MSK::ServerlessCluster',
  'AWS::MSK::Cluster',
  'Custom::KafkaTopic',
]);

/**
 * Resource types the local runtime knowingly does not emulate, and why. A type in neither list is new to
 * the runtime: the parity test fails until someone decides which list it belongs to.
 */
export const IGNORED_RESOURCE_TYPES: Readonly<Record<string, string>> = {
  'AWS::IAM::Role': 'no IAM locally: every function may call every local resource',
  'AWS::IAM::Policy': 'no IAM locally',
  'AWS::Lambda::Permission':
    "no IAM locally; read to warn when a scheduled rule's target lacks the one EventBridge needs in AWS",
  'AWS::SQS::QueuePolicy': 'no IAM locally',
  'AWS::Logs::LogGroup': 'function output goes to .local/logs/<LogicalId>.log',
  'AWS::CloudWatch::Dashboard': 'metrics are counted in memory from EMF lines',
  'AWS::CloudWatch::Alarm': 'no alarms locally',
  'AWS::ApiGateway::RestApi': 'its methods are served (AWS::ApiGateway::Method)',
  'AWS::ApiGateway::Resource': 'read to rebuild method paths',
  'AWS::ApiGateway::Deployment': 'methods are served as soon as the stack starts',
  'AWS::ApiGateway::Stage': 'read for the stage name; throttling and access logs are not emulated',
  'AWS::ApiGateway::Account': 'account-level logging role',
  'AWS::ApiGateway::RequestValidator': 'request validation is not emulated; functions validate themselves',
  'AWS::ApiGateway::ApiKey': 'one local key: STREAMFOLD_API_KEY or local-dev-key',
  'AWS::ApiGateway::Authorizer': "read: a method's Cognito user pools (tokens checked offline without their signature)",
  'AWS::ApiGateway::UsagePlan': 'throttling and quotas are not emulated',
  'AWS::ApiGateway::UsagePlanKey': 'throttling and quotas are not emulated',
  'AWS::ApiGatewayV2::Integration': "read to find each route's function",
  'AWS::ApiGatewayV2::RouteResponse': 'read: routes with one send their response back',
  'AWS::ApiGatewayV2::Authorizer': "read: a route's Lambda authorizer runs before the route",
  'AWS::ApiGatewayV2::Stage': 'read for the stage name; throttling and access logs are not emulated',
  'AWS::CDK::Metadata': 'CDK bookkeeping',
  'AWS::EC2::VPC': "MSK's network: locally everything is on loopback",
  'AWS::EC2::Subnet': "MSK's network: locally everything is on loopback",
  'AWS::EC2::RouteTable': "MSK's network: locally everything is on loopback",
  'AWS::EC2::SubnetRouteTableAssociation': "MSK's network: locally everything is on loopback",
  'AWS::EC2::FlowLog': 'no VPC locally',
  'AWS::EC2::VPCEndpoint': 'the local services are reached on loopback directly',
  'AWS::EC2::SecurityGroup': 'no network isolation locally',
  'AWS::EC2::SecurityGroupIngress': 'no network isolation locally',
  'AWS::EC2::SecurityGroupEgress': 'no network isolation locally',
  'AWS::KMS::Key': 'no encryption at rest locally',
  'AWS::SNS::Topic': 'alarm notifications: no alarms locally',
  'AWS::SNS::TopicPolicy': 'alarm notifications: no alarms locally',
  'AWS::SNS::Subscription': 'alarm notifications: no alarms locally',
  'AWS::WAFv2::WebACL': 'no WAF locally: the local REST server takes every request',
  'AWS::WAFv2::WebACLAssociation': 'no WAF locally',
};

/** Metadata key naming a function's source entry (set by the CDK construct). */
export const ENTRY_METADATA_KEY = 'streamfold:entry';

// Used only to check, at plan time, that every environment value resolves.
const PLACEHOLDER_ADDRESSES: LocalAddresses = {
  sqsEndpoint: 'http://127.0.0.1:1',
  webSocketManagementUrl: 'http://127.0.0.1:2',
  webSocketUrl: 'ws://127.0.0.1:2',
};

const FUNCTION_TYPES = new Set(['AWS::Lambda::Function']);
const STREAM_TYPES = new Set(['AWS::Kinesis::Stream']);
const QUEUE_TYPES = new Set(['AWS::SQS::Queue']);
const MSK_TYPES = new Set(['AWS::MSK::ServerlessCluster', 'AWS::MSK::Cluster']);
const RULE_TYPES = new Set(['AWS::Events::Rule']);
const _TABLE_TYPES = new Set(['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable']);

/**
 * Plans the local stack for a template.
 * @throws UnsupportedTemplateError listing every resource or property the runtime cannot handle.
 */
export function planLocalStack(template: CfnTemplate): LocalStackPlan {
  const plan: LocalStackPlan = {
    streams: [],
    tables: [],
    seeds: [],
    queues: [],
    functions: [],
    kinesisMappings: [],
    kafkaMappings: [],
    kafkaTopics: [],
    kafkaClusters: [],
    restRoutes: [],
    webSocketApis: [],
    schedules: [],
    warnings: [],
  };
  const problems: string[] = [];
  const attempt = (id: string, step: () => void) => {
    try {
      step();
    } catch (error) {
      problems.push(error instanceof Error ? error.message : `${id}: ${String(error)}`);
    }
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::Kinesis::Stream':
        attempt(id, () => plan.streams.push(planStream(id, props)));
        break;
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        attempt(id, () => {
          plan.tables.push(planTable(id, props, plan.warnings));
          const seed = planSeed(id, resource.Metadata?.[SEED_METADATA_KEY]);
          if (seed) plan.seeds.push(seed);
        });
        break;
      case 'AWS::SQS::Queue':
        attempt(id, () => plan.queues.push(planQueue(template, id, props, plan.warnings)));
        break;
      case 'AWS::Lambda::Function':
        attempt(id, () => plan.functions.push(planFunction(template, id, resource)));
        break;
      case 'AWS::Lambda::EventSourceMapping':
        attempt(id, () => {
          if (isKafkaMapping(props)) plan.kafkaMappings.push(planKafkaMapping(template, id, props, plan.warnings));
          else plan.kinesisMappings.push(planMapping(template, id, props, plan.warnings));
        });
        break;
      case 'AWS::MSK::ServerlessCluster':
      case 'AWS::MSK::Cluster':
        plan.kafkaClusters.push(id);
        break;
      case 'Custom::KafkaTopic':
        attempt(id, () => plan.kafkaTopics.push(planKafkaTopic(id, props)));
        break;
      case 'AWS::ApiGateway::Method':
        attempt(id, () => plan.restRoutes.push(planRestMethod(template, id, props)));
        break;
      case 'AWS::ApiGatewayV2::Api':
        attempt(id, () => plan.webSocketApis.push(planWebSocketApi(template, id, props)));
        break;
      case 'AWS::Events::Rule':
        attempt(id, () => {
          const rule = planScheduleRule(template, id, props, plan.warnings);
          if (rule) plan.schedules.push(rule);
        });
        break;
      case 'AWS::Kinesis::StreamConsumer':
        problems.push(`${id}: enhanced fan-out consumers (AWS::Kinesis::StreamConsumer) are not supported locally`);
        break;
      default:
        break;
    }
  }
  if (plan.webSocketApis.length > 1) {
    problems.push(
      `only one WebSocket API can run locally (one port); found ${plan.webSocketApis.map((a) => a.logicalId).join(', ')}`,
    );
  }
  if (problems.length > 0) throw new UnsupportedTemplateError(problems);
  return plan;
}

/**
 * Resolves a function's environment for the local addresses.
 * @throws UnresolvableIntrinsicError naming the function and variable.
 */
export function resolveEnvironment(
  template: CfnTemplate,
  fn: FunctionPlan,
  addresses: LocalAddresses,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) {
    env[name] = resolveIntrinsic(template, value, addresses, {
      resource: fn.logicalId,
      property: `Environment.Variables.${name}`,
    });
  }
  return env;
}

/** Raised when a scheduled target's `Input` is not JSON (EventBridge refuses such a target). */
export class InvalidTargetInputError extends Error {
  override name = 'InvalidTargetInputError';
}

/**
 * A scheduled target's constant `Input`, its intrinsics resolved for the local addresses, parsed; undefined
 * when the target receives the scheduled event (JSON has no undefined, so a constant is never undefined).
 * @throws UnresolvableIntrinsicError or InvalidTargetInputError (not JSON), naming the rule and target.
 */
export function resolveTargetInput(
  template: CfnTemplate,
  rule: ScheduleRulePlan,
  target: ScheduleTargetPlan,
  addresses: LocalAddresses,
): unknown {
  if (target.input.kind !== 'constant') return undefined;
  const where = { resource: rule.logicalId, property: `Targets.${target.id}.Input` };
  const text = resolveIntrinsic(template, target.input.expression, addresses, where);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidTargetInputError(`${where.resource}.${where.property} is not valid JSON: ${text}`, {
      cause: error,
    });
  }
}

function planStream(id: string, props: Record<string, unknown>): StreamPlan {
  const shardCount = props.ShardCount === undefined ? 1 : Number(props.ShardCount);
  // On-demand streams have no ShardCount; one local shard behaves the same for ordering per key.
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new Error(`${id}.ShardCount must be a positive integer`);
  return { logicalId: id, name: id, shardCount };
}

function planTable(id: string, props: Record<string, unknown>, warnings: string[]): TablePlan {
  const keySchema = props.KeySchema as KeyElement[] | undefined;
  const attributeDefinitions = props.AttributeDefinitions as TablePlan['attributeDefinitions'] | undefined;
  if (!Array.isArray(keySchema) || !Array.isArray(attributeDefinitions)) {
    throw new Error(`${id}: KeySchema and AttributeDefinitions must be literal arrays`);
  }
  const index = (raw: unknown): IndexPlan => {
    const i = raw as IndexPlan;
    return { IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection ?? { ProjectionType: 'ALL' } };
  };
  if (props.TimeToLiveSpecification) warnings.push(`${id}: TTL is ignored locally (dynalite has no TTL)`);
  if (props.StreamSpecification) warnings.push(`${id}: DynamoDB Streams are not emulated locally`);
  return {
    logicalId: id,
    name: id,
    keySchema,
    attributeDefinitions,
    globalSecondaryIndexes: Array.isArray(props.GlobalSecondaryIndexes) ? props.GlobalSecondaryIndexes.map(index) : [],
    localSecondaryIndexes: Array.isArray(props.LocalSecondaryIndexes) ? props.LocalSecondaryIndexes.map(index) : [],
  };
}

function planSeed(id: string, metadata: unknown): SeedPlan | undefined {
  if (metadata === undefined) return undefined;
  const m = metadata as { name?: unknown; loader?: unknown; export?: unknown };
  if (typeof m.name !== 'string' || typeof m.loader !== 'string' || typeof m.export !== 'string') {
    throw new Error(`${id}: Metadata "${SEED_METADATA_KEY}" must be { name, loader, export } strings`);
  }
  return { name: m.name, tableLogicalId: id, loader: m.loader, exportName: m.export };
}

const QUEUE_ATTRIBUTES = [
  'DelaySeconds',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
];

function planQueue(template: CfnTemplate, id: string, props: Record<string, unknown>, warnings: string[]): QueuePlan {
  const attributes: Record<string, string> = {};
  for (const name of QUEUE_ATTRIBUTES) if (props[name] !== undefined) attributes[name] = String(props[name]);
  const redrive = props.RedrivePolicy;
  if (isRecord(redrive)) {
    const target = findReferencedId(template, redrive.deadLetterTargetArn, QUEUE_TYPES);
    if (!target) throw new Error(`${id}.RedrivePolicy.deadLetterTargetArn must reference a queue of the template`);
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: resolveIntrinsic(template, redrive.deadLetterTargetArn, PLACEHOLDER_ADDRESSES, {
        resource: id,
        property: 'RedrivePolicy',
      }),
      maxReceiveCount: Number(redrive.maxReceiveCount),
    });
  }
  if (props.FifoQueue) warnings.push(`${id}: FIFO ordering and deduplication are not emulated locally`);
  return { logicalId: id, name: id, attributes };
}

function planFunction(template: CfnTemplate, id: string, resource: CfnResource): FunctionPlan {
  const props = resource.Properties ?? {};
  const entry = resource.Metadata?.[ENTRY_METADATA_KEY];
  if (typeof entry !== 'string') throw new Error(`${id}: no Metadata "${ENTRY_METADATA_KEY}" naming its source file`);
  const handler = typeof props.Handler === 'string' ? props.Handler : 'index.handler';
  const environment =
    isRecord(props.Environment) && isRecord(props.Environment.Variables) ? props.Environment.Variables : {};
  const fn: FunctionPlan = {
    logicalId: id,
    name: id,
    entry,
    handlerExport: handler.slice(handler.lastIndexOf('.') + 1),
    timeoutSeconds: props.Timeout === undefined ? 3 : Number(props.Timeout),
    memoryMb: props.MemorySize === undefined ? 128 : Number(props.MemorySize),
    environment,
  };
  // Resolve once now so an unsupported intrinsic fails the plan, not the start.
  resolveEnvironment(template, fn, PLACEHOLDER_ADDRESSES);
  return fn;
}

function mappingFunction(template: CfnTemplate, id: string, props: Record<string, unknown>): string {
  const fnRef = props.FunctionName;
  const functionLogicalId =
    typeof fnRef === 'string' && template.Resources[fnRef]?.Type === 'AWS::Lambda::Function'
      ? fnRef
      : findReferencedId(template, fnRef, FUNCTION_TYPES);
  if (!functionLogicalId) throw new Error(`${id}.FunctionName must reference a function of the template`);
  return functionLogicalId;
}

function startingPositionOf(id: string, props: Record<string, unknown>): 'TRIM_HORIZON' | 'LATEST' {
  const startingPosition = props.StartingPosition ?? 'LATEST';
  if (startingPosition !== 'TRIM_HORIZON' && startingPosition !== 'LATEST') {
    throw new Error(`${id}.StartingPosition ${String(startingPosition)} is not supported locally`);
  }
  return startingPosition;
}

function failureHandling(template: CfnTemplate, id: string, props: Record<string, unknown>): FailureHandlingPlan {
  const destination = isRecord(props.DestinationConfig) ? props.DestinationConfig.OnFailure : undefined;
  let onFailureQueueLogicalId: string | undefined;
  if (isRecord(destination)) {
    onFailureQueueLogicalId = findReferencedId(template, destination.Destination, QUEUE_TYPES);
    if (!onFailureQueueLogicalId)
      throw new Error(`${id}: the on-failure destination must be an SQS queue of the template`);
  }
  const responseTypes = Array.isArray(props.FunctionResponseTypes) ? props.FunctionResponseTypes : [];
  return {
    bisectOnError: props.BisectBatchOnFunctionError === true,
    maxRetryAttempts: props.MaximumRetryAttempts === undefined ? -1 : Number(props.MaximumRetryAttempts),
    maxRecordAgeSeconds: props.MaximumRecordAgeInSeconds === undefined ? -1 : Number(props.MaximumRecordAgeInSeconds),
    reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    ...(onFailureQueueLogicalId ? { onFailureQueueLogicalId } : {}),
  };
}

function planMapping(
  template: CfnTemplate,
  id: string,
  props: Record<string, unknown>,
  warnings: string[],
): KinesisMappingPlan {
  const streamLogicalId = findReferencedId(template, props.EventSourceArn, STREAM_TYPES);
  if (!streamLogicalId) {
    throw new Error(`${id}: only Kinesis streams of this template and Kafka topics are supported as event sources`);
  }
  const parallelizationFactor = props.ParallelizationFactor === undefined ? 1 : Number(props.ParallelizationFactor);
  if (parallelizationFactor !== 1) {
    warnings.push(`${id}: ParallelizationFactor ${parallelizationFactor} runs as 1 locally (one batch per shard)`);
  }
  return {
    logicalId: id,
    functionLogicalId: mappingFunction(template, id, props),
    streamLogicalId,
    enabled: props.Enabled !== false,
    batchSize: props.BatchSize === undefined ? 100 : Number(props.BatchSize),
    maxBatchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
    startingPosition: startingPositionOf(id, props),
    parallelizationFactor,
    ...failureHandling(template, id, props),
  };
}

/** A Kafka mapping names topics (MSK: `Topics` + a cluster ARN; self-managed: `SelfManagedEventSource`). */
function isKafkaMapping(props: Record<string, unknown>): boolean {
  return Array.isArray(props.Topics) || props.SelfManagedEventSource !== undefined;
}

/** With an on-failure destination and unlimited retries, Lambda caps Kafka retries at 10. */
const KAFKA_RETRIES_WITH_DESTINATION = 10;

function planKafkaMapping(
  template: CfnTemplate,
  id: string,
  props: Record<string, unknown>,
  warnings: string[],
): KafkaMappingPlan {
  const topics = props.Topics;
  if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => typeof t === 'string')) {
    throw new Error(`${id}.Topics must be a literal list of topic names`);
  }
  const clusterLogicalId = findReferencedId(template, props.EventSourceArn, MSK_TYPES);
  const eventSourceArn =
    typeof props.EventSourceArn === 'string'
      ? props.EventSourceArn
      : localArn('kafka', clusterLogicalId ?? 'self-managed');
  if (props.SelfManagedEventSource !== undefined) {
    warnings.push(`${id}: the self-managed Kafka cluster is replaced by the local broker`);
  } else if (!clusterLogicalId) {
    warnings.push(`${id}: the existing cluster ${eventSourceArn} is replaced by the local broker`);
  }
  const config = isRecord(props.AmazonManagedKafkaEventSourceConfig)
    ? props.AmazonManagedKafkaEventSourceConfig
    : isRecord(props.SelfManagedKafkaEventSourceConfig)
      ? props.SelfManagedKafkaEventSourceConfig
      : {};
  const handling = failureHandling(template, id, props);
  if (handling.maxRetryAttempts < 0 && handling.onFailureQueueLogicalId) {
    handling.maxRetryAttempts = KAFKA_RETRIES_WITH_DESTINATION;
  }
  return {
    logicalId: id,
    functionLogicalId: mappingFunction(template, id, props),
    topics: topics as string[],
    consumerGroupId: typeof config.ConsumerGroupId === 'string' ? config.ConsumerGroupId : `lambda-${id}`,
    eventSourceArn,
    enabled: props.Enabled !== false,
    batchSize: props.BatchSize === undefined ? 100 : Number(props.BatchSize),
    maxBatchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0.5),
    startingPosition: startingPositionOf(id, props),
    ...handling,
  };
}

function planKafkaTopic(id: string, props: Record<string, unknown>): KafkaTopicPlan {
  const name = props.Topic;
  const partitions = Number(props.Partitions);
  if (typeof name !== 'string' || name === '') throw new Error(`${id}.Topic must be a literal topic name`);
  if (!Number.isInteger(partitions) || partitions < 1) throw new Error(`${id}.Partitions must be a positive integer`);
  return { logicalId: id, name, partitions };
}

/** The full path of an API Gateway resource, following ParentId up to the API's root resource. */
function restResourcePath(template: CfnTemplate, resourceRef: unknown, methodId: string): string {
  const segments: string[] = [];
  let current = resourceRef;
  for (let depth = 0; depth < 64; depth++) {
    if (isRecord(current) && current['Fn::GetAtt'] !== undefined) return `/${segments.join('/')}`;
    const id = isRecord(current) && typeof current.Ref === 'string' ? current.Ref : undefined;
    const resource = id === undefined ? undefined : template.Resources[id];
    if (resource?.Type !== 'AWS::ApiGateway::Resource') {
      throw new Error(`${methodId}: cannot follow the resource chain at ${JSON.stringify(current)}`);
    }
    segments.unshift(String(resource.Properties?.PathPart));
    current = resource.Properties?.ParentId;
  }
  throw new Error(`${methodId}: resource chain too deep`);
}

function restStageName(template: CfnTemplate, restApiLogicalId: string): string {
  for (const resource of Object.values(template.Resources)) {
    const props = resource.Properties ?? {};
    if (
      resource.Type === 'AWS::ApiGateway::Stage' &&
      isRecord(props.RestApiId) &&
      props.RestApiId.Ref === restApiLogicalId &&
      typeof props.StageName === 'string'
    ) {
      return props.StageName;
    }
  }
  return 'prod';
}

function planRestMethod(template: CfnTemplate, id: string, props: Record<string, unknown>): RestRoutePlan {
  const restApiLogicalId =
    isRecord(props.RestApiId) && typeof props.RestApiId.Ref === 'string' ? props.RestApiId.Ref : '';
  if (!template.Resources[restApiLogicalId]) throw new Error(`${id}.RestApiId must Ref a RestApi of the template`);
  const integration = isRecord(props.Integration) ? props.Integration : {};
  let target: RestTarget;
  if (integration.Type === 'AWS_PROXY') {
    const functionLogicalId = findReferencedId(template, integration.Uri, FUNCTION_TYPES);
    if (!functionLogicalId) throw new Error(`${id}.Integration.Uri does not reference a function of the template`);
    target = { kind: 'lambda', functionLogicalId };
  } else if (integration.Type === 'MOCK') {
    // CORS preflight methods: answer with the first integration response's status and headers.
    const responses = Array.isArray(integration.IntegrationResponses) ? integration.IntegrationResponses : [];
    const first: unknown = responses[0];
    const headers: Record<string, string> = {};
    let statusCode = 200;
    if (isRecord(first)) {
      statusCode = Number(first.StatusCode ?? 200);
      const parameters = isRecord(first.ResponseParameters) ? first.ResponseParameters : {};
      for (const [key, value] of Object.entries(parameters)) {
        const match = /^method\.response\.header\.(.+)$/.exec(key);
        if (match?.[1] && typeof value === 'string') headers[match[1]] = value.replace(/^'(.*)'$/, '$1');
      }
    }
    target = { kind: 'mock', statusCode, headers };
  } else {
    throw new Error(`${id}: integration type ${String(integration.Type)} is not supported locally`);
  }
  return {
    methodLogicalId: id,
    restApiLogicalId,
    stageName: restStageName(template, restApiLogicalId),
    httpMethod: String(props.HttpMethod).toUpperCase(),
    path: restResourcePath(template, props.ResourceId, id),
    apiKeyRequired: props.ApiKeyRequired === true,
    ...planRestAuthorization(template, id, props),
    target,
  };
}

function planRestAuthorization(
  template: CfnTemplate,
  id: string,
  props: Record<string, unknown>,
): Pick<RestRoutePlan, 'authorizationType' | 'cognitoUserPoolArns'> {
  const type = props.AuthorizationType ?? 'NONE';
  if (type === 'NONE' || type === 'AWS_IAM') return { authorizationType: type };
  if (type !== 'COGNITO_USER_POOLS') {
    throw new Error(`${id}: AuthorizationType ${String(type)} is not supported locally`);
  }
  const authorizerId = findReferencedId(template, props.AuthorizerId, new Set(['AWS::ApiGateway::Authorizer']));
  const arns = authorizerId ? template.Resources[authorizerId]?.Properties?.ProviderARNs : undefined;
  if (!Array.isArray(arns) || !arns.every((arn) => typeof arn === 'string')) {
    throw new Error(`${id}: the Cognito authorizer must list its user pools as literal ProviderARNs`);
  }
  return { authorizationType: type, cognitoUserPoolArns: arns as string[] };
}

function refersTo(value: unknown, logicalId: string): boolean {
  return isRecord(value) && value.Ref === logicalId;
}

function planWebSocketApi(template: CfnTemplate, id: string, props: Record<string, unknown>): WebSocketApiPlan {
  if (props.ProtocolType !== 'WEBSOCKET')
    throw new Error(`${id}: HTTP APIs (ApiGatewayV2 ${props.ProtocolType}) are not supported locally`);
  const resources = Object.entries(template.Resources);
  const routeIdsWithResponse = new Set(
    resources
      .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::RouteResponse')
      .map(([, r]) => (isRecord(r.Properties?.RouteId) ? r.Properties.RouteId.Ref : undefined)),
  );
  const stage = resources.find(
    ([, r]) => r.Type === 'AWS::ApiGatewayV2::Stage' && refersTo(r.Properties?.ApiId, id),
  )?.[1];
  const routes: WebSocketRoutePlan[] = [];
  for (const [routeId, route] of resources) {
    if (route.Type !== 'AWS::ApiGatewayV2::Route' || !refersTo(route.Properties?.ApiId, id)) continue;
    const integrationId = findReferencedId(
      template,
      route.Properties?.Target,
      new Set(['AWS::ApiGatewayV2::Integration']),
    );
    const integration = integrationId ? template.Resources[integrationId] : undefined;
    const functionLogicalId = findReferencedId(template, integration?.Properties?.IntegrationUri, FUNCTION_TYPES);
    if (!functionLogicalId)
      throw new Error(`${routeId}: the route's target is not a Lambda proxy integration of the template`);
    const authorizer = planWebSocketAuthorizer(template, routeId, route.Properties ?? {});
    routes.push({
      routeLogicalId: routeId,
      routeKey: String(route.Properties?.RouteKey),
      functionLogicalId,
      returnResponse: routeIdsWithResponse.has(routeId),
      apiKeyRequired: route.Properties?.ApiKeyRequired === true,
      ...(authorizer ? { authorizer } : {}),
    });
  }
  return {
    logicalId: id,
    routeSelectionExpression: String(props.RouteSelectionExpression ?? '$request.body.action'),
    apiKeySelectionExpression: String(props.ApiKeySelectionExpression ?? '$request.header.x-api-key'),
    stageName: typeof stage?.Properties?.StageName === 'string' ? stage.Properties.StageName : 'prod',
    routes,
  };
}

/** The identity sources the local WebSocket server can evaluate. */
export const IDENTITY_SOURCE = /^route\.request\.(querystring|header)\.(.+)$/;

function planWebSocketAuthorizer(
  template: CfnTemplate,
  routeId: string,
  props: Record<string, unknown>,
): WebSocketAuthorizerPlan | undefined {
  const type = props.AuthorizationType ?? 'NONE';
  if (type === 'NONE') return undefined;
  if (type !== 'CUSTOM') throw new Error(`${routeId}: AuthorizationType ${String(type)} is not supported locally`);
  const logicalId = findReferencedId(template, props.AuthorizerId, new Set(['AWS::ApiGatewayV2::Authorizer']));
  const authorizer = logicalId ? template.Resources[logicalId]?.Properties : undefined;
  if (!logicalId || !authorizer) throw new Error(`${routeId}.AuthorizerId must Ref an authorizer of the template`);
  if (authorizer.AuthorizerType !== 'REQUEST') {
    throw new Error(
      `${logicalId}: only REQUEST (Lambda) authorizers run locally, not ${String(authorizer.AuthorizerType)}`,
    );
  }
  const functionLogicalId = findReferencedId(template, authorizer.AuthorizerUri, FUNCTION_TYPES);
  if (!functionLogicalId) throw new Error(`${logicalId}.AuthorizerUri does not reference a function of the template`);
  const identitySource = Array.isArray(authorizer.IdentitySource) ? authorizer.IdentitySource.map(String) : [];
  for (const source of identitySource) {
    if (!IDENTITY_SOURCE.test(source))
      throw new Error(`${logicalId}: identity source ${source} is not supported locally`);
  }
  return { logicalId, functionLogicalId, identitySource };
}

/**
 * An EventBridge rule with a schedule, or undefined (with a warning saying why) for a rule that does not
 * run locally: an event-pattern rule, a disabled one, one with no function target of the template.
 */
function planScheduleRule(
  template: CfnTemplate,
  id: string,
  props: Record<string, unknown>,
  warnings: string[],
): ScheduleRulePlan | undefined {
  if (props.ScheduleExpression === undefined) {
    warnings.push(`${id}: event-pattern rules are not run locally (nothing puts EventBridge events offline)`);
    return undefined;
  }
  if (props.State === 'DISABLED') {
    warnings.push(`${id}: State DISABLED, so it is not scheduled locally either`);
    return undefined;
  }
  const expression = resolveIntrinsic(template, props.ScheduleExpression, PLACEHOLDER_ADDRESSES, {
    resource: id,
    property: 'ScheduleExpression',
  });
  let schedule: Schedule;
  try {
    schedule = parseScheduleExpression(expression);
  } catch (error) {
    throw new InvalidScheduleExpressionError(`${id}.ScheduleExpression ${(error as Error).message}`, { cause: error });
  }
  if (props.EventPattern !== undefined) {
    warnings.push(`${id}: its EventPattern is not matched locally; only its schedule runs`);
  }
  if (schedule.kind === 'cron') {
    warnings.push(`${id}: ${expression} is not run on a timer locally (cron); runSchedule('${id}') triggers it`);
  }
  const rule: ScheduleRulePlan = { logicalId: id, expression, schedule, ruleArn: localArn('events', id), targets: [] };
  const targets = Array.isArray(props.Targets) ? props.Targets : [];
  for (const [index, target] of targets.entries()) {
    if (!isRecord(target)) continue;
    const planned = planScheduleTarget(template, rule, index, target, warnings);
    if (planned) rule.targets.push(planned);
  }
  if (rule.targets.length === 0) {
    warnings.push(`${id}: none of its targets is a function of the template, so it does not run locally`);
    return undefined;
  }
  return rule;
}

function planScheduleTarget(
  template: CfnTemplate,
  rule: ScheduleRulePlan,
  index: number,
  target: Record<string, unknown>,
  warnings: string[],
): ScheduleTargetPlan | undefined {
  const targetId = typeof target.Id === 'string' ? target.Id : `#${index}`;
  const where = `${rule.logicalId} target ${targetId}`;
  const functionLogicalId = findReferencedId(template, target.Arn, FUNCTION_TYPES);
  if (!functionLogicalId) {
    warnings.push(`${where}: ${describeTargetArn(template, target.Arn)} is not a function of the template; not run`);
    return undefined;
  }
  // Running the target with the whole event instead would hand the function a payload AWS never sends.
  if (target.InputPath !== undefined || target.InputTransformer !== undefined) {
    warnings.push(`${where}: InputPath and InputTransformer are not applied locally; not run`);
    return undefined;
  }
  const input: ScheduleTargetInput =
    target.Input === undefined ? { kind: 'scheduled-event' } : { kind: 'constant', expression: target.Input };
  const permissionLogicalId = invokePermission(template, functionLogicalId, rule.logicalId);
  const planned: ScheduleTargetPlan = {
    id: targetId,
    functionLogicalId,
    input,
    ...(permissionLogicalId ? { permissionLogicalId } : {}),
  };
  // Parse now so a malformed Input fails the plan, not a tick.
  resolveTargetInput(template, rule, planned, PLACEHOLDER_ADDRESSES);
  if (!permissionLogicalId) {
    warnings.push(
      `${where}: no AWS::Lambda::Permission lets events.amazonaws.com invoke ${functionLogicalId} for this rule; ` +
        'in AWS every invocation would fail (locally it runs, there is no IAM)',
    );
  }
  return planned;
}

/** The permission that lets EventBridge invoke `functionLogicalId` for `ruleLogicalId` (any rule when it has no SourceArn). */
function invokePermission(template: CfnTemplate, functionLogicalId: string, ruleLogicalId: string): string | undefined {
  return Object.entries(template.Resources).find(([, resource]) => {
    const props = resource.Properties ?? {};
    return (
      resource.Type === 'AWS::Lambda::Permission' &&
      (props.Action === 'lambda:InvokeFunction' || props.Action === 'lambda:*') &&
      props.Principal === 'events.amazonaws.com' &&
      findReferencedId(template, props.FunctionName, FUNCTION_TYPES) === functionLogicalId &&
      (props.SourceArn === undefined || findReferencedId(template, props.SourceArn, RULE_TYPES) === ruleLogicalId)
    );
  })?.[0];
}

/** What a target's Arn points at, for a warning: `<Type> <LogicalId>`, or the literal ARN. */
function describeTargetArn(template: CfnTemplate, arn: unknown): string {
  if (typeof arn === 'string') return arn;
  const referenced = findReferencedId(template, arn, new Set(Object.values(template.Resources).map((r) => r.Type)));
  const type = referenced === undefined ? undefined : template.Resources[referenced]?.Type;
  return referenced && type ? `${type} ${referenced}` : JSON.stringify(arn);
}
