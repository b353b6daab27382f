import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IDependable } from 'constructs';
import type { PipelineDescription } from '../../shared/engine/pipeline.js';
import { settingsEnvironment } from '../../shared/settings.js';
import { declaredTopic } from '../kafka-topics.js';
import {
  pipelineIngestPath,
  pipelineIngestRoute,
  type RestAuthorization,
  resolvePipelineRestAuth,
} from '../rest-auth.js';
import type { KafkaClusterArn } from './kafka-cluster-arn.js';
import { KafkaEventSource, type KafkaPollers } from './kafka-event-source.js';
import { KafkaTopic, type KafkaTopicFunction } from './kafka-topic.js';
import { StreamEventSource } from './stream-event-source.js';
import { StreamfoldEngineTable } from './streamfold-engine-table.js';
import { StreamfoldFunction } from './streamfold-function.js';
import { StreamfoldQueue } from './streamfold-queue.js';
import type { StreamfoldRestApi } from './streamfold-rest-api.js';
import { StreamfoldStream } from './streamfold-stream.js';
import { StreamfoldTable } from './streamfold-table.js';

const STRING = dynamodb.AttributeType.STRING;

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
   * @default `streamfold-<name>-processor`
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
  /** The pipeline as plain data (shared/engine/pipeline.ts): name, handler module, routes, topics, tick rate, shards. */
  readonly description: PipelineDescription;
  /** The stack's REST API: the pipeline's ingest and read routes are added to it. */
  readonly restApi: StreamfoldRestApi;
  /** The stack's output stream: the processors and the tick write the pipeline's messages there for the broadcaster. */
  readonly outputStream: kinesis.IStream;
  /** The stack's dead-letter queue: ingest and the processors send rejected events there, with the reason. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * How callers of the pipeline's routes authenticate, by `METHOD /path`; routes not named keep their default.
   * @default `apiKey` for `POST /v1/<name>/events`, `none` for each of `description.routes`
   */
  readonly restAuth?: Readonly<Record<string, RestAuthorization>>;
  /**
   * Values of the description's `settings`, by prop; each function gets every setting's variable.
   * @default every setting its default
   */
  readonly settings?: Readonly<Record<string, number>>;
  /**
   * What happens to the engine table, and its data, when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * A second way in: the Kafka processor on the topic `description.topic`.
   * @default no Kafka consumer
   */
  readonly kafka?: PipelineKafkaProps;
}

/**
 * One pipeline of the engine (shared/engine/), from its plain-data description: its input stream, engine
 * table (and, with `description.reference`, its reference table, read by the processors and seeded
 * offline by its `streamfold:seed` step) and the five functions of its handler module (`ingest`, `processor`, `kafkaProcessor`, `tick`,
 * `api`), each bound to exactly what it uses; its ingest route `POST /v1/<name>/events` and read routes on
 * the stack's REST API; the tick's schedule; and, with `kafka`, the Kafka processor on the pipeline's topic.
 * Its messages go to the stack's output stream, and so to WebSocket clients, like transit's. Nothing here
 * knows what a pipeline computes: every pipeline is built the same way.
 */
export class StreamfoldPipeline extends Construct {
  /** The description the pipeline was built from. */
  public readonly description: PipelineDescription;
  /** `/v1/<name>/events`: where producers post events. */
  public readonly ingestPath: string;
  /** Where ingest puts accepted events, keyed by `partitionKeyField`. */
  public readonly inputStream: StreamfoldStream;
  /** Where the processor sends the metadata of a batch it gave up on. */
  public readonly processorFailureQueue: StreamfoldQueue;
  /** Keyed state, windows, sessions and results of the engine (`pk`/`sk`, index `due`, TTL `ttl`). */
  public readonly engineTable: StreamfoldEngineTable;
  /** The reference data the processors enrich events with (`pk`), with `description.reference`. */
  public readonly referenceTable: StreamfoldTable | undefined;
  /** `POST /v1/<name>/events`: validates events onto the input stream. */
  public readonly ingestFunction: StreamfoldFunction;
  /** Folds input-stream batches into the engine table and publishes messages. */
  public readonly processorFunction: StreamfoldFunction;
  /** Closes due windows and sessions on `tickRate`. */
  public readonly tickFunction: StreamfoldFunction;
  /** Serves the read routes from the engine table. */
  public readonly apiFunction: StreamfoldFunction;
  /** The schedule of the tick. */
  public readonly tickRule: events.Rule;
  /** The processor of the Kafka topic, with `kafka`. */
  public readonly kafkaProcessorFunction: StreamfoldFunction | undefined;
  /** Where the Kafka processor's abandoned batches go, with `kafka`. */
  public readonly kafkaProcessorFailureQueue: StreamfoldQueue | undefined;

  constructor(scope: Construct, id: string, props: StreamfoldPipelineProps) {
    super(scope, id);
    const { description, outputStream, deadLetterQueue } = props;
    const { name } = description;
    this.description = description;
    this.ingestPath = pipelineIngestPath(description);

    this.inputStream = new StreamfoldStream(this, 'InputStream', { shardCount: description.shards });
    this.processorFailureQueue = new StreamfoldQueue(this, 'ProcessorFailureQueue');
    this.engineTable = new StreamfoldEngineTable(this, 'EngineTable', {
      ...(props.tableRemovalPolicy ? { removalPolicy: props.tableRemovalPolicy } : {}),
    });
    // Reference items by the string `pk` (shared/engine/dynamo-reference-source.ts), read-only to the
    // processors; its seed step (if any) is the `streamfold:seed` metadata the offline runtime runs.
    const reference = description.reference;
    this.referenceTable = reference
      ? new StreamfoldTable(this, 'ReferenceTable', {
          partitionKey: { name: 'pk', type: STRING },
          ...(reference.seed ? { localSeed: reference.seed } : {}),
          ...(props.tableRemovalPolicy ? { removalPolicy: props.tableRemovalPolicy } : {}),
        })
      : undefined;

    // One module, five exports; each function is named after its export in logs, traces and metrics, and
    // each loads the definition, so each reads the settings.
    const settings = settingsEnvironment(description.settings ?? [], props.settings ?? {});
    const handlerFunction = (functionId: string, handler: string, timeout: Duration) =>
      new StreamfoldFunction(this, functionId, {
        entry: description.handlers,
        handler,
        serviceName: `${name}-${handler.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`,
        timeout,
        ...(Object.keys(settings).length > 0 ? { environment: settings } : {}),
      });
    // The Kinesis and the Kafka processor run the same engine: the same table, output stream and DLQ.
    const processorFunction = (functionId: string, handler: string) => {
      const fn = handlerFunction(functionId, handler, Duration.minutes(2))
        .bindTable('ENGINE_TABLE', this.engineTable, 'readWrite')
        .bindStream('OUTPUT_STREAM_NAME', outputStream, 'write')
        .bindQueue('DEAD_LETTER_QUEUE_URL', deadLetterQueue);
      return this.referenceTable ? fn.bindTable('REFERENCE_TABLE', this.referenceTable, 'read') : fn;
    };

    // Behind API Gateway, which gives up after 29 s: the same 10 s as transit's ingest and API.
    this.ingestFunction = handlerFunction('IngestFunction', 'ingest', Duration.seconds(10))
      .bindStream('INPUT_STREAM_NAME', this.inputStream, 'write')
      .bindQueue('DEAD_LETTER_QUEUE_URL', deadLetterQueue);

    this.processorFunction = processorFunction('ProcessorFunction', 'processor');
    this.processorFunction.addEventSource(
      new StreamEventSource(this.inputStream, { onFailure: this.processorFailureQueue }),
    );

    // Well under the shortest tick rate (a minute), so one run ends before the next begins.
    this.tickFunction = handlerFunction('TickFunction', 'tick', Duration.seconds(30))
      .bindTable('ENGINE_TABLE', this.engineTable, 'readWrite')
      .bindStream('OUTPUT_STREAM_NAME', outputStream, 'write');
    this.tickRule = new events.Rule(this, 'TickRule', {
      description: `Closes due windows and sessions of the ${name} pipeline`,
      schedule: events.Schedule.expression(description.tickRate),
    });
    // The target also adds the permission that lets EventBridge invoke the function for this rule.
    this.tickRule.addTarget(new targets.LambdaFunction(this.tickFunction));

    this.apiFunction = handlerFunction('ApiFunction', 'api', Duration.seconds(10)).bindTable(
      'ENGINE_TABLE',
      this.engineTable,
      'read',
    );

    this.addRoutes(props.restApi, props.restAuth);

    if (props.kafka) {
      this.kafkaProcessorFailureQueue = new StreamfoldQueue(this, 'KafkaProcessorFailureQueue');
      this.kafkaProcessorFunction = processorFunction('KafkaProcessorFunction', 'kafkaProcessor');
      this.addKafkaSource(props.kafka, this.kafkaProcessorFunction, this.kafkaProcessorFailureQueue);
    }
  }

  /** Every function of the pipeline, by export name: for dashboards and tests. */
  get functions(): Record<string, StreamfoldFunction> {
    return {
      ingest: this.ingestFunction,
      processor: this.processorFunction,
      ...(this.kafkaProcessorFunction ? { kafkaProcessor: this.kafkaProcessorFunction } : {}),
      tick: this.tickFunction,
      api: this.apiFunction,
    };
  }

  private addRoutes(restApi: StreamfoldRestApi, overrides: Readonly<Record<string, RestAuthorization>> = {}): void {
    const { name } = this.description;
    const ingestRoute = pipelineIngestRoute(this.description);
    const readReasons: Partial<Record<RestAuthorization, string>> = {
      none:
        `Read-only results of the ${name} pipeline, public unless the pipelineRestAuth stack prop names the route; ` +
        'stage throttling limits abuse.',
      apiKey: `Readers of the ${name} pipeline are identified by their API key (pipelineRestAuth) under a throttled usage plan.`,
    };
    for (const [route, authorization] of Object.entries(resolvePipelineRestAuth(this.description, overrides))) {
      const [method = '', path = ''] = route.split(' ');
      const ingest = route === ingestRoute;
      const nagReason = ingest ? undefined : readReasons[authorization];
      restApi.addLambdaRoute(method, path, ingest ? this.ingestFunction : this.apiFunction, {
        authorization,
        ...(nagReason ? { nagReason } : {}),
      });
    }
  }

  private addKafkaSource(kafka: PipelineKafkaProps, processor: StreamfoldFunction, onFailure: sqs.IQueue): void {
    const { name, topic, shards } = this.description;
    const dependsOn: IDependable[] = [...(kafka.dependsOn ?? [])];
    if (kafka.topicProvider) {
      const kafkaTopic = new KafkaTopic(this, 'KafkaTopic', {
        provider: kafka.topicProvider,
        cluster: kafka.cluster,
        topicName: topic,
        partitions: declaredTopic(topic)?.partitions ?? shards,
        dependsOn: kafka.dependsOn ?? [],
      });
      dependsOn.unshift(kafkaTopic);
    }
    processor.addEventSource(
      new KafkaEventSource({
        cluster: kafka.cluster,
        topic,
        onFailure,
        consumerGroupId: kafka.consumerGroupId ?? `streamfold-${name}-processor`,
        ...(kafka.pollers ? { pollers: kafka.pollers } : {}),
        dependsOn,
      }),
    );
  }
}
