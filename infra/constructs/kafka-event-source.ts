import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IDependable } from 'constructs';
import { acknowledgeNag } from '../nag.js';
import type { KafkaClusterArn } from './kafka-cluster-arn.js';

/** The consumer group of the Kafka processor (docs/contracts.md). */
export const KAFKA_CONSUMER_GROUP = 'streamfold-processor';

/**
 * Provisioned-mode pollers of a Kafka event-source mapping. Lambda offers bisect, bounded retries, a
 * maximum record age and on-failure destinations for Kafka only in provisioned mode, which bills per
 * poller-hour even when idle.
 */
export interface KafkaPollers {
  /**
   * Pollers kept running (1-200).
   * @default 1
   */
  readonly minimum?: number;
  /**
   * Pollers Lambda may scale up to (1-2000, at least `minimum`).
   * @default 2
   */
  readonly maximum?: number;
}

/** Options of a {@link KafkaEventSource}; everything but the cluster, topic and `onFailure` has a default. */
export interface KafkaEventSourceProps {
  /** The MSK cluster (IAM authentication). */
  readonly cluster: KafkaClusterArn;
  /** Topic to consume. */
  readonly topic: string;
  /** Where Lambda sends the metadata of a batch it gave up on. */
  readonly onFailure: sqs.IQueue;
  /**
   * Consumer group the mapping joins; fixed once the mapping exists.
   * @default 'streamfold-processor'
   */
  readonly consumerGroupId?: string;
  /**
   * Records per invocation.
   * @default 500
   */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers records before invoking.
   * @default Duration.seconds(1)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failing batch (after bisection) before it goes to `onFailure`.
   * @default 5
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to `onFailure` instead of being processed.
   * @default Duration.hours(1)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Where a new consumer group starts reading.
   * @default lambda.StartingPosition.TRIM_HORIZON
   */
  readonly startingPosition?: lambda.StartingPosition;
  /**
   * Provisioned pollers.
   * @default { minimum: 1, maximum: 2 }
   */
  readonly pollers?: KafkaPollers;
  /**
   * Resources the mapping must be created after and deleted before: the topic, and the VPC endpoints
   * its pollers reach Lambda, STS and SQS through.
   * @default none
   */
  readonly dependsOn?: readonly IDependable[];
}

/**
 * The one place the project's MSK event-source defaults live, like `StreamEventSource` for Kinesis:
 * split a failing batch, retry a bounded number of times, drop records that are too old, send what is
 * given up on to a queue, and emit the mapping's event, error and Kafka metrics (OffsetLag).
 * No partial batch response: `functions/kafka-processor.ts` fails whole batches. Binding also grants
 * the function role the `kafka-cluster` data-plane actions that a mapping with IAM auth consumes with.
 */
export class KafkaEventSource extends sources.ManagedKafkaEventSource {
  private readonly options: KafkaEventSourceProps;

  constructor(props: KafkaEventSourceProps) {
    super({
      clusterArn: props.cluster.clusterArn,
      topic: props.topic,
      consumerGroupId: props.consumerGroupId ?? KAFKA_CONSUMER_GROUP,
      startingPosition: props.startingPosition ?? lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 500,
      maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(1),
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 5,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(1),
      reportBatchItemFailures: false,
      onFailure: new sources.SqsDlq(props.onFailure),
      provisionedPollerConfig: {
        minimumPollers: props.pollers?.minimum ?? 1,
        maximumPollers: props.pollers?.maximum ?? 2,
      },
      metricsConfig: {
        metrics: [lambda.MetricType.EVENT_COUNT, lambda.MetricType.ERROR_COUNT, lambda.MetricType.KAFKA_METRICS],
      },
    });
    this.options = props;
  }

  override bind(target: lambda.IFunction): void {
    super.bind(target);
    const { cluster, topic } = this.options;
    const group = this.options.consumerGroupId ?? KAFKA_CONSUMER_GROUP;
    target.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'],
        resources: [cluster.clusterArn],
      }),
    );
    target.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        resources: [cluster.topicArn(topic)],
      }),
    );
    target.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
        resources: [cluster.groupArn(group)],
      }),
    );
    if (target.role) {
      acknowledgeNag(
        target.role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole]',
        "CDK's ManagedKafkaEventSource always attaches it: the AWS-maintained minimum for MSK mappings (DescribeClusterV2, " +
          'GetBootstrapBrokers and the ENI actions of the pollers, none of which take resource ARNs).',
      );
    }
    const mapping = target.node.children.find(
      (child): child is lambda.EventSourceMapping =>
        child instanceof lambda.EventSourceMapping && child.eventSourceMappingId === this.eventSourceMappingId,
    );
    if (!mapping) throw new Error(`no event-source mapping for ${topic} on ${target.node.path}`);
    for (const dependency of this.options.dependsOn ?? []) mapping.node.addDependency(dependency);
  }
}
