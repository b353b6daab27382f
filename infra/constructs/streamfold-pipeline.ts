import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IDependable } from 'constructs';
import {
  deploymentRestAuth,
  type FunctionCode,
  type KeyDeployment,
  type PipelineDeployment,
  type PipelineRole,
  type RoleGroup,
  rolesOf,
  type TableDeployment,
} from '../../shared/engine/deployment.js';
import { settingsEnvironment } from '../../shared/settings.js';
import { declaredTopic } from '../kafka-topics.js';
import type { RestAuthorization } from '../rest-auth.js';
import type { KafkaClusterArn } from './kafka-cluster-arn.js';
import { KafkaEventSource, type KafkaPollers } from './kafka-event-source.js';
import { KafkaTopic, type KafkaTopicFunction } from './kafka-topic.js';
import { StreamEventSource } from './stream-event-source.js';
import { StreamfoldFunction } from './streamfold-function.js';
import { StreamfoldQueue } from './streamfold-queue.js';
import type { StreamfoldRestApi } from './streamfold-rest-api.js';
import { StreamfoldStream } from './streamfold-stream.js';
import { StreamfoldTable } from './streamfold-table.js';

const key = (k: KeyDeployment) => ({
  name: k.name,
  type: k.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
});

/** The Kafka topic a {@link StreamfoldPipeline} consumes, and the cluster it is on. */
export interface PipelineKafkaProps {
  /** The MSK cluster (IAM authentication). */
  readonly cluster: KafkaClusterArn;
  /**
   * The custom-resource function that creates the pipeline's topic on the cluster: given for a cluster of
   * this stack. The topic gets the partitions `schemas/registry.json` declares for it, else `shards`.
   * @default the topic is not created here (on an existing cluster it is the account's)
   */
  readonly topicProvider?: KafkaTopicFunction;
  /**
   * Resources the topic and the event-source mapping are created after and deleted before: the VPC
   * endpoints the topic function answers CloudFormation through and the pollers reach Lambda through.
   * @default none
   */
  readonly dependsOn?: readonly IDependable[];
  /**
   * Consumer group of the mapping. Lambda wants one per Kafka event source, so each pipeline has its own.
   * @default the deployment's
   */
  readonly consumerGroupId?: string;
  /**
   * Provisioned pollers of the mapping.
   * @default KafkaEventSource's, { minimum: 1, maximum: 2 }
   */
  readonly pollers?: KafkaPollers;
}

/** Options of a {@link StreamfoldPipeline}. */
export interface StreamfoldPipelineProps {
  /** What to build, as plain data (shared/engine/deployment.ts): functions, settings, tables, routes, Kafka consumer. */
  readonly deployment: PipelineDeployment;
  /** The stack's REST API: the pipeline's ingest and read routes are added to it. */
  readonly restApi: StreamfoldRestApi;
  /** The stack's output stream: the processors and the tick write the pipeline's messages there for the broadcaster. */
  readonly outputStream: kinesis.IStream;
  /** The stack's dead-letter queue: ingest and the processors send rejected events there, with the reason. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * How callers of the pipeline's routes authenticate, by `METHOD /path`; routes not named keep the
   * deployment's default.
   * @default the deployment's
   */
  readonly restAuth?: Readonly<Record<string, RestAuthorization>>;
  /**
   * Values of the deployment's settings, by prop.
   * @default every setting its default
   */
  readonly settings?: Readonly<Record<string, unknown>>;
  /**
   * Variables besides the settings, by function: what the stack decides for the pipeline (transit's processor core).
   * @default none
   */
  readonly environment?: Partial<Record<PipelineRole, Record<string, string>>>;
  /**
   * What happens to the pipeline's tables, and their data, when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * A second way in: the Kafka processor on the deployment's topic.
   * @default no Kafka consumer
   */
  readonly kafka?: PipelineKafkaProps;
}

/** The functions of a pipeline, as the stack composes them: each role's function, the tick only with a schedule. */
type PipelineFunctions = Record<Exclude<PipelineRole, 'tick' | 'kafkaProcessor'>, StreamfoldFunction> & {
  kafkaProcessor?: StreamfoldFunction;
  tick?: StreamfoldFunction;
};

const capitalize = (word: string) => `${word.charAt(0).toUpperCase()}${word.slice(1)}`;

/**
 * One pipeline, from its plain-data deployment (shared/engine/deployment.ts): its input stream, its
 * tables, each bound to the functions the deployment names; its functions (ingest, processor, api, the
 * tick on its schedule if it has one, and with `kafka` the Kafka processor on the pipeline's topic), each
 * bound to exactly what it uses; and its ingest and read routes on the stack's REST API. Its messages go
 * to the stack's output stream, and so to WebSocket clients. Nothing here knows what a pipeline computes:
 * every pipeline, transit included, is built the same way.
 *
 * A deployment without a construct id (transit's, deployed before pipelines existed) is built as the
 * stack's `Default` child: CDK leaves `Default` out of logical ids, so its resources keep the ids they had
 * at the stack's top level, and its outputs and alarm names carry no prefix.
 */
export class StreamfoldPipeline extends Construct {
  /** The deployment the pipeline was built from. */
  public readonly deployment: PipelineDeployment;
  /** The prefix of its outputs' and alarms' names: its construct id, or nothing. */
  public readonly prefix: string;
  /** Where producers post events: its first ingest route's path. */
  public readonly ingestPath: string;
  /** Where ingest puts accepted events, keyed by the pipeline's partition key. */
  public readonly inputStream: StreamfoldStream;
  /** Where the processor sends the metadata of a batch it gave up on. */
  public readonly processorFailureQueue: StreamfoldQueue;
  /** Its tables, by construct id. */
  public readonly tables: Record<string, StreamfoldTable>;
  /** Its functions, by role. */
  public readonly functions: PipelineFunctions;
  /** The schedule of the tick, if it has one. */
  public readonly tickRule: events.Rule | undefined;
  /** Where the Kafka processor's abandoned batches go, with `kafka`. */
  public readonly kafkaProcessorFailureQueue: StreamfoldQueue | undefined;

  /** Builds `deployment` in `scope`: under its construct id, or, without one, as `Default` (see above). */
  static of(scope: Construct, props: StreamfoldPipelineProps): StreamfoldPipeline {
    return new StreamfoldPipeline(scope, props.deployment.constructId ?? 'Default', props);
  }

  private constructor(scope: Construct, id: string, props: StreamfoldPipelineProps) {
    super(scope, id);
    const { deployment, outputStream, deadLetterQueue } = props;
    this.deployment = deployment;
    this.prefix = deployment.constructId ?? '';
    this.ingestPath = Object.keys(deployment.ingestRoutes)[0]?.split(' ')[1] ?? '';

    this.inputStream = new StreamfoldStream(this, 'InputStream', { shardCount: deployment.shards });
    this.processorFailureQueue = new StreamfoldQueue(this, 'ProcessorFailureQueue');
    this.tables = Object.fromEntries(
      deployment.tables.map((table) => [table.id, this.table(table, props.tableRemovalPolicy)]),
    );

    const newFunction = (role: PipelineRole, id: string, code: FunctionCode, timeout: Duration) => {
      const settings = deployment.settings.filter((s) => s.for.some((group) => rolesOf(group).includes(role)));
      const environment = {
        ...settingsEnvironment(
          settings.map((s) => s.setting),
          props.settings ?? {},
        ),
        ...props.environment?.[role],
      };
      const fn = new StreamfoldFunction(this, id, {
        entry: code.entry,
        handler: code.handler,
        ...(code.serviceName ? { serviceName: code.serviceName } : {}),
        timeout,
        ...(Object.keys(environment).length > 0 ? { environment } : {}),
      });
      for (const table of deployment.tables) {
        const access = accessOf(table, role);
        if (access) fn.bindTable(table.variable, this.tables[table.id]!, access);
      }
      return fn;
    };
    // The Kinesis and the Kafka processor run the same core: the same tables, output stream and DLQ.
    const processor = (role: 'processor' | 'kafkaProcessor', id: string) =>
      newFunction(role, id, deployment.functions[role], Duration.minutes(2))
        .bindStream('OUTPUT_STREAM_NAME', outputStream, 'write')
        .bindQueue('DEAD_LETTER_QUEUE_URL', deadLetterQueue);

    // Behind API Gateway, which gives up after 29 s.
    const ingest = newFunction('ingest', 'IngestFunction', deployment.functions.ingest, Duration.seconds(10))
      .bindStream('INPUT_STREAM_NAME', this.inputStream, 'write')
      .bindQueue('DEAD_LETTER_QUEUE_URL', deadLetterQueue);
    const kinesisProcessor = processor('processor', 'ProcessorFunction');
    kinesisProcessor.addEventSource(new StreamEventSource(this.inputStream, { onFailure: this.processorFailureQueue }));
    const api = newFunction('api', 'ApiFunction', deployment.functions.api, Duration.seconds(10));
    this.functions = { ingest, processor: kinesisProcessor, api };

    const tick = deployment.functions.tick;
    if (tick) {
      // Well under the shortest tick rate (a minute), so one run ends before the next begins.
      this.functions.tick = newFunction('tick', 'TickFunction', tick, Duration.seconds(30)).bindStream(
        'OUTPUT_STREAM_NAME',
        outputStream,
        'write',
      );
      this.tickRule = new events.Rule(this, 'TickRule', {
        description: `Closes due windows and sessions of the ${deployment.name} pipeline`,
        schedule: events.Schedule.expression(tick.rate),
      });
      // The target also adds the permission that lets EventBridge invoke the function for this rule.
      this.tickRule.addTarget(new targets.LambdaFunction(this.functions.tick));
    }

    this.addRoutes(props.restApi, props.restAuth);

    if (props.kafka) {
      this.kafkaProcessorFailureQueue = new StreamfoldQueue(this, 'KafkaProcessorFailureQueue');
      this.functions.kafkaProcessor = processor('kafkaProcessor', 'KafkaProcessorFunction');
      this.addKafkaSource(props.kafka, this.functions.kafkaProcessor, this.kafkaProcessorFailureQueue);
    }
  }

  /** The Kinesis processor. */
  get processorFunction(): StreamfoldFunction {
    return this.functions.processor;
  }

  /** The Kafka processor, with `kafka`. */
  get kafkaProcessorFunction(): StreamfoldFunction | undefined {
    return this.functions.kafkaProcessor;
  }

  /**
   * A name for dashboards, alarms and outputs: the pipeline's prefix and `part` (`SensorsPipelineProcessor`),
   * or `part` alone for a pipeline without a prefix.
   */
  named(part: string): string {
    return this.prefix ? `${this.prefix}${capitalize(part)}` : part;
  }

  /** The stack outputs of the pipeline: its input stream, tables, failure queues and ingest path. */
  get outputs(): Record<string, string> {
    const p = this.prefix;
    return {
      [`${p}InputStreamName`]: this.inputStream.streamName,
      ...Object.fromEntries(Object.entries(this.tables).map(([id, table]) => [`${p}${id}Name`, table.tableName])),
      [`${p}ProcessorFailureQueueUrl`]: this.processorFailureQueue.queueUrl,
      ...(this.kafkaProcessorFailureQueue
        ? { [`${p}KafkaProcessorFailureQueueUrl`]: this.kafkaProcessorFailureQueue.queueUrl }
        : {}),
      [`${p}IngestPath`]: this.ingestPath,
    };
  }

  private table(table: TableDeployment, removalPolicy: RemovalPolicy | undefined): StreamfoldTable {
    return new StreamfoldTable(this, table.id, {
      partitionKey: key(table.partitionKey),
      ...(table.sortKey ? { sortKey: key(table.sortKey) } : {}),
      ...(table.indexes
        ? {
            globalSecondaryIndexes: table.indexes.map((index) => ({
              indexName: index.name,
              partitionKey: key(index.partitionKey),
              ...(index.sortKey ? { sortKey: key(index.sortKey) } : {}),
            })),
          }
        : {}),
      ...(table.ttlAttribute ? { timeToLiveAttribute: table.ttlAttribute } : {}),
      ...(table.seed ? { localSeed: table.seed } : {}),
      ...(removalPolicy ? { removalPolicy } : {}),
    });
  }

  private addRoutes(restApi: StreamfoldRestApi, overrides: Readonly<Record<string, RestAuthorization>> = {}): void {
    const { name, ingestRoutes } = this.deployment;
    const readReasons: Partial<Record<RestAuthorization, string>> = {
      none:
        `Read-only results of the ${name} pipeline, public unless the stack's REST authorization setting names the route; ` +
        'stage throttling limits abuse.',
      apiKey: `Readers of the ${name} pipeline are identified by their API key under a throttled usage plan.`,
    };
    for (const [route, authorization] of Object.entries(deploymentRestAuth(this.deployment, overrides))) {
      const [method = '', path = ''] = route.split(' ');
      const ingest = route in ingestRoutes;
      const nagReason = ingest ? undefined : readReasons[authorization];
      restApi.addLambdaRoute(method, path, ingest ? this.functions.ingest : this.functions.api, {
        authorization,
        ...(nagReason ? { nagReason } : {}),
      });
    }
  }

  private addKafkaSource(kafka: PipelineKafkaProps, processor: StreamfoldFunction, onFailure: sqs.IQueue): void {
    const { topic, consumerGroupId } = this.deployment.kafka;
    const dependsOn: IDependable[] = [...(kafka.dependsOn ?? [])];
    if (kafka.topicProvider) {
      const kafkaTopic = new KafkaTopic(this, 'KafkaTopic', {
        provider: kafka.topicProvider,
        cluster: kafka.cluster,
        topicName: topic,
        partitions: declaredTopic(topic)?.partitions ?? this.deployment.shards,
        dependsOn: kafka.dependsOn ?? [],
      });
      dependsOn.unshift(kafkaTopic);
    }
    processor.addEventSource(
      new KafkaEventSource({
        cluster: kafka.cluster,
        topic,
        onFailure,
        consumerGroupId: kafka.consumerGroupId ?? consumerGroupId,
        ...(kafka.pollers ? { pollers: kafka.pollers } : {}),
        dependsOn,
      }),
    );
  }
}

/** How `role` may use `table`, if at all. */
function accessOf(table: TableDeployment, role: PipelineRole): TableDeployment['access'][RoleGroup] {
  const groups = Object.keys(table.access) as RoleGroup[];
  const group = groups.find((g) => rolesOf(g).includes(role));
  return group ? table.access[group] : undefined;
}
