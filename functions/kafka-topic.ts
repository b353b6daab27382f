/**
 * CloudFormation custom resource `Custom::KafkaTopic` (properties `ClusterArn`, `Topic`, `Partitions`):
 * creates a topic on an MSK cluster with IAM authentication. MSK Serverless has no CloudFormation topic
 * resource, and the CDK custom-resource framework's own functions cannot run offline, so this function
 * answers CloudFormation's protocol itself: it PUTs the result to the presigned `ResponseURL`.
 *
 * - Create: creates the topic, or accepts it when it already exists (idempotent, so a retried or
 *   re-imported resource does not fail).
 * - Update: raises the partition count when `Partitions` grows. Kafka cannot remove partitions, so a
 *   topic that already has more keeps them (logged, and returned as the `Partitions` attribute): failing
 *   instead would wedge the rollback of an update that had raised them.
 * - Delete: leaves the topic, and always succeeds. Deleting it would drop every retained event
 *   irreversibly, which an update that renames the topic must not do; when the stack itself goes, the
 *   cluster and its topics go with it.
 */
import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import type { Admin } from 'kafkajs';
import { kafkaClient } from '../shared/kafka/client.js';
import { withPowertools } from '../shared/lambda.js';
import { logger } from '../shared/observability.js';

/** The resource's properties are invalid, or the topic cannot be brought to them. */
export class KafkaTopicError extends Error {
  override name = 'KafkaTopicError';
}

/** The CloudFormation response could not be delivered to the `ResponseURL`. */
export class ResponseDeliveryError extends Error {
  override name = 'ResponseDeliveryError';
}

/** What the handler needs from a Kafka admin client; small so tests can fake it. */
export interface TopicAdmin {
  /** Partition count of `topic`, or `undefined` when it does not exist. */
  partitionCount(topic: string): Promise<number | undefined>;
  /** Creates `topic`; a topic created concurrently in between is not an error. */
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Raises the partition count of `topic` to `count`. */
  createPartitions(topic: string, count: number): Promise<void>;
  disconnect(): Promise<void>;
}

/** The handler's collaborators. */
export interface KafkaTopicDeps {
  /** Connects an admin client to the cluster `clusterArn`. */
  connectAdmin(clusterArn: string): Promise<TopicAdmin>;
  /**
   * HTTP client for the response PUT.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /**
   * How long before the function's deadline to give up and answer FAILED, so CloudFormation never
   * waits an hour for an answer that a timed-out function cannot send.
   * @default 10_000
   */
  deadlineMarginMs?: number;
  /**
   * Pause before retrying a failed response PUT (multiplied by the attempt number).
   * @default 1_000
   */
  responseRetryDelayMs?: number;
}

/** The body CloudFormation expects at the `ResponseURL`. */
export interface CustomResourceResponse {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, string>;
}

interface TopicProperties {
  clusterArn: string;
  topic: string;
  partitions: number;
}

/** An MSK cluster ARN; its fourth field is the region the IAM token is signed for. */
const CLUSTER_ARN = /^arn:aws[a-z-]*:kafka:([a-z0-9-]+):\d{12}:cluster\/[^/]+\/[^/]+$/;
const RESPONSE_ATTEMPTS = 3;
// CloudFormation accepts response bodies up to 4 KB; the reason is the only unbounded part.
const MAX_REASON_LENGTH = 1_000;

/** `ClusterArn`, `Topic` and `Partitions` (CloudFormation passes every property value as a string). */
export function topicProperties(properties: Record<string, unknown>): TopicProperties {
  const problems: string[] = [];
  const clusterArn = properties['ClusterArn'];
  const topic = properties['Topic'];
  const partitions = Number(properties['Partitions']);
  if (typeof clusterArn !== 'string' || !CLUSTER_ARN.test(clusterArn)) {
    problems.push(`ClusterArn must be an MSK cluster ARN, got ${String(clusterArn)}`);
  }
  if (typeof topic !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
    problems.push('Topic must be 1-249 characters of letters, digits, ".", "_" and "-"');
  }
  if (!(Number.isInteger(partitions) && partitions >= 1)) {
    problems.push(`Partitions must be a whole number >= 1, got ${String(properties['Partitions'])}`);
  }
  if (problems.length > 0) throw new KafkaTopicError(problems.join('; '));
  return { clusterArn: clusterArn as string, topic: topic as string, partitions };
}

/** Physical id: the topic on its cluster, so a new topic name or a new cluster is a replacement. */
export const physicalResourceId = (properties: TopicProperties) => `${properties.topic}@${properties.clusterArn}`;

/** What {@link ensureTopic} did, and the partition count the topic has now. */
export interface TopicOutcome {
  action: 'created' | 'unchanged' | 'partitions-added' | 'kept-more-partitions';
  partitions: number;
}

/** Brings `topic` to at least `partitions` partitions (Kafka cannot remove any). */
export async function ensureTopic(admin: TopicAdmin, topic: string, partitions: number): Promise<TopicOutcome> {
  const current = await admin.partitionCount(topic);
  if (current === undefined) {
    await admin.createTopic(topic, partitions);
    return { action: 'created', partitions };
  }
  if (current === partitions) return { action: 'unchanged', partitions };
  if (current > partitions) {
    logger.warn('topic has more partitions than declared; Kafka cannot remove partitions', {
      topic,
      current,
      partitions,
    });
    return { action: 'kept-more-partitions', partitions: current };
  }
  await admin.createPartitions(topic, partitions);
  return { action: 'partitions-added', partitions };
}

/** Rejects after `ms`, for racing work against the function's deadline. */
function deadline(ms: number): { promise: Promise<never>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KafkaTopicError(`no result within ${ms} ms, giving up`)), Math.max(0, ms));
  });
  return { promise, clear: () => clearTimeout(timer) };
}

/** PUTs `response` to the presigned `url`, retrying transient failures. */
export async function sendResponse(
  url: string,
  response: CustomResourceResponse,
  options: { fetch?: typeof fetch; retryDelayMs?: number } = {},
): Promise<void> {
  const send = options.fetch ?? globalThis.fetch;
  const body = JSON.stringify(response);
  let lastError: unknown;
  for (let attempt = 1; attempt <= RESPONSE_ATTEMPTS; attempt++) {
    try {
      // The URL is presigned without a content type, so none may be sent (fetch would add text/plain).
      const reply = await send(url, { method: 'PUT', body, headers: { 'content-type': '' } });
      if (reply.ok) return;
      lastError = new ResponseDeliveryError(`response URL answered ${reply.status}`);
    } catch (error) {
      lastError = error;
    }
    if (attempt < RESPONSE_ATTEMPTS) {
      await new Promise((resolve) => setTimeout(resolve, (options.retryDelayMs ?? 1_000) * attempt));
    }
  }
  throw new ResponseDeliveryError(`could not deliver the ${response.Status} response`, { cause: lastError });
}

/** The custom-resource handler around `deps`; exported so tests can run it without AWS. */
export function kafkaTopicHandler(deps: KafkaTopicDeps) {
  return async (event: CloudFormationCustomResourceEvent, context: Context): Promise<void> => {
    const base = {
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    };
    const previousId = 'PhysicalResourceId' in event ? event.PhysicalResourceId : undefined;
    // Until the properties are known, the previous id (Update, Delete) or the log stream (as cfn-response does).
    let physicalId = previousId ?? context.logStreamName;
    let response: CustomResourceResponse;
    const timeout = deadline(context.getRemainingTimeInMillis() - (deps.deadlineMarginMs ?? 10_000));
    try {
      if (event.RequestType === 'Delete') {
        logger.info('leaving the topic in place', { physicalResourceId: physicalId });
        response = { ...base, Status: 'SUCCESS', PhysicalResourceId: physicalId };
      } else {
        const properties = topicProperties(event.ResourceProperties);
        physicalId = physicalResourceId(properties);
        const work = apply(deps, properties);
        // Past the deadline the work is abandoned; its late failure must not crash the runtime.
        work.catch(() => undefined);
        const outcome = await Promise.race([work, timeout.promise]);
        logger.info('topic ready', { requestType: event.RequestType, topic: properties.topic, ...outcome });
        response = {
          ...base,
          Status: 'SUCCESS',
          PhysicalResourceId: physicalId,
          Data: { TopicName: properties.topic, Partitions: String(outcome.partitions) },
        };
      }
    } catch (error) {
      logger.error('topic request failed', { requestType: event.RequestType, error });
      const message = error instanceof Error ? error.message : String(error);
      response = {
        ...base,
        Status: 'FAILED',
        // A failed update keeps its resource: answering with a new id would tell CloudFormation otherwise.
        PhysicalResourceId: previousId ?? physicalId,
        Reason: `${message} (log stream ${context.logStreamName})`.slice(0, MAX_REASON_LENGTH),
      };
    } finally {
      timeout.clear();
    }
    await sendResponse(event.ResponseURL, response, {
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.responseRetryDelayMs !== undefined ? { retryDelayMs: deps.responseRetryDelayMs } : {}),
    });
  };
}

async function apply(deps: KafkaTopicDeps, properties: TopicProperties) {
  const admin = await deps.connectAdmin(properties.clusterArn);
  try {
    return await ensureTopic(admin, properties.topic, properties.partitions);
  } finally {
    await admin.disconnect().catch((error: unknown) => logger.warn('admin disconnect failed', { error }));
  }
}

/** kafkajs' admin behind {@link TopicAdmin}. */
export function topicAdmin(admin: Admin): TopicAdmin {
  return {
    async partitionCount(topic) {
      if (!(await admin.listTopics()).includes(topic)) return undefined;
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics[0]?.partitions.length;
    },
    async createTopic(topic, partitions) {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    },
    async createPartitions(topic, count) {
      await admin.createPartitions({ topicPartitions: [{ topic, count }] });
    },
    disconnect: () => admin.disconnect(),
  };
}

// MSK Serverless exposes no bootstrap brokers to CloudFormation: they come from the MSK API, reached
// through the VPC's interface endpoint (the stack sets AWS_USE_DUALSTACK_ENDPOINT to match it).
const msk = new KafkaClient({
  requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
});

/** An admin client on an MSK cluster with IAM authentication, in the cluster's own region. */
async function connectMskAdmin(clusterArn: string): Promise<TopicAdmin> {
  const { BootstrapBrokerStringSaslIam: brokers } = await msk.send(
    new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }),
  );
  if (!brokers) throw new KafkaTopicError(`cluster ${clusterArn} has no IAM bootstrap brokers (IAM auth off?)`);
  const region = CLUSTER_ARN.exec(clusterArn)?.[1];
  if (!region) throw new KafkaTopicError(`not an MSK cluster ARN: ${clusterArn}`);
  const admin = kafkaClient({
    brokers: brokers.split(','),
    clientId: 'streamfold-kafka-topic',
    iamRegion: region,
  }).admin();
  await admin.connect();
  return topicAdmin(admin);
}

export const handler = withPowertools(kafkaTopicHandler({ connectAdmin: connectMskAdmin }));
