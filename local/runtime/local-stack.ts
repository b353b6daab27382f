/**
 * `startLocalStack`: runs a synthesized template offline on one machine. Emulators, resources, functions
 * in worker threads, Kinesis event-source mappings, scheduled rules, the REST API and the WebSocket API,
 * all in process.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Kafka, logLevel } from 'kafkajs';
import { kafkaClient } from '../../shared/kafka/client.js';
import { type CheckpointStore, fileCheckpoints, memoryCheckpoints } from './checkpoint-store.js';
import { announceLocalStack } from './discovery.js';
import { MetricCounters } from './emf.js';
import {
  createQueue,
  createStream,
  createTable,
  type EmulatorPorts,
  type Emulators,
  LOCAL_CREDENTIALS,
  startEmulators,
} from './emulators.js';
import { checkFaultInjection, type FaultInjection, faultDecider } from './fault-injection.js';
import { type InvokeResult, LocalFunction } from './function-host.js';
import { LOCAL_REGION, type LocalAddresses, localArn } from './intrinsics.js';
import { type KafkaBroker, startKafkaBroker } from './kafka-broker.js';
import { KafkaMappingPoller, type KafkaMappingStats } from './kafka-poller.js';
import { ShardPoller, type ShardPoller as ShardPollerType, type ShardStats } from './kinesis-poller.js';
import {
  type FailureHandlingPlan,
  type LocalStackPlan,
  planLocalStack,
  resolveEnvironment,
  resolveTargetInput,
} from './plan.js';
import { type RestServer, startRestServer } from './rest-server.js';
import {
  checkScheduleRateScale,
  describeSchedule,
  RuleScheduler,
  type ScheduleStats,
  type ScheduleTargetResult,
} from './scheduler.js';
import { type CfnTemplate, readTemplate, synthesizeTemplate } from './template.js';
import { type LocalWebSocketServer, startWebSocketServer } from './ws-server.js';

/** The repository root (this file is `local/runtime/local-stack.ts`). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Raised when the local runtime runs on a Node version that cannot host the functions. */
export class UnsupportedNodeError extends Error {
  override name = 'UnsupportedNodeError';
}

/** The API key accepted when `STREAMFOLD_API_KEY` is not set. */
export const DEFAULT_API_KEY = 'local-dev-key';

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Repository root: function entries, `infra/app.ts` and `.local/` are resolved against it. @default the repo */
  root?: string;
  /** A template to run instead of synthesizing `infra/app.ts`. */
  template?: CfnTemplate;
  /** A template file to run instead of synthesizing. */
  templatePath?: string;
  /** Interface every server binds to. @default '127.0.0.1' */
  host?: string;
  /** REST port; 0 = ephemeral. @default 0 */
  port?: number;
  /** WebSocket (and management API) port; 0 = ephemeral. @default 0 */
  wsPort?: number;
  /** Emulator ports. @default all ephemeral */
  emulatorPorts?: EmulatorPorts;
  /** The `x-api-key` value accepted by key-protected methods. @default STREAMFOLD_API_KEY or 'local-dev-key' */
  apiKey?: string;
  /** Where function logs go. @default `<root>/.local/logs` */
  logDir?: string;
  /** Variables added to (and overriding) every function's environment. */
  environment?: Record<string, string>;
  /**
   * Data to load before the functions start, by seed name: each table of the template with a
   * `streamfold:seed` step (e.g. `gtfs` on transit's reference table) is loaded from the directory given
   * for its name through its own loader. A name no table declares is an error naming those that exist.
   * @default none
   */
  seeds?: Record<string, string>;
  /**
   * Kafka event sources: `true` starts a local Apache Kafka broker (needs Java 17), `{ brokers }` uses
   * a running one. Without it the template's Kafka mappings do not run (a note says so).
   * @default off
   */
  kafka?: boolean | { brokers: string[] };
  /**
   * Keeps the streams, tables, queues (with their messages), the Kinesis mappings' checkpoints and the
   * local Kafka broker's data in this directory, so a stack stopped or killed and started again on it
   * resumes where it was. Resources that exist are reused. @default in memory (everything is lost at stop)
   */
  dataDir?: string;
  /**
   * Makes a seeded fraction of function invocations crash in their worker, before or after the handler
   * runs, for chaos tests (see `fault-injection.ts`). @default off
   */
  faultInjection?: FaultInjection;
  /**
   * Multiplies the period of every `rate(...)` scheduled rule, for tests and impatient users: 0.01 runs
   * `rate(1 minute)` every 600 ms. Cron rules are not run on a timer (see `schedule-expression.ts`).
   * @default 1
   */
  scheduleRateScale?: number;
  /** Pause of a shard poller between empty reads. @default 200 */
  pollIntervalMs?: number;
  /** Operational messages (poller and server errors). @default appended to `<logDir>/runtime.log` */
  log?: (message: string) => void;
}

/** Metrics of the running stack. */
export interface LocalStackMetrics {
  /** Totals of the EMF metrics the functions emitted, by metric name. */
  totals: Record<string, number>;
  /** The same, per function. */
  byFunction: Record<string, Record<string, number>>;
  /** Per event-source mapping logical id, the stats of each shard. */
  mappings: Record<string, ShardStats[]>;
  /** Per Kafka event-source mapping logical id, its consumer's stats. */
  kafkaMappings: Record<string, KafkaMappingStats>;
  /** Per scheduled rule logical id, its runs, invocations, failures and skipped ticks. */
  schedules: Record<string, ScheduleStats>;
  /** Per function logical id, the invocations fault injection crashed (only functions it selects). */
  injectedFaults: Record<string, number>;
  /** Highest lag across shards: max of MillisBehindLatest and the last batch's iterator age; 0 when all are caught up. */
  lagMs: number;
}

/** A running local stack. */
export interface LocalStack {
  /** e.g. `http://127.0.0.1:3000` */
  restUrl: string;
  /** e.g. `ws://127.0.0.1:3001`; empty when the template has no WebSocket API. */
  wsUrl: string;
  /** The management endpoint functions post to, e.g. `http://127.0.0.1:3001`. */
  wsManagementUrl: string;
  apiKey: string;
  endpoints: { kinesis: string; dynamodb: string; sqs: string };
  /** The Kafka cluster the Kafka mappings read, when `options.kafka` is on; `broker` when we started it. */
  kafka?: { brokers: string[]; broker?: KafkaBroker };
  /** Logical id → local name (streams, tables, functions) or URL (queues). */
  resources: Record<string, string>;
  plan: LocalStackPlan;
  /** How long the start took, in ms. */
  startupMs: number;
  metrics(): LocalStackMetrics;
  /** Invokes a function of the template directly. */
  invoke(functionLogicalId: string, event: unknown): Promise<InvokeResult>;
  /**
   * Runs a scheduled rule now, as its timer would (after the run in progress, if any), and resolves with
   * each target's event and result. Works for cron rules too, which have no timer offline.
   * @throws UnknownScheduleError when the plan has no schedule with this logical id.
   */
  runSchedule(ruleLogicalId: string): Promise<ScheduleTargetResult[]>;
  /** Stops everything: pollers drained, servers closed, workers terminated, emulators closed. */
  stop(): Promise<void>;
}

/** Variables every local function gets on top of the template's, before `options.environment`. */
function localEnvironment(
  plan: { name: string; memoryMb: number },
  emulators: Emulators,
  root: string,
): Record<string, string> {
  // Not the runner's whole environment: a function should see what Lambda would give it, not our shell.
  const inherited = Object.fromEntries(
    ['PATH', 'HOME', 'TMPDIR'].flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name]]])),
  );
  const overrides = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[0].startsWith('POWERTOOLS_') && entry[1] !== undefined,
    ),
  );
  return {
    ...inherited,
    AWS_ENDPOINT_URL_KINESIS: emulators.endpoints.kinesis,
    AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: emulators.endpoints.sqs,
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_LAMBDA_FUNCTION_NAME: plan.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(plan.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${plan.name}`,
    LAMBDA_TASK_ROOT: root,
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    // Explicit settings of whoever runs the stack win over the quiet defaults above.
    ...overrides,
  };
}

async function loadTemplate(options: LocalStackOptions, root: string): Promise<CfnTemplate> {
  if (options.template) return options.template;
  if (options.templatePath) return readTemplate(resolve(root, options.templatePath));
  return synthesizeTemplate({ root });
}

/** Starts the local stack for the template (synthesized from `infra/app.ts` unless one is given). */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const started = Date.now();
  // Older Node versions ignore `--import` in a worker's execArgv, so functions could not load TypeScript.
  if (Number(process.versions.node.split('.')[0]) < 24) {
    throw new UnsupportedNodeError(
      `the local runtime needs Node 24 (found ${process.version}); run it through npm or npx so node_modules/.bin/node is used`,
    );
  }
  const root = resolve(options.root ?? REPO_ROOT);
  const host = options.host ?? '127.0.0.1';
  const logDir = resolve(root, options.logDir ?? join('.local', 'logs'));
  mkdirSync(logDir, { recursive: true });
  const log =
    options.log ??
    ((message: string) => appendFileSync(join(logDir, 'runtime.log'), `${new Date().toISOString()} ${message}\n`));
  const apiKey = options.apiKey ?? process.env.STREAMFOLD_API_KEY ?? DEFAULT_API_KEY;
  if (options.faultInjection) checkFaultInjection(options.faultInjection);
  const scheduleRateScale = options.scheduleRateScale ?? 1;
  checkScheduleRateScale(scheduleRateScale);
  const template = await loadTemplate(options, root);
  const plan = planLocalStack(template);
  for (const warning of plan.warnings) log(`note: ${warning}`);

  const cleanup: (() => Promise<void>)[] = [];
  const runCleanup = async () => {
    for (const step of cleanup.reverse())
      await step().catch((error: unknown) => log(`stop: ${(error as Error).message}`));
    cleanup.length = 0;
  };
  try {
    const functions = new Map<string, LocalFunction>();
    const invoke = (logicalId: string, event: unknown): Promise<InvokeResult> => {
      const fn = functions.get(logicalId);
      if (!fn) {
        return Promise.resolve({
          ok: false,
          requestId: '',
          errorType: 'Runtime.NotReady',
          errorMessage: `${logicalId} is not running`,
        });
      }
      return fn.invoke(event);
    };
    // REST listens first and answers 503 + Retry-After until everything below has started, so a client
    // started together with the stack is told to wait rather than refused or given a 502.
    let ready = false;
    const rest: RestServer = await startRestServer({
      host,
      port: options.port ?? 0,
      routes: plan.restRoutes,
      invoke,
      apiKey,
      credentials: LOCAL_CREDENTIALS,
      isReady: () => ready,
      log,
    });
    cleanup.push(() => rest.close());
    const dataDir = options.dataDir === undefined ? undefined : resolve(root, options.dataDir);
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    const emulators = await startEmulators(options.emulatorPorts, host, dataDir);
    cleanup.push(() => emulators.close());

    const resources: Record<string, string> = {};
    const shardIds = new Map<string, string[]>();
    await Promise.all([
      ...plan.streams.map(async (stream) => {
        shardIds.set(stream.logicalId, await createStream(emulators.kinesis, stream));
        resources[stream.logicalId] = stream.name;
      }),
      ...plan.tables.map(async (table) => {
        await createTable(emulators.dynamodb, table);
        resources[table.logicalId] = table.name;
      }),
      ...plan.queues.map(async (queue) => {
        resources[queue.logicalId] = await createQueue(emulators.sqs, queue);
      }),
    ]);

    // Servers listen before functions start: the WebSocket port goes into WS_MANAGEMENT_ENDPOINT.
    const wsApi = plan.webSocketApis[0];
    let ws: LocalWebSocketServer | undefined;
    if (wsApi) {
      ws = await startWebSocketServer({
        host,
        port: options.wsPort ?? 0,
        api: wsApi,
        invoke,
        apiKey,
        credentials: LOCAL_CREDENTIALS,
        log,
      });
      cleanup.push(() => ws?.close() ?? Promise.resolve());
    }
    const addresses: LocalAddresses = {
      sqsEndpoint: emulators.endpoints.sqs,
      webSocketManagementUrl: ws?.managementUrl ?? `http://${host}:0`,
      webSocketUrl: ws?.url ?? `ws://${host}:0`,
    };

    for (const [name, dir] of Object.entries(options.seeds ?? {})) {
      await runSeed(root, plan, name, resolve(root, dir), emulators, log);
    }

    const metrics = new MetricCounters();
    const faulty = new Set<string>();
    cleanup.push(async () => {
      await Promise.all([...functions.values()].map((fn) => fn.stop()));
    });
    await Promise.all(
      plan.functions.map(async (fnPlan) => {
        const env = {
          ...resolveEnvironment(template, fnPlan, addresses),
          ...localEnvironment(fnPlan, emulators, root),
          ...options.environment,
        };
        const faults = faultDecider(options.faultInjection, fnPlan.logicalId, fnPlan.name);
        if (faults) faulty.add(fnPlan.logicalId);
        const fn = new LocalFunction({ root, plan: fnPlan, env, logDir, metrics, ...(faults ? { faults } : {}) });
        functions.set(fnPlan.logicalId, fn);
        resources[fnPlan.logicalId] = fn.name;
        await fn.start();
      }),
    );

    const onFailureQueueUrlOf = (mapping: FailureHandlingPlan) =>
      mapping.onFailureQueueLogicalId ? resources[mapping.onFailureQueueLogicalId] : undefined;
    const checkpoints: CheckpointStore = dataDir
      ? fileCheckpoints(join(dataDir, 'kinesis-checkpoints.json'))
      : memoryCheckpoints();
    const pollers = new Map<string, ShardPollerType[]>();
    cleanup.push(async () => {
      await Promise.all([...pollers.values()].flat().map((p) => p.stop()));
    });
    for (const mapping of plan.kinesisMappings) {
      const fn = functions.get(mapping.functionLogicalId);
      if (!fn || !mapping.enabled) continue;
      const onFailureQueueUrl = onFailureQueueUrlOf(mapping);
      const shardPollers = (shardIds.get(mapping.streamLogicalId) ?? []).map(
        (shardId) =>
          new ShardPoller({
            kinesis: emulators.kinesis,
            sqs: emulators.sqs,
            mapping,
            streamName: mapping.streamLogicalId,
            streamArn: localArn('kinesis', mapping.streamLogicalId),
            shardId,
            fn,
            ...(onFailureQueueUrl ? { onFailureQueueUrl } : {}),
            ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
            checkpoints,
            log,
          }),
      );
      for (const poller of shardPollers) poller.start();
      pollers.set(mapping.logicalId, shardPollers);
    }

    const kafkaPollers = new Map<string, KafkaMappingPoller>();
    let kafka: LocalStack['kafka'];
    if (plan.kafkaMappings.length > 0 && !options.kafka) {
      log('note: Kafka event sources are off (start with --kafka or set KAFKA_BROKERS)');
    } else if (options.kafka) {
      kafka = await startKafka(options.kafka, root, dataDir, logDir, log, cleanup);
      const client = kafkaClient({
        brokers: kafka.brokers,
        clientId: 'streamfold-local-esm',
        logLevel: logLevel.ERROR,
      });
      await createKafkaTopics(client, plan, log);
      cleanup.push(async () => {
        await Promise.all([...kafkaPollers.values()].map((p) => p.stop()));
      });
      for (const mapping of plan.kafkaMappings) {
        const fn = functions.get(mapping.functionLogicalId);
        if (!fn || !mapping.enabled) continue;
        const onFailureQueueUrl = onFailureQueueUrlOf(mapping);
        const poller = new KafkaMappingPoller({
          kafka: client,
          sqs: emulators.sqs,
          mapping,
          source: { eventSourceArn: mapping.eventSourceArn, bootstrapServers: kafka.brokers.join(',') },
          fn,
          ...(onFailureQueueUrl ? { onFailureQueueUrl } : {}),
          log,
        });
        kafkaPollers.set(mapping.logicalId, poller);
        await poller.start();
      }
    }

    // Last to start, first to stop: a run in progress finishes before the functions stop.
    const scheduler = new RuleScheduler({
      rules: plan.schedules,
      invoke,
      constantInput: (rule, target) => resolveTargetInput(template, rule, target, addresses),
      rateScale: scheduleRateScale,
      log,
    });
    for (const rule of plan.schedules) log(`schedule ${describeSchedule(rule, scheduleRateScale)}`);
    scheduler.start();
    cleanup.push(() => scheduler.stop());

    cleanup.push(
      announceLocalStack(root, {
        region: LOCAL_REGION,
        restUrl: rest.url,
        wsUrl: ws?.url ?? '',
        endpoints: emulators.endpoints,
        seedTables: Object.fromEntries(plan.seeds.map((seed) => [seed.name, seed.tableLogicalId])),
        resources,
      }),
    );
    let stopping: Promise<void> | undefined;
    ready = true;
    return {
      restUrl: rest.url,
      wsUrl: ws?.url ?? '',
      wsManagementUrl: ws?.managementUrl ?? '',
      apiKey,
      endpoints: emulators.endpoints,
      ...(kafka ? { kafka } : {}),
      resources,
      plan,
      startupMs: Date.now() - started,
      invoke,
      runSchedule: (ruleLogicalId) => scheduler.run(ruleLogicalId),
      metrics: () => {
        const snapshot = metrics.snapshot();
        const mappings = Object.fromEntries([...pollers].map(([id, list]) => [id, list.map((p) => ({ ...p.stats }))]));
        const lagMs = Math.max(
          0,
          ...[...pollers.values()].flat().map((p) => Math.max(p.stats.millisBehindLatest, p.stats.iteratorAgeMs)),
        );
        const kafkaMappings = Object.fromEntries([...kafkaPollers].map(([id, p]) => [id, structuredClone(p.stats)]));
        const injectedFaults = Object.fromEntries(
          [...functions].filter(([id]) => faulty.has(id)).map(([id, fn]) => [id, fn.injectedFaults]),
        );
        return { ...snapshot, mappings, kafkaMappings, schedules: scheduler.stats(), injectedFaults, lagMs };
      },
      stop: () => {
        // Pollers first (drain the batch in flight), then servers, workers, emulators: reverse start order.
        stopping ??= runCleanup();
        return stopping;
      },
    };
  } catch (error) {
    await runCleanup();
    throw error;
  }
}

/**
 * Starts a broker or takes the given one. Its data (topics and committed offsets) lives in
 * `<stack data dir>/kafka`, kept, or, for an in-memory stack, in a fresh directory under `.local/kafka/`
 * removed at stop: committed offsets must not outlive the tables. Ports may change between starts (the
 * quorum is static, `controller.quorum.voters`, so nothing stored names them).
 */
async function startKafka(
  option: true | { brokers: string[] },
  root: string,
  stackDataDir: string | undefined,
  logDir: string,
  log: (message: string) => void,
  cleanup: (() => Promise<void>)[],
): Promise<{ brokers: string[]; broker?: KafkaBroker }> {
  if (option !== true) return { brokers: option.brokers };
  let dataDir: string;
  if (stackDataDir) {
    dataDir = join(stackDataDir, 'kafka');
  } else {
    const parent = join(root, '.local', 'kafka');
    mkdirSync(parent, { recursive: true });
    dataDir = mkdtempSync(join(parent, 'broker-'));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  }
  // The log outlives the data dir, next to the functions' logs.
  const logFile = join(logDir, 'kafka-broker.log');
  // Topics are created explicitly (createKafkaTopics), with the template's partition counts.
  const broker = await startKafkaBroker({ dataDir, logFile });
  cleanup.push(() => broker.stop());
  log(`Kafka broker on ${broker.bootstrapServers} (data ${dataDir})`);
  return { brokers: [broker.bootstrapServers], broker };
}

/** Creates the template's topics, and any topic a mapping reads that the template does not declare. */
async function createKafkaTopics(client: Kafka, plan: LocalStackPlan, log: (message: string) => void): Promise<void> {
  const topics = new Map(plan.kafkaTopics.map((t) => [t.name, t.partitions]));
  for (const mapping of plan.kafkaMappings) {
    for (const topic of mapping.topics) {
      if (topics.has(topic)) continue;
      log(`note: topic ${topic} of ${mapping.logicalId} is not declared in the template; creating it with 1 partition`);
      topics.set(topic, 1);
    }
  }
  const admin = client.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...topics].filter(([name]) => !existing.has(name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map(([topic, numPartitions]) => ({ topic, numPartitions })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** A seed the template does not declare. */
export class UnknownSeedError extends Error {
  override name = 'UnknownSeedError';
}

/** Loads a seed's directory into its table with the loader its `streamfold:seed` metadata names. */
async function runSeed(
  root: string,
  plan: LocalStackPlan,
  name: string,
  dir: string,
  emulators: Emulators,
  log: (message: string) => void,
): Promise<void> {
  const seed = plan.seeds.find((s) => s.name === name);
  if (!seed) {
    const known = plan.seeds.map((s) => s.name).join(', ') || 'none';
    throw new UnknownSeedError(`no table of the template declares the seed "${name}" (declared: ${known})`);
  }
  const loaderPath = join(root, seed.loader);
  if (!existsSync(loaderPath)) throw new Error(`cannot seed ${name}: ${loaderPath} does not exist`);
  const loader = (await import(pathToFileURL(loaderPath).href)) as Record<string, unknown>;
  const load = loader[seed.exportName] as
    | ((
        dir: string,
        tableName: string,
        options: { client: DynamoDBDocumentClient; log: typeof log },
      ) => Promise<unknown>)
    | undefined;
  if (typeof load !== 'function') throw new Error(`${seed.loader} does not export ${seed.exportName}(dir, tableName)`);
  const client = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  await load(dir, seed.tableLogicalId, { client, log });
}
