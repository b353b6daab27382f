import { Aspects, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { TRANSIT_DEPLOYMENT } from '../pipelines/transit/description.js';
import { engineDeployment } from '../shared/engine/deployment.js';
import { EVENT_TIME_SETTINGS } from '../shared/settings.js';
import { KafkaClusterArn } from './constructs/kafka-cluster-arn.js';
import { KafkaNetwork } from './constructs/kafka-network.js';
import { KafkaServerlessCluster } from './constructs/kafka-serverless-cluster.js';
import { KafkaTopicFunction } from './constructs/kafka-topic.js';
import { LogGroupDefaults } from './constructs/log-group-defaults.js';
import { Observability } from './constructs/observability.js';
import { RestApiWaf } from './constructs/rest-api-waf.js';
import { ScopedInvokePermissions } from './constructs/scoped-invoke-permissions.js';
import { StreamEventSource } from './constructs/stream-event-source.js';
import { StreamfoldFunction } from './constructs/streamfold-function.js';
import { StreamfoldKey } from './constructs/streamfold-key.js';
import { type PipelineKafkaProps, StreamfoldPipeline } from './constructs/streamfold-pipeline.js';
import { StreamfoldQueue } from './constructs/streamfold-queue.js';
import { StreamfoldRestApi } from './constructs/streamfold-rest-api.js';
import { StreamfoldStream } from './constructs/streamfold-stream.js';
import { StreamfoldTable } from './constructs/streamfold-table.js';
import { StreamfoldWebSocketApi } from './constructs/streamfold-websocket-api.js';
import { acknowledgeNag } from './nag.js';
import { resolveRestAuth } from './rest-auth.js';
import { assertValidStreamfoldProps, type KafkaProps, type StreamfoldStackProps } from './stack-props.js';

/** Largest `POST /v1/events` body in bytes: `MAX_BODY_BYTES` of the ingest function (a test keeps them equal). */
export const INGEST_MAX_BODY_BYTES = 1024 * 1024;

/**
 * The whole pipeline: REST ingest -> input stream -> processor -> read-model tables and output stream
 * -> broadcaster -> WebSocket clients, plus the query API and the dashboard; and, unless `kafka` is
 * `none`, a second way in: an MSK topic -> the Kafka processor -> the same tables and output stream.
 * Every pipeline, transit and each of `pipelines`, is a {@link StreamfoldPipeline} built from its plain-data
 * deployment; the stack adds what they share (output stream, DLQ, REST and WebSocket APIs, WAF, Kafka cluster,
 * dashboard and alarms). Construct ids are the logical-id prefixes named in docs/contracts.md, which the
 * local runtime relies on; transit's resources keep the ids they had at the stack's top level.
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

    // What the pipelines share: the output stream to the broadcaster, the dead-letter queue, the APIs.
    const outputStream = new StreamfoldStream(this, 'OutputStream', { shardCount: props.outputShardCount ?? 2 });
    const deadLetterQueue = new StreamfoldQueue(this, 'DeadLetterQueue');
    const broadcasterFailureQueue = new StreamfoldQueue(this, 'BroadcasterFailureQueue');
    const connectionsTable = new StreamfoldTable(this, 'ConnectionsTable', {
      partitionKey: { name: 'pk' },
      sortKey: { name: 'sk' },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy,
    });
    const restApi = new StreamfoldRestApi(this, 'RestApi', {
      ...(props.restThrottle ? { throttle: props.restThrottle } : {}),
      ...(props.ingestThrottle ? { apiKeyThrottle: props.ingestThrottle } : {}),
      ...(props.cognitoUserPoolArn ? { cognitoUserPoolArn: props.cognitoUserPoolArn } : {}),
    });
    const kafka = this.addKafkaIngest(props.kafka ?? { mode: 'serverless' });

    // Every pipeline from its deployment, transit first: each with its own stream, tables and functions,
    // on the shared REST API, output stream and DLQ. Transit's resources stay at the stack's top level.
    const shared = {
      restApi,
      outputStream,
      deadLetterQueue,
      ...(removalPolicy ? { tableRemovalPolicy: removalPolicy } : {}),
    };
    const transitCore = { TRANSIT_PROCESSOR: props.transitProcessor ?? 'engine' };
    const transit = StreamfoldPipeline.of(this, {
      ...shared,
      deployment: { ...TRANSIT_DEPLOYMENT, shards: props.inputShardCount ?? TRANSIT_DEPLOYMENT.shards },
      restAuth: resolveRestAuth(props.restAuth),
      settings: transitSettings(props),
      environment: { processor: transitCore, kafkaProcessor: transitCore },
      ...(kafka
        ? {
            kafka: { ...kafka.pipelines, ...(kafka.consumerGroupId ? { consumerGroupId: kafka.consumerGroupId } : {}) },
          }
        : {}),
    });
    const engine = pipelines.map((description) =>
      StreamfoldPipeline.of(this, {
        ...shared,
        deployment: engineDeployment(description),
        ...(props.pipelineRestAuth ? { restAuth: props.pipelineRestAuth } : {}),
        ...(props.pipelineSettings?.[description.name] ? { settings: props.pipelineSettings[description.name] } : {}),
        ...(kafka ? { kafka: kafka.pipelines } : {}),
      }),
    );
    const all = [transit, ...engine];

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
        ingestPaths: all.flatMap((pipeline) => Object.keys(pipeline.deployment.ingestRoutes).map(routePath)),
        maxIngestBodyBytes: INGEST_MAX_BODY_BYTES,
        ...(props.waf?.rateLimitPerIp ? { rateLimitPerIp: props.waf.rateLimitPerIp } : {}),
      });
    }

    // WebSocket clients and the broadcaster that pushes the pipelines' messages to them.
    const wsConnection = new StreamfoldFunction(this, 'WsConnectionFunction', {
      entry: 'functions/ws-connection.ts',
      timeout: Duration.seconds(10),
      // The topic forms clients may subscribe to besides transit's; unset without pipelines.
      ...(pipelines.length > 0
        ? { environment: { PIPELINE_TOPICS: pipelines.flatMap((pipeline) => pipeline.topics).join(',') } }
        : {}),
    }).bindTable('CONNECTIONS_TABLE', connectionsTable, 'readWrite');
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

    const observed = observedPipelines(all);
    const observability = new Observability(this, 'Observability', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      encryptionKey: key,
      ...(props.alarmSubscribers ? { alarmSubscribers: props.alarmSubscribers } : {}),
      functions: { ...observed.functions, wsConnection, wsAuthorizer, broadcaster },
      consumers: { broadcaster },
      streamProcessors: observed.streamProcessors,
      ...(kafka ? { kafkaConsumers: observed.kafkaConsumers } : {}),
      streams: { ...observed.streams, OutputStream: outputStream },
      failureQueues: {
        DeadLetterQueue: deadLetterQueue,
        BroadcasterFailureQueue: broadcasterFailureQueue,
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
      OutputStreamName: outputStream.streamName,
      DeadLetterQueueUrl: deadLetterQueue.queueUrl,
      BroadcasterFailureQueueUrl: broadcasterFailureQueue.queueUrl,
      ConnectionsTableName: connectionsTable.tableName,
      ...distinctOutputs(all),
      ...(kafka ? { KafkaClusterArn: kafka.clusterArn, KafkaTopicName: transit.deployment.kafka.topic } : {}),
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
  }

  /**
   * The Kafka path's shared parts, on a cluster of this stack (`serverless`: network, cluster and the
   * custom-resource function that creates each pipeline's topic) or an existing one; each pipeline adds
   * its topic, Kafka processor and failure queue. Nothing for `none`.
   */
  private addKafkaIngest(kafka: KafkaProps): KafkaIngest | undefined {
    if (kafka.mode === 'none') return undefined;
    const pollers = kafka.pollers ? { pollers: kafka.pollers } : {};
    const group = kafka.consumerGroupId ? { consumerGroupId: kafka.consumerGroupId } : {};
    if (kafka.mode === 'existing') {
      // The cluster, its network and the topics are the account's (docs/contracts.md, Kafka / MSK).
      const cluster = new KafkaClusterArn(kafka.clusterArn);
      return { clusterArn: cluster.clusterArn, pipelines: { cluster, ...pollers }, ...group };
    }
    const network = new KafkaNetwork(this, 'KafkaNetwork');
    const cluster = new KafkaServerlessCluster(this, 'KafkaCluster', { network });
    const topicFunction = new KafkaTopicFunction(this, 'KafkaTopicFunction', { network });
    // Every topic is made by the same function, on the same cluster, after the same endpoints.
    const pipelines = {
      cluster: cluster.arns,
      topicProvider: topicFunction,
      dependsOn: [network.endpoints],
      ...pollers,
    };
    return { clusterArn: cluster.attrArn, pipelines, ...group };
  }
}

/** The settings transit's functions get: the stack's props, the clock-skew tolerance capped as the functions cap it. */
function transitSettings(props: StreamfoldStackProps): Record<string, unknown> {
  const { allowedLateness, maxClockSkew } = EVENT_TIME_SETTINGS;
  // Unset, the clock-skew tolerance is its default capped at half the lateness.
  const maxClockSkewSeconds =
    props.maxClockSkewSeconds ??
    Math.min(maxClockSkew.default, (props.allowedLatenessSeconds ?? allowedLateness.default) / 2);
  return { ...props, maxClockSkewSeconds };
}

const routePath = (route: string) => route.split(' ')[1] ?? '';

/** Every pipeline's outputs; the props check keeps their names apart, and this refuses to let one replace another's. */
function distinctOutputs(pipelines: readonly StreamfoldPipeline[]): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const pipeline of pipelines) {
    for (const [name, value] of Object.entries(pipeline.outputs)) {
      if (name in outputs) throw new Error(`pipeline ${pipeline.deployment.name}: its output ${name} is another's`);
      outputs[name] = value;
    }
  }
  return outputs;
}

/**
 * What the dashboard charts and alarms on for the pipelines, by display name: each name starts with the
 * pipeline's prefix, so the alarms' ids name the pipeline too (transit's have none, as they always had).
 */
function observedPipelines(pipelines: readonly StreamfoldPipeline[]) {
  type Named<T> = readonly (readonly [string, T | undefined])[];
  const named = <T>(entries: Named<T>): Record<string, T> =>
    Object.fromEntries(entries.filter((entry): entry is readonly [string, T] => entry[1] !== undefined));
  return {
    functions: named(
      pipelines.flatMap((p) => Object.entries(p.functions).map(([role, fn]) => [p.named(role), fn] as const)),
    ),
    streamProcessors: named(pipelines.map((p) => [p.named('Processor'), p.processorFunction] as const)),
    kafkaConsumers: named(pipelines.map((p) => [p.named('kafkaProcessor'), p.kafkaProcessorFunction] as const)),
    streams: named(pipelines.map((p) => [`${p.prefix}InputStream`, p.inputStream] as const)),
    failureQueues: named(
      pipelines.flatMap((p) => [
        [`${p.prefix}ProcessorFailureQueue`, p.processorFailureQueue] as const,
        [`${p.prefix}KafkaProcessorFailureQueue`, p.kafkaProcessorFailureQueue] as const,
      ]),
    ),
  };
}

/** What the Kafka path shares with the pipelines, and puts in the outputs. */
interface KafkaIngest {
  clusterArn: string;
  /** The cluster, and how to create topics on it, for the pipelines' Kafka consumers. */
  pipelines: PipelineKafkaProps;
  /** The consumer group the stack's `kafka` prop gives transit's processor. */
  consumerGroupId?: string;
}
