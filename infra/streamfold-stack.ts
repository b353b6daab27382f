import { Aspects, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { TRANSIT_INGEST_ROUTES } from '../pipelines/transit/description.js';
import { TRANSIT_SETTINGS } from '../pipelines/transit/settings.js';
import { EVENT_TIME_SETTINGS, settingsEnvironment } from '../shared/settings.js';
import { KafkaClusterArn } from './constructs/kafka-cluster-arn.js';
import { KafkaEventSource } from './constructs/kafka-event-source.js';
import { KafkaNetwork } from './constructs/kafka-network.js';
import { KafkaServerlessCluster } from './constructs/kafka-serverless-cluster.js';
import { KafkaTopic, KafkaTopicFunction } from './constructs/kafka-topic.js';
import { LogGroupDefaults } from './constructs/log-group-defaults.js';
import { Observability } from './constructs/observability.js';
import { RestApiWaf } from './constructs/rest-api-waf.js';
import { ScopedInvokePermissions } from './constructs/scoped-invoke-permissions.js';
import { StreamEventSource } from './constructs/stream-event-source.js';
import { StreamfoldEngineTable } from './constructs/streamfold-engine-table.js';
import { StreamfoldFunction } from './constructs/streamfold-function.js';
import { StreamfoldKey } from './constructs/streamfold-key.js';
import { type PipelineKafkaProps, StreamfoldPipeline } from './constructs/streamfold-pipeline.js';
import { StreamfoldQueue } from './constructs/streamfold-queue.js';
import { StreamfoldRestApi } from './constructs/streamfold-rest-api.js';
import { StreamfoldStream } from './constructs/streamfold-stream.js';
import { StreamfoldTable } from './constructs/streamfold-table.js';
import { StreamfoldWebSocketApi } from './constructs/streamfold-websocket-api.js';
import { contractTopic, VEHICLE_POSITION_TOPIC } from './kafka-topics.js';
import { acknowledgeNag } from './nag.js';
import { isTransitIngestRoute, pipelineIngestPath, REST_ROUTES, resolveRestAuth } from './rest-auth.js';
import {
  assertValidStreamfoldProps,
  type KafkaProps,
  type StreamfoldStackProps,
  TRANSIT_ENGINE_TABLE_ID,
  TRANSIT_SEED,
} from './stack-props.js';

const NUMBER = dynamodb.AttributeType.NUMBER;

/** Largest `POST /v1/events` body in bytes: `MAX_BODY_BYTES` of the ingest function (a test keeps them equal). */
export const INGEST_MAX_BODY_BYTES = 1024 * 1024;

/**
 * The whole pipeline: REST ingest -> input stream -> processor -> read-model tables and output stream
 * -> broadcaster -> WebSocket clients, plus the query API and the dashboard; and, unless `kafka` is
 * `none`, a second way in: an MSK topic -> the Kafka processor -> the same tables and output stream.
 * Each of the engine's `pipelines` is a {@link StreamfoldPipeline} beside transit, which is not one: its
 * resources stay as they are, and a pipeline adds only its own, its routes, and its ingest path to the WAF.
 * Construct ids are the logical-id prefixes named in docs/contracts.md, which the local runtime relies on.
 */
export class StreamfoldStack extends Stack {
  constructor(scope: Construct, id: string, props: StreamfoldStackProps = {}) {
    assertValidStreamfoldProps(props);
    super(scope, id, props);
    const removalPolicy = props.tableRemovalPolicy;
    const pipelines = props.pipelines ?? [];

    // One key for the log groups and the alarm topic; one retention for every log group.
    const key = new StreamfoldKey(this, 'StreamfoldKey');
    Aspects.of(this).add(
      new LogGroupDefaults({
        retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        ...(props.logEncryption === false ? {} : { encryptionKey: key }),
      }),
    );
    Aspects.of(this).add(new ScopedInvokePermissions());

    // Streams and failure queues.
    const inputStream = new StreamfoldStream(this, 'InputStream', { shardCount: props.inputShardCount ?? 2 });
    const outputStream = new StreamfoldStream(this, 'OutputStream', { shardCount: props.outputShardCount ?? 2 });
    const deadLetterQueue = new StreamfoldQueue(this, 'DeadLetterQueue');
    const processorFailureQueue = new StreamfoldQueue(this, 'ProcessorFailureQueue');
    const broadcasterFailureQueue = new StreamfoldQueue(this, 'BroadcasterFailureQueue');

    // Read models (keys per docs/contracts.md).
    const vehicleStateTable = new StreamfoldTable(this, 'VehicleStateTable', {
      partitionKey: { name: 'vehicleId' },
      globalSecondaryIndexes: [
        { indexName: 'byRoute', partitionKey: { name: 'routeId' }, sortKey: { name: 'vehicleId' } },
      ],
      removalPolicy,
    });
    const windowsTable = new StreamfoldTable(this, 'WindowsTable', {
      partitionKey: { name: 'pk' },
      sortKey: { name: 'windowStart', type: NUMBER },
      removalPolicy,
    });
    const anomaliesTable = new StreamfoldTable(this, 'AnomaliesTable', {
      partitionKey: { name: 'pk' },
      sortKey: { name: 'sk' },
      globalSecondaryIndexes: [{ indexName: 'byDay', partitionKey: { name: 'day' }, sortKey: { name: 'sk' } }],
      removalPolicy,
    });
    const etaTable = new StreamfoldTable(this, 'EtaTable', {
      partitionKey: { name: 'stopId' },
      sortKey: { name: 'vehicleId' },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy,
    });
    const referenceTable = new StreamfoldTable(this, 'ReferenceTable', {
      partitionKey: { name: 'pk' },
      sortKey: { name: 'sk' },
      // Offline, `npm start` loads the synthetic city's GTFS feed (or --gtfs DIR) into it.
      localSeed: { name: TRANSIT_SEED, loader: 'local/load-gtfs.ts', export: 'loadGtfs' },
      removalPolicy,
    });
    const lateEventsTable = new StreamfoldTable(this, 'LateEventsTable', {
      partitionKey: { name: 'routeId' },
      sortKey: { name: 'sk' },
      removalPolicy,
    });
    // The engine's store beside transit's tables (docs/transit-on-engine.md, step 8): the entity items and
    // outputs TransitTablesStore does not keep in them. Bound to the processors ahead of step 9's handlers.
    const transitEngineTable = new StreamfoldEngineTable(this, TRANSIT_ENGINE_TABLE_ID, { removalPolicy });
    const connectionsTable = new StreamfoldTable(this, 'ConnectionsTable', {
      partitionKey: { name: 'pk' },
      sortKey: { name: 'sk' },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy,
    });

    // Functions: each `bind*` grants exactly what the function uses and sets the env var it reads.
    // Ingest and the processors judge event times by the same rule.
    // Unset, the clock-skew tolerance is its default capped at half the lateness, as the functions cap it.
    const { allowedLateness, maxClockSkew } = EVENT_TIME_SETTINGS;
    const eventTime = settingsEnvironment([allowedLateness, maxClockSkew], {
      ...props,
      maxClockSkewSeconds:
        props.maxClockSkewSeconds ??
        Math.min(maxClockSkew.default, (props.allowedLatenessSeconds ?? allowedLateness.default) / 2),
    });
    const ingest = new StreamfoldFunction(this, 'IngestFunction', {
      entry: 'functions/ingest.ts',
      timeout: Duration.seconds(10),
      environment: eventTime,
    })
      .bindStream('INPUT_STREAM_NAME', inputStream, 'write')
      .bindQueue('DEAD_LETTER_QUEUE_URL', deadLetterQueue);

    // The Kinesis and the Kafka processor run the same core: the same settings, tables, outputs and DLQ.
    const newProcessor = (id: string, entry: string) =>
      new StreamfoldFunction(this, id, {
        entry,
        timeout: Duration.minutes(2),
        environment: {
          ...eventTime,
          ...settingsEnvironment(Object.values(TRANSIT_SETTINGS), props),
          TRANSIT_PROCESSOR: props.transitProcessor ?? 'engine',
        },
      })
        .bindTable('VEHICLE_STATE_TABLE', vehicleStateTable, 'readWrite')
        .bindTable('WINDOWS_TABLE', windowsTable, 'readWrite')
        .bindTable('ANOMALIES_TABLE', anomaliesTable, 'readWrite')
        .bindTable('ETA_TABLE', etaTable, 'readWrite')
        .bindTable('REFERENCE_TABLE', referenceTable, 'read')
        .bindTable('LATE_EVENTS_TABLE', lateEventsTable, 'readWrite')
        .bindTable('TRANSIT_ENGINE_TABLE', transitEngineTable, 'readWrite')
        .bindStream('OUTPUT_STREAM_NAME', outputStream, 'write')
        .bindQueue('DEAD_LETTER_QUEUE_URL', deadLetterQueue);

    const processor = newProcessor('ProcessorFunction', 'functions/processor.ts');
    processor.addEventSource(new StreamEventSource(inputStream, { onFailure: processorFailureQueue }));

    const api = new StreamfoldFunction(this, 'ApiFunction', {
      entry: 'functions/api.ts',
      timeout: Duration.seconds(10),
    })
      .bindTable('VEHICLE_STATE_TABLE', vehicleStateTable, 'read')
      .bindTable('WINDOWS_TABLE', windowsTable, 'read')
      .bindTable('ANOMALIES_TABLE', anomaliesTable, 'read')
      .bindTable('ETA_TABLE', etaTable, 'read')
      .bindTable('REFERENCE_TABLE', referenceTable, 'read')
      .bindTable('LATE_EVENTS_TABLE', lateEventsTable, 'read');

    const wsConnection = new StreamfoldFunction(this, 'WsConnectionFunction', {
      entry: 'functions/ws-connection.ts',
      timeout: Duration.seconds(10),
      // The topic forms clients may subscribe to besides transit's; unset without pipelines.
      ...(pipelines.length > 0
        ? { environment: { PIPELINE_TOPICS: pipelines.flatMap((pipeline) => pipeline.topics).join(',') } }
        : {}),
    }).bindTable('CONNECTIONS_TABLE', connectionsTable, 'readWrite');

    // APIs.
    const restApi = new StreamfoldRestApi(this, 'RestApi', {
      ...(props.restThrottle ? { throttle: props.restThrottle } : {}),
      ...(props.ingestThrottle ? { apiKeyThrottle: props.ingestThrottle } : {}),
      ...(props.cognitoUserPoolArn ? { cognitoUserPoolArn: props.cognitoUserPoolArn } : {}),
    });
    const restAuth = resolveRestAuth(props.restAuth);
    for (const route of REST_ROUTES) {
      const [method = '', path = ''] = route.split(' ');
      restApi.addLambdaRoute(method, path, isTransitIngestRoute(route) ? ingest : api, {
        authorization: restAuth[route],
      });
    }
    if (props.waf?.enabled === false) {
      acknowledgeNag(
        restApi.deploymentStage,
        'AwsSolutions-APIG3',
        'The web ACL is switched off by the stack setting waf.enabled: false; producers still need an API key, ' +
          'and stage plus per-key throttling cap load.',
      );
    } else {
      new RestApiWaf(this, 'RestApiWaf', {
        stage: restApi.deploymentStage,
        // Transit's first, as they always were; then each pipeline's.
        ingestPaths: [
          ...TRANSIT_INGEST_ROUTES.map((route) => route.split(' ')[1] ?? ''),
          ...pipelines.map(pipelineIngestPath),
        ],
        maxIngestBodyBytes: INGEST_MAX_BODY_BYTES,
        ...(props.waf?.rateLimitPerIp ? { rateLimitPerIp: props.waf.rateLimitPerIp } : {}),
      });
    }

    const wsAuthorizer = new StreamfoldFunction(this, 'WsAuthorizerFunction', {
      entry: 'functions/ws-authorizer.ts',
      timeout: Duration.seconds(5),
      environment: {
        WS_ALLOWED_ORIGINS: (props.webSocketAllowedOrigins ?? ['*']).join(','),
        // Its response carries the caller's API key (usageIdentifierKey): keep it out of X-Ray traces.
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
      },
    });
    const webSocket = new StreamfoldWebSocketApi(this, 'WebSocket', {
      handler: wsConnection,
      authorizer: wsAuthorizer,
      ...(props.webSocketThrottle ? { throttle: props.webSocketThrottle } : {}),
    });

    const broadcaster = new StreamfoldFunction(this, 'BroadcasterFunction', {
      entry: 'functions/broadcaster.ts',
      timeout: Duration.minutes(1),
      environment: { WS_MANAGEMENT_ENDPOINT: webSocket.managementEndpoint },
    }).bindTable('CONNECTIONS_TABLE', connectionsTable, 'readWrite');
    webSocket.grantManageConnections(broadcaster);
    broadcaster.addEventSource(new StreamEventSource(outputStream, { onFailure: broadcasterFailureQueue }));

    const kafka = this.addKafkaIngest(props.kafka ?? { mode: 'serverless' }, newProcessor);

    // The engine's pipelines, each with its own stream, table and functions, and transit's output stream.
    const pipelineConstructs = pipelines.map(
      (description) =>
        new StreamfoldPipeline(this, description.constructId, {
          description,
          restApi,
          outputStream,
          deadLetterQueue,
          ...(props.pipelineRestAuth ? { restAuth: props.pipelineRestAuth } : {}),
          ...(props.pipelineSettings?.[description.name] ? { settings: props.pipelineSettings[description.name] } : {}),
          ...(removalPolicy ? { tableRemovalPolicy: removalPolicy } : {}),
          ...(kafka ? { kafka: kafka.pipelines } : {}),
        }),
    );
    const observed = observedPipelines(pipelineConstructs);

    // Observability.
    const observability = new Observability(this, 'Observability', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      encryptionKey: key,
      ...(props.alarmSubscribers ? { alarmSubscribers: props.alarmSubscribers } : {}),
      functions: {
        ingest,
        processor,
        api,
        wsConnection,
        wsAuthorizer,
        broadcaster,
        ...(kafka ? { kafkaProcessor: kafka.processor } : {}),
        ...observed.functions,
      },
      consumers: { processor, broadcaster },
      streamProcessors: observed.streamProcessors,
      ...(kafka ? { kafkaConsumers: { kafkaProcessor: kafka.processor, ...observed.kafkaConsumers } } : {}),
      streams: { InputStream: inputStream, OutputStream: outputStream, ...observed.streams },
      failureQueues: {
        DeadLetterQueue: deadLetterQueue,
        ProcessorFailureQueue: processorFailureQueue,
        BroadcasterFailureQueue: broadcasterFailureQueue,
        ...(kafka ? { KafkaProcessorFailureQueue: kafka.failureQueue } : {}),
        ...observed.failureQueues,
      },
      // Past the allowed lateness, events arrive too late to be folded into their window.
      iteratorAgeThreshold: Duration.seconds(Math.max(60, props.allowedLatenessSeconds ?? 120)),
    });

    // Outputs, read by people, scripts and the local runtime.
    const outputs: Record<string, string> = {
      RestApiUrl: restApi.url,
      AlarmTopicArn: observability.alarmTopic.topicArn,
      WebSocketUrl: webSocket.stage.url,
      WebSocketManagementEndpoint: webSocket.managementEndpoint,
      ApiKeyId: restApi.apiKey.keyId,
      WebSocketApiKeyId: webSocket.subscriberApiKey.keyId,
      InputStreamName: inputStream.streamName,
      OutputStreamName: outputStream.streamName,
      DeadLetterQueueUrl: deadLetterQueue.queueUrl,
      ProcessorFailureQueueUrl: processorFailureQueue.queueUrl,
      BroadcasterFailureQueueUrl: broadcasterFailureQueue.queueUrl,
      VehicleStateTableName: vehicleStateTable.tableName,
      WindowsTableName: windowsTable.tableName,
      AnomaliesTableName: anomaliesTable.tableName,
      EtaTableName: etaTable.tableName,
      ReferenceTableName: referenceTable.tableName,
      LateEventsTableName: lateEventsTable.tableName,
      TransitEngineTableName: transitEngineTable.tableName,
      ConnectionsTableName: connectionsTable.tableName,
      ...(kafka
        ? {
            KafkaClusterArn: kafka.clusterArn,
            KafkaTopicName: kafka.topicName,
            KafkaProcessorFailureQueueUrl: kafka.failureQueue.queueUrl,
          }
        : {}),
      ...Object.fromEntries(
        pipelineConstructs.flatMap((pipeline) => [
          [`${pipeline.node.id}InputStreamName`, pipeline.inputStream.streamName],
          [`${pipeline.node.id}EngineTableName`, pipeline.engineTable.tableName],
          [`${pipeline.node.id}IngestPath`, pipeline.ingestPath],
          ...(pipeline.referenceTable
            ? [[`${pipeline.node.id}ReferenceTableName`, pipeline.referenceTable.tableName] as const]
            : []),
        ]),
      ),
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
  }

  /**
   * The Kafka path: `KafkaProcessorFunction` on an MSK event source, with its failure queue, on a
   * cluster of this stack (`serverless`: network, cluster, topic and its custom-resource function) or
   * an existing one, and what the pipelines' consumers share of it. Nothing for `none`.
   */
  private addKafkaIngest(
    kafka: KafkaProps,
    newProcessor: (id: string, entry: string) => StreamfoldFunction,
  ): KafkaIngest | undefined {
    if (kafka.mode === 'none') return undefined;
    const topic = contractTopic(VEHICLE_POSITION_TOPIC);
    const failureQueue = new StreamfoldQueue(this, 'KafkaProcessorFailureQueue');
    const processor = newProcessor('KafkaProcessorFunction', 'functions/kafka-processor.ts');
    const pollers = kafka.pollers ? { pollers: kafka.pollers } : {};
    const consumer = {
      topic: topic.name,
      onFailure: failureQueue,
      ...pollers,
      ...(kafka.consumerGroupId ? { consumerGroupId: kafka.consumerGroupId } : {}),
    };

    if (kafka.mode === 'existing') {
      // The cluster, its network and the topic are the account's (docs/contracts.md, Kafka / MSK).
      const cluster = new KafkaClusterArn(kafka.clusterArn);
      processor.addEventSource(new KafkaEventSource({ cluster, ...consumer }));
      const pipelines = { cluster, ...pollers };
      return { processor, failureQueue, clusterArn: cluster.clusterArn, topicName: topic.name, pipelines };
    }

    const network = new KafkaNetwork(this, 'KafkaNetwork');
    const cluster = new KafkaServerlessCluster(this, 'KafkaCluster', { network });
    const topicFunction = new KafkaTopicFunction(this, 'KafkaTopicFunction', { network });
    const kafkaTopic = new KafkaTopic(this, 'KafkaTopic', {
      provider: topicFunction,
      cluster: cluster.arns,
      topicName: topic.name,
      partitions: topic.partitions,
      dependsOn: [network.endpoints],
    });
    processor.addEventSource(
      new KafkaEventSource({ cluster: cluster.arns, ...consumer, dependsOn: [kafkaTopic, network.endpoints] }),
    );
    // The pipelines' topics are made by the same function, on the same cluster, after the same endpoints.
    const pipelines = {
      cluster: cluster.arns,
      topicProvider: topicFunction,
      dependsOn: [network.endpoints],
      ...pollers,
    };
    return { processor, failureQueue, clusterArn: cluster.attrArn, topicName: kafkaTopic.topicName, pipelines };
  }
}

const capitalize = (word: string) => `${word.charAt(0).toUpperCase()}${word.slice(1)}`;

/**
 * What the dashboard charts and alarms on for the pipelines, by display name: each name starts with the
 * pipeline's construct id, so the alarms' ids name the pipeline too.
 */
function observedPipelines(pipelines: readonly StreamfoldPipeline[]) {
  type Named<T> = readonly (readonly [string, T | undefined])[];
  const named = <T>(entries: Named<T>): Record<string, T> =>
    Object.fromEntries(entries.filter((entry): entry is readonly [string, T] => entry[1] !== undefined));
  return {
    functions: named(
      pipelines.flatMap((p) =>
        Object.entries(p.functions).map(([name, fn]) => [`${p.node.id}${capitalize(name)}`, fn] as const),
      ),
    ),
    streamProcessors: named(pipelines.map((p) => [`${p.node.id}Processor`, p.processorFunction] as const)),
    kafkaConsumers: named(pipelines.map((p) => [`${p.node.id}KafkaProcessor`, p.kafkaProcessorFunction] as const)),
    streams: named(pipelines.map((p) => [`${p.node.id}InputStream`, p.inputStream] as const)),
    failureQueues: named(
      pipelines.flatMap((p) => [
        [`${p.node.id}ProcessorFailureQueue`, p.processorFailureQueue] as const,
        [`${p.node.id}KafkaProcessorFailureQueue`, p.kafkaProcessorFailureQueue] as const,
      ]),
    ),
  };
}

/** What the Kafka path adds, for the dashboard and the outputs. */
interface KafkaIngest {
  processor: StreamfoldFunction;
  failureQueue: StreamfoldQueue;
  clusterArn: string;
  topicName: string;
  /** The cluster, and how to create topics on it, for the pipelines' Kafka consumers. */
  pipelines: PipelineKafkaProps;
}
