import type { RemovalPolicy, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { TRANSIT_DEPLOYMENT } from '../pipelines/transit/description.js';
import { TRANSIT_PROCESSORS, TRANSIT_SETTINGS, type TransitProcessorCore } from '../pipelines/transit/settings.js';
import { deploymentNames, engineDeployment } from '../shared/engine/deployment.js';
import { descriptionProblems, type PipelineDescription } from '../shared/engine/pipeline.js';
import { EVENT_TIME_SETTINGS, type Setting, settingProblem, settingsRelationProblems } from '../shared/settings.js';
import { isMskClusterArn } from './constructs/kafka-cluster-arn.js';
import type { KafkaPollers } from './constructs/kafka-event-source.js';
import type { Throttle } from './constructs/streamfold-rest-api.js';
import {
  isTransitIngestRoute,
  pipelineIngestRoute,
  REST_AUTHORIZATIONS,
  REST_ROUTES,
  type RestAuthorization,
  type RestRouteKey,
  resolvePipelineRestAuth,
  resolveRestAuth,
} from './rest-auth.js';

/** How the Kafka processor consumes, whichever cluster it reads. */
export interface KafkaConsumerProps {
  /**
   * Provisioned pollers of each MSK event-source mapping, transit's and each pipeline's (needed for its
   * bisect, retries, maximum record age and on-failure queue; billed per poller-hour).
   * @default { minimum: 1, maximum: 2 }
   */
  readonly pollers?: KafkaPollers;
  /**
   * Consumer group of transit's mapping; unique among the consumers of the topic, fixed once created.
   * Each pipeline's mapping has its own, `streamfold-<name>-processor`.
   * @default 'streamfold-processor'
   */
  readonly consumerGroupId?: string;
}

/** Create an MSK Serverless cluster (IAM auth) in its own isolated VPC, and the topic on it. */
export interface ServerlessKafkaProps extends KafkaConsumerProps {
  readonly mode: 'serverless';
}

/**
 * Consume from an existing MSK cluster with IAM authentication. The stack creates no cluster, VPC or
 * topic: the topic `vehicle.position.v1` must exist, and the cluster's subnets must reach Lambda, STS
 * and SQS (VPC endpoints or a NAT), with a security group that admits itself on the broker port.
 */
export interface ExistingKafkaProps extends KafkaConsumerProps {
  readonly mode: 'existing';
  /** ARN of the cluster, `arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>`. */
  readonly clusterArn: string;
}

/** No Kafka path at all, for accounts that don't want MSK's hourly cost. */
export interface NoKafkaProps {
  readonly mode: 'none';
}

/** The Kafka (Amazon MSK) ingest path. */
export type KafkaProps = ServerlessKafkaProps | ExistingKafkaProps | NoKafkaProps;

/** Settings of the Streamfold stack. Every one is checked at synth time by {@link validateStreamfoldProps}. */
export interface StreamfoldStackProps extends StackProps {
  /**
   * Tumbling window length in seconds (`WINDOW_SIZE_SECONDS`).
   * @default 60
   */
  readonly windowSizeSeconds?: number;
  /**
   * How late, in seconds, an event may be and still be folded into its window (`ALLOWED_LATENESS_SECONDS`).
   * @default 120
   */
  readonly allowedLatenessSeconds?: number;
  /**
   * How far ahead of the processing clock, in seconds, an event time may be (`MAX_CLOCK_SKEW_SECONDS`);
   * later events are dead-lettered. At most half of `allowedLatenessSeconds`, so that one fast device
   * clock cannot make on-time events late (docs/exactly-once.md).
   * @default 60, or half of allowedLatenessSeconds when that is less
   */
  readonly maxClockSkewSeconds?: number;
  /**
   * Absolute z-score of a speed that flags an anomaly (`SPEED_Z_THRESHOLD`).
   * @default 3
   */
  readonly speedZThreshold?: number;
  /**
   * Minutes without moving, while on a trip, that flag a stalled vehicle (`STALL_MINUTES`).
   * @default 5
   */
  readonly stallMinutes?: number;
  /**
   * Implied speed between two fixes above which a jump is impossible (`MAX_PLAUSIBLE_SPEED_KMH`).
   * @default 160
   */
  readonly maxPlausibleSpeedKmh?: number;
  /**
   * Distance from the route shape, in metres, that flags a vehicle off route (`OFF_ROUTE_METERS`).
   * @default 150
   */
  readonly offRouteMeters?: number;
  /**
   * Which core transit's processors run (`TRANSIT_PROCESSOR`): `engine`, transit as a pipeline on the
   * engine (over transit's tables plus `TransitEngineTable`), or `batch`, the processor it replaced,
   * kept for one release so that a stack deployed before can stage the switch (docs/transit-on-engine.md,
   * step 10). Going back from `engine` to `batch` is lossy: `batch` does not read the ids the engine
   * keeps in a vehicle window, so a copy of a fix the engine folded, re-sent into the same window, is
   * counted again there.
   * @default 'engine'
   */
  readonly transitProcessor?: TransitProcessorCore;
  /**
   * Shards of the input stream.
   * @default 2
   */
  readonly inputShardCount?: number;
  /**
   * Shards of the output stream.
   * @default 2
   */
  readonly outputShardCount?: number;
  /**
   * What happens to the tables, and their data, when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Throttle of every REST method.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly restThrottle?: Throttle;
  /**
   * How callers of each REST route authenticate (`none`, `apiKey`, `iam`, `cognito`), by `METHOD /path`;
   * routes not named keep their default (see `DEFAULT_REST_AUTH` in infra/rest-auth.ts).
   * @default { 'POST /v1/events' and 'POST /v1/transit/events': 'apiKey', 'GET /v1/anomalies': 'iam', every other GET: 'none' }
   */
  readonly restAuth?: Partial<Record<RestRouteKey, RestAuthorization>>;
  /**
   * ARN of the Cognito user pool whose ID tokens `cognito` routes accept; required when a route uses `cognito`.
   * @default none
   */
  readonly cognitoUserPoolArn?: string;
  /**
   * Throttle per API key of transit's and the pipelines' ingest routes (`POST /v1/events`, `POST /v1/<name>/events`).
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly ingestThrottle?: Throttle;
  /**
   * Throttle of the WebSocket stage.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly webSocketThrottle?: Throttle;
  /**
   * Origins (`https://host[:port]`) browsers may open the WebSocket from; `*` allows any. A connection
   * without an `Origin` header (not a browser) is not checked; every connection needs the API key.
   * @default ['*']
   */
  readonly webSocketAllowedOrigins?: readonly string[];
  /**
   * Name of the CloudWatch dashboard, unique per account and region.
   * @default 'Streamfold'
   */
  readonly dashboardName?: string;
  /**
   * The Kafka ingest path: an MSK Serverless cluster of its own, an existing MSK cluster, or none.
   * From the CLI: `-c streamfold:kafka=none|serverless` or `-c streamfold:mskClusterArn=arn:...`.
   * @default { mode: 'serverless' }
   */
  readonly kafka?: KafkaProps;
  /**
   * How long every log group (functions, API access logs, VPC flow logs) keeps its logs. Control Tower
   * (CT.CLOUDWATCH.PR.2) asks for at least a year.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Whether every log group is encrypted with the stack's KMS key (CT.CLOUDWATCH.PR.3) rather than with
   * CloudWatch Logs' own keys. The key (which also encrypts the alarm topic) bills monthly.
   * @default true
   */
  readonly logEncryption?: boolean;
  /**
   * Who is told when an alarm fires or clears: each an email address (confirmed by mail), or the ARN of
   * an SQS queue or Lambda function whose policy lets the alarm topic deliver to it.
   * @default none: alarms notify the topic (output `AlarmTopicArn`), which has no subscriber yet
   */
  readonly alarmSubscribers?: readonly string[];
  /**
   * The web ACL of the REST API (AWS managed core and known-bad-inputs rules, a rate limit per IP, and
   * body sizes that let 1 MiB ingest batches through). WAF bills per web ACL, rule and request.
   * @default { enabled: true, rateLimitPerIp: 20_000 }
   */
  readonly waf?: WafProps;
  /**
   * The engine's pipelines (`PipelineDescription` of shared/engine/pipeline.ts, plain data), each built by
   * a `StreamfoldPipeline` under its `constructId`: its own input stream, engine table, functions, tick
   * schedule, routes under `/v1/<name>/` on the REST API, and, unless `kafka` is `none`, a consumer of its
   * Kafka topic. Transit is built the same way, first, from its own deployment; its props are the stack's
   * top-level ones. All share the output stream, the broadcaster and the WebSocket API.
   * @default none
   */
  readonly pipelines?: readonly PipelineDescription[];
  /**
   * How callers of the pipelines' REST routes authenticate (`none`, `apiKey`, `iam`, `cognito`), by
   * `METHOD /path`: a pipeline's `POST /v1/<name>/events` or one of its `routes`. Routes not named keep
   * their default.
   * @default `apiKey` for each `POST /v1/<name>/events`, `none` for every read route
   */
  readonly pipelineRestAuth?: Readonly<Record<string, RestAuthorization>>;
  /**
   * The pipelines' settings, by pipeline name and then by the setting's prop (each pipeline's
   * description lists its `settings`, with their defaults and bounds), e.g.
   * `{ sensors: { allowedLatenessSeconds: 60 } }`. Settings not named keep their default.
   * @default every setting its default
   */
  readonly pipelineSettings?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** The REST API's web ACL. */
export interface WafProps {
  /**
   * Whether the REST API has the web ACL.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Requests per client IP address in any 5 minutes above which WAF blocks the address (10 to 2,000,000,000).
   * @default 20_000
   */
  readonly rateLimitPerIp?: number;
}

/** Thrown at synth time when stack props conflict; the message lists every problem. */
export class InvalidStreamfoldPropsError extends Error {
  override name = 'InvalidStreamfoldPropsError';

  constructor(public readonly problems: readonly string[]) {
    super(`Invalid Streamfold stack props:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

type Check = [name: string, value: number | undefined];

/** The numeric settings the stack passes to its functions as environment variables, each a prop. */
export const STACK_SETTINGS: readonly Setting[] = [
  ...Object.values(EVENT_TIME_SETTINGS),
  ...Object.values(TRANSIT_SETTINGS),
];

/** Every problem with `props`, empty when they are valid. */
export function validateStreamfoldProps(props: StreamfoldStackProps): string[] {
  const problems: string[] = [];
  for (const setting of STACK_SETTINGS) {
    const problem = settingProblem(setting, props[setting.prop as keyof StreamfoldStackProps] as number | undefined);
    if (problem) problems.push(problem);
  }
  const lateness = props.allowedLatenessSeconds ?? EVENT_TIME_SETTINGS.allowedLateness.default;
  const skew = props.maxClockSkewSeconds;
  if (skew !== undefined && skew > lateness / 2) {
    problems.push(`maxClockSkewSeconds must be at most allowedLatenessSeconds / 2 = ${lateness / 2}, got ${skew}`);
  }
  const core = props.transitProcessor;
  if (core !== undefined && !(TRANSIT_PROCESSORS as readonly string[]).includes(core)) {
    problems.push(`transitProcessor must be one of ${TRANSIT_PROCESSORS.join(', ')}, got ${JSON.stringify(core)}`);
  }
  for (const [name, value] of [
    ['inputShardCount', props.inputShardCount],
    ['outputShardCount', props.outputShardCount],
  ] satisfies Check[]) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      problems.push(`${name} must be a whole number >= 1, got ${value}`);
    }
  }
  for (const [name, throttle] of [
    ['restThrottle', props.restThrottle],
    ['ingestThrottle', props.ingestThrottle],
    ['webSocketThrottle', props.webSocketThrottle],
  ] as const) {
    if (throttle === undefined) continue;
    if (!(Number.isFinite(throttle.rateLimit) && throttle.rateLimit > 0)) {
      problems.push(`${name}.rateLimit must be > 0, got ${throttle.rateLimit}`);
    }
    if (!(Number.isInteger(throttle.burstLimit) && throttle.burstLimit >= 1)) {
      problems.push(`${name}.burstLimit must be a whole number >= 1, got ${throttle.burstLimit}`);
    }
  }
  problems.push(...restAuthProblems(props));
  for (const origin of props.webSocketAllowedOrigins ?? []) {
    if (origin !== '*' && !ORIGIN.test(origin)) {
      problems.push(
        `webSocketAllowedOrigins: ${JSON.stringify(origin)} is not * or an origin like https://example.com`,
      );
    }
  }
  if (props.webSocketAllowedOrigins?.length === 0) {
    problems.push('webSocketAllowedOrigins must not be empty (use ["*"] to allow any origin)');
  }
  problems.push(...kafkaProblems(props.kafka));
  problems.push(...securityProblems(props));
  problems.push(...pipelineProblems(props));
  return problems;
}

// A browser's Origin header: scheme, host and an optional port, no path.
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

const COGNITO_USER_POOL_ARN = /^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool\/[a-z0-9-]+_[A-Za-z0-9]+$/;

/**
 * Problems with `restAuth`, `pipelineRestAuth` and `cognitoUserPoolArn`; typed loosely because the values
 * may come from JSON.
 */
function restAuthProblems(props: StreamfoldStackProps): string[] {
  const problems: string[] = [];
  for (const [route, mode] of Object.entries(props.restAuth ?? {}) as [string, unknown][]) {
    if (!(REST_ROUTES as readonly string[]).includes(route)) {
      problems.push(`restAuth: unknown route ${JSON.stringify(route)}; routes are ${REST_ROUTES.join(', ')}`);
    } else if (!(REST_AUTHORIZATIONS as readonly unknown[]).includes(mode)) {
      problems.push(`restAuth['${route}'] must be one of ${REST_AUTHORIZATIONS.join(', ')}, got ${String(mode)}`);
    }
  }
  const pipelineModes = (props.pipelines ?? []).map((pipeline) => resolvePipelineRestAuth(pipeline));
  const pipelineRoutes = pipelineModes.flatMap((modes) => Object.keys(modes));
  for (const [route, mode] of Object.entries(props.pipelineRestAuth ?? {}) as [string, unknown][]) {
    if (!pipelineRoutes.includes(route)) {
      problems.push(
        `pipelineRestAuth: unknown route ${JSON.stringify(route)}; the pipelines' routes are ${pipelineRoutes.join(', ') || 'none'}`,
      );
    } else if (!(REST_AUTHORIZATIONS as readonly unknown[]).includes(mode)) {
      problems.push(
        `pipelineRestAuth['${route}'] must be one of ${REST_AUTHORIZATIONS.join(', ')}, got ${String(mode)}`,
      );
    }
  }
  const modes = [
    ...Object.entries(resolveRestAuth(props.restAuth)),
    ...(props.pipelines ?? []).flatMap((pipeline) =>
      Object.entries(resolvePipelineRestAuth(pipeline, props.pipelineRestAuth)),
    ),
  ];
  const cognitoRoutes = modes.filter(([, mode]) => mode === 'cognito').map(([route]) => route);
  const arn = props.cognitoUserPoolArn;
  if (cognitoRoutes.length > 0 && arn === undefined) {
    problems.push(`cognitoUserPoolArn is required when a route uses cognito (${cognitoRoutes.join(', ')})`);
  }
  if (arn !== undefined && !COGNITO_USER_POOL_ARN.test(arn)) {
    problems.push(
      `cognitoUserPoolArn must be a user pool ARN (arn:aws:cognito-idp:<region>:<account>:userpool/<id>), got ${arn}`,
    );
  }
  if (arn !== undefined && cognitoRoutes.length === 0) {
    problems.push('cognitoUserPoolArn has no effect: no route in restAuth or pipelineRestAuth uses cognito');
  }
  // API Gateway requires a key on the ingest route for its per-producer usage plan; without it the plan is moot.
  const transitModes = resolveRestAuth(props.restAuth);
  for (const route of REST_ROUTES.filter(isTransitIngestRoute)) {
    if (transitModes[route] === 'none') {
      problems.push(`restAuth['${route}'] must not be none: producers write to the stream`);
    }
  }
  for (const pipeline of props.pipelines ?? []) {
    const route = pipelineIngestRoute(pipeline);
    if (props.pipelineRestAuth?.[route] === 'none') {
      problems.push(`pipelineRestAuth['${route}'] must not be none: producers write to the stream`);
    }
  }
  return problems;
}

/** Where two entries share a value: `value` -> the labels of the entries. */
function duplicates(entries: [value: string, label: string][]): [string, string[]][] {
  const byValue = new Map<string, string[]>();
  for (const [value, label] of entries) byValue.set(value, [...(byValue.get(value) ?? []), label]);
  return [...byValue].filter(([, labels]) => labels.length > 1);
}

/**
 * Problems with `pipelines`: each description on its own (name, construct id, handler module, tick rate,
 * shards, topics, routes under `/v1/<name>/`), then across them and against transit (names, construct
 * ids, Kafka topics, REST paths).
 */
function pipelineProblems(props: StreamfoldStackProps): string[] {
  const problems: string[] = [];
  const pipelines = props.pipelines ?? [];
  const labels = pipelines.map((pipeline, index) => `pipelines[${index}] (${pipeline.name})`);
  const transitNames = new Set(deploymentNames(TRANSIT_DEPLOYMENT));
  pipelines.forEach((pipeline, index) => {
    const label = labels[index]!;
    const { name, routes } = pipeline;
    problems.push(...descriptionProblems(pipeline).map((problem) => `${label}: ${problem}`));
    const prefix = `/v1/${name}/`;
    for (const [route] of duplicates(routes.map((route) => [route, label]))) {
      problems.push(`${label}: route ${route} is listed more than once`);
    }
    // API Gateway would merge the pipeline's resources into transit's, or shadow a transit path parameter.
    const clashing = REST_ROUTES.filter((route) => `${route.split(' ')[1]}/`.startsWith(prefix));
    if (clashing.length > 0) {
      problems.push(`${label}: its routes under ${prefix} clash with transit's ${clashing.join(', ')}`);
    }
    // Transit's names have no prefix: a construct id can make a pipeline's names end up as transit's.
    const taken = deploymentNames(engineDeployment(pipeline)).filter((n) => transitNames.has(n));
    if (taken.length > 0) {
      problems.push(
        `${label}: constructId ${pipeline.constructId} would give its outputs and alarms names of transit's: ${taken.join(', ')}`,
      );
    }
  });
  for (const [name, owners] of duplicates(pipelines.map((p, i) => [p.name, labels[i]!]))) {
    problems.push(`pipelines: name ${JSON.stringify(name)} is used by ${owners.join(' and ')}`);
  }
  // The offline runtime is given each seed's data directory by name: transit's reference table is `gtfs`.
  const deployments = [TRANSIT_DEPLOYMENT, ...pipelines.map(engineDeployment)];
  const owner = ['transit', ...labels];
  const seeds = deployments.flatMap((d, i) =>
    d.tables.flatMap((table): [string, string][] => (table.seed ? [[table.seed.name, owner[i]!]] : [])),
  );
  for (const [name, owners] of duplicates(seeds)) {
    problems.push(`pipelines: reference seed name ${JSON.stringify(name)} is used by ${owners.join(' and ')}`);
  }
  for (const [id, owners] of duplicates(pipelines.map((p, i) => [p.constructId, labels[i]!]))) {
    problems.push(`pipelines: constructId ${JSON.stringify(id)} is used by ${owners.join(' and ')}`);
  }
  if ((props.kafka?.mode ?? 'serverless') !== 'none') {
    const consumers = deployments.map((d, i): [string, string] => [d.kafka.topic, owner[i]!]);
    for (const [topic, owners] of duplicates(consumers)) {
      problems.push(`pipelines: Kafka topic ${topic} is consumed by ${owners.join(' and ')}`);
    }
  }
  problems.push(...pathParameterProblems(pipelines));
  problems.push(...pipelineSettingsProblems(props));
  return problems;
}

/** Problems with `pipelineSettings`: a pipeline or setting not there, or a value out of its bounds. */
function pipelineSettingsProblems(props: StreamfoldStackProps): string[] {
  const problems: string[] = [];
  for (const [name, values] of Object.entries(props.pipelineSettings ?? {})) {
    const pipeline = (props.pipelines ?? []).find((p) => p.name === name);
    if (!pipeline) {
      problems.push(`pipelineSettings.${name}: no pipeline of the stack is named ${JSON.stringify(name)}`);
      continue;
    }
    const settings = pipeline.settings ?? [];
    for (const [prop, value] of Object.entries(values)) {
      const setting = settings.find((s) => s.prop === prop);
      if (!setting) {
        problems.push(
          `pipelineSettings.${name}.${prop}: ${name} has no such setting; its settings are ${settings.map((s) => s.prop).join(', ') || 'none'}`,
        );
        continue;
      }
      const problem = settingProblem(setting, value);
      if (problem) problems.push(`pipelineSettings.${name}.${problem}`);
    }
    // Its definition would refuse them at every function's cold start: refuse them at synth instead.
    problems.push(
      ...settingsRelationProblems(settings, values).map((problem) => `pipelineSettings.${name}.${problem}`),
    );
  }
  return problems;
}

/**
 * API Gateway allows one `{parameter}` among the children of a resource; the pipelines' routes must agree
 * on its name where they share a parent (transit's routes do, and no pipeline shares transit's paths).
 */
function pathParameterProblems(pipelines: readonly PipelineDescription[]): string[] {
  const parameters = new Map<string, Set<string>>();
  for (const route of pipelines.flatMap((pipeline) => pipeline.routes)) {
    const parts = (route.split(' ')[1] ?? '').split('/');
    parts.forEach((part, index) => {
      if (!part.startsWith('{')) return;
      const parent = parts.slice(0, index).join('/');
      parameters.set(parent, new Set([...(parameters.get(parent) ?? []), part]));
    });
  }
  return [...parameters]
    .filter(([, names]) => names.size > 1)
    .map(
      ([parent, names]) =>
        `pipelines: ${parent} has path parameters ${[...names].join(' and ')}; API Gateway allows one`,
    );
}

const KAFKA_MODES = ['serverless', 'existing', 'none'] as const;
// Lambda's pattern for a consumer group id (and at most 200 characters).
const CONSUMER_GROUP_ID = /^[a-zA-Z0-9\-/*:_+=.@]{1,200}$/;

/** Problems with the `kafka` prop; typed loosely because it also comes from CLI context. */
function kafkaProblems(kafka: KafkaProps | undefined): string[] {
  if (kafka === undefined) return [];
  const problems: string[] = [];
  const { mode } = kafka;
  const loose = kafka as { clusterArn?: unknown; pollers?: KafkaPollers; consumerGroupId?: unknown };
  if (!(KAFKA_MODES as readonly string[]).includes(mode)) {
    problems.push(`kafka.mode must be one of ${KAFKA_MODES.join(', ')}, got ${String(mode)}`);
    return problems;
  }
  if (mode === 'existing') {
    if (loose.clusterArn === undefined || loose.clusterArn === '') {
      problems.push("kafka.clusterArn is required when kafka.mode is 'existing'");
    } else if (typeof loose.clusterArn !== 'string' || !isMskClusterArn(loose.clusterArn)) {
      problems.push(
        `kafka.clusterArn must be an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>), got ${String(loose.clusterArn)}`,
      );
    }
  } else if (loose.clusterArn !== undefined) {
    problems.push(`kafka.clusterArn is only used when kafka.mode is 'existing', not '${mode}'`);
  }
  if (mode === 'none') {
    for (const option of ['pollers', 'consumerGroupId'] as const) {
      if (loose[option] !== undefined) problems.push(`kafka.${option} has no effect when kafka.mode is 'none'`);
    }
    return problems;
  }
  // Lambda's ranges for MSK; the defaults are those of KafkaEventSource.
  const { minimum = 1, maximum = 2 } = loose.pollers ?? {};
  const minimumValid = Number.isInteger(minimum) && minimum >= 1 && minimum <= 200;
  const maximumValid = Number.isInteger(maximum) && maximum >= 1 && maximum <= 2000;
  if (!minimumValid) problems.push(`kafka.pollers.minimum must be a whole number from 1 to 200, got ${minimum}`);
  if (!maximumValid) problems.push(`kafka.pollers.maximum must be a whole number from 1 to 2000, got ${maximum}`);
  if (minimumValid && maximumValid && minimum > maximum) {
    problems.push(`kafka.pollers.minimum (${minimum}) must not exceed kafka.pollers.maximum (${maximum})`);
  }
  const group = loose.consumerGroupId;
  if (group !== undefined && !(typeof group === 'string' && CONSUMER_GROUP_ID.test(group))) {
    problems.push(
      `kafka.consumerGroupId must be 1-200 characters of letters, digits and -/*:_+=.@, got ${String(group)}`,
    );
  }
  return problems;
}

const RETENTION_DAYS = new Set<unknown>(Object.values(logs.RetentionDays));
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const SUBSCRIBER_ARN = /^arn:aws[a-z-]*:(sqs|lambda):[a-z0-9-]+:\d{12}:\S+$/;

/** Problems with the logging, alarm and WAF settings. */
function securityProblems(props: StreamfoldStackProps): string[] {
  const problems: string[] = [];
  if (props.logRetention !== undefined && !RETENTION_DAYS.has(props.logRetention)) {
    problems.push(`logRetention must be one of logs.RetentionDays, got ${props.logRetention}`);
  }
  if (props.logEncryption !== undefined && typeof props.logEncryption !== 'boolean') {
    problems.push(`logEncryption must be true or false, got ${String(props.logEncryption)}`);
  }
  for (const subscriber of props.alarmSubscribers ?? []) {
    if (!(typeof subscriber === 'string' && (EMAIL.test(subscriber) || SUBSCRIBER_ARN.test(subscriber)))) {
      problems.push(`alarmSubscribers must be email addresses or SQS queue / Lambda function ARNs, got ${subscriber}`);
    }
  }
  const waf = props.waf;
  if (waf !== undefined) {
    if (waf.enabled !== undefined && typeof waf.enabled !== 'boolean') {
      problems.push(`waf.enabled must be true or false, got ${String(waf.enabled)}`);
    }
    const rate = waf.rateLimitPerIp;
    if (rate !== undefined) {
      if (!(Number.isInteger(rate) && rate >= 10 && rate <= 2_000_000_000)) {
        problems.push(`waf.rateLimitPerIp must be a whole number from 10 to 2000000000, got ${rate}`);
      }
      if (waf.enabled === false) problems.push('waf.rateLimitPerIp has no effect when waf.enabled is false');
    }
  }
  return problems;
}

/** Throws {@link InvalidStreamfoldPropsError} listing every problem with `props`. */
export function assertValidStreamfoldProps(props: StreamfoldStackProps): void {
  const problems = validateStreamfoldProps(props);
  if (problems.length > 0) throw new InvalidStreamfoldPropsError(problems);
}
