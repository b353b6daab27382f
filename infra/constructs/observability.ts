import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './streamfold-function.js';

/** The application metrics the functions publish, grouped by dashboard widget (docs/contracts.md). */
export const APPLICATION_METRICS = {
  Ingest: ['EventsAccepted', 'EventsRejected', 'EventsProcessed', 'DuplicatesSkipped', 'LateEvents'],
  'Read models': ['WindowsWritten', 'AnomaliesDetected', 'EtasWritten', 'ConditionalRetries'],
  Broadcast: ['BroadcastsSent', 'ConnectionsGone'],
} as const satisfies Record<string, readonly string[]>;

/** Options of an {@link Observability} construct. */
export interface ObservabilityProps {
  /**
   * Dashboard name, unique per account and region.
   * @default 'Streamfold'
   */
  readonly dashboardName?: string;
  /** Functions to chart errors, duration and throttles of, by display name. */
  readonly functions: Record<string, lambda.IFunction>;
  /** Consumers of the output stream: their iterator age is charted. */
  readonly consumers: { readonly broadcaster: lambda.IFunction };
  /**
   * The pipelines' processors on their input streams, by display name: their iterator age is charted, and
   * each has its alarm (`<name>IteratorAgeAlarm`: transit's is `ProcessorIteratorAgeAlarm`, as it always was).
   */
  readonly streamProcessors: Record<string, lambda.IFunction>;
  /**
   * Kafka consumers (functions on MSK event sources): their `OffsetLag` is charted and alarmed on.
   * @default none
   */
  readonly kafkaConsumers?: Record<string, lambda.IFunction>;
  /**
   * `OffsetLag` (records behind the newest offset, highest partition) above which a Kafka consumer's alarm fires.
   * @default 10_000 (20 full batches of 500)
   */
  readonly offsetLagThreshold?: number;
  /** Streams to chart the read iterator age of, by display name. */
  readonly streams: Record<string, kinesis.IStream>;
  /** Failure queues: charted, and alarmed on as soon as they hold a message. */
  readonly failureQueues: Record<string, sqs.IQueue>;
  /** Key that encrypts the alarm topic; its policy must let CloudWatch alarms use it. */
  readonly encryptionKey: kms.IKey;
  /**
   * Who hears of alarms: each an email address, or the ARN of an SQS queue or Lambda function (which
   * must let the topic deliver to it). Every alarm notifies the alarm topic when it fires and when it clears.
   * @default none: the topic has no subscriber until one is added
   */
  readonly alarmSubscribers?: readonly string[];
  /**
   * Processor iterator age above which the alarm fires.
   * @default Duration.minutes(2)
   */
  readonly iteratorAgeThreshold?: Duration;
}

/** Sum of one application metric across every service that emits it (Powertools adds a `service` dimension). */
function applicationMetric(metricName: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SUM(SEARCH('{${METRICS_NAMESPACE},service} MetricName="${metricName}"', 'Sum', 60))`,
    label: metricName,
    period: Duration.minutes(1),
  });
}

/**
 * The Streamfold dashboard and alarms: application metrics, stream and Kafka lag, function health and
 * failure queues.
 */
export class Observability extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by name. */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};
  /** The topic every alarm notifies. */
  public readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Streamfold alarms',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    (props.alarmSubscribers ?? []).forEach((subscriber, index) => {
      new sns.Subscription(this, `AlarmSubscriber${index}`, {
        topic: this.alarmTopic,
        ...alarmSubscription(subscriber),
      });
    });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? 'Streamfold',
      defaultInterval: Duration.hours(3),
    });

    this.dashboard.addWidgets(
      ...Object.entries(APPLICATION_METRICS).map(
        ([title, names]) =>
          new cloudwatch.GraphWidget({ title, width: 8, left: names.map((name) => applicationMetric(name)) }),
      ),
    );

    const consumers = Object.entries({ ...props.streamProcessors, ...props.consumers });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Kinesis iterator age (ms)',
        width: 12,
        left: Object.entries(props.streams).map(([name, stream]) =>
          stream.metricGetRecordsIteratorAgeMilliseconds({ label: name, statistic: 'Maximum' }),
        ),
        right: consumers.map(([name, fn]) =>
          fn.metric('IteratorAge', { label: `${name} IteratorAge`, statistic: 'Maximum' }),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: 'Failure queue depth',
        width: 12,
        left: Object.entries(props.failureQueues).map(([name, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({ label: name, statistic: 'Maximum' }),
        ),
      }),
    );

    const kafkaConsumers = Object.entries(props.kafkaConsumers ?? {});
    if (kafkaConsumers.length > 0) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Kafka offset lag (records)',
          width: 12,
          left: kafkaConsumers.map(([name, fn]) =>
            fn.metric('OffsetLag', { label: `${name} OffsetLag`, statistic: 'Maximum' }),
          ),
        }),
      );
    }

    const functions = Object.entries(props.functions);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Lambda errors',
        width: 8,
        left: functions.map(([name, fn]) => fn.metricErrors({ label: name })),
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda duration p99 (ms)',
        width: 8,
        left: functions.map(([name, fn]) => fn.metricDuration({ label: name, statistic: 'p99' })),
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda throttles',
        width: 8,
        left: functions.map(([name, fn]) => fn.metricThrottles({ label: name })),
      }),
    );

    for (const [name, queue] of Object.entries(props.failureQueues)) {
      // Any message here is an event or batch that was dropped from the pipeline: worth a look at once.
      this.alarms[`${name}Depth`] = queue
        .metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) })
        .createAlarm(this, `${name}DepthAlarm`, {
          alarmDescription: `${name} holds messages`,
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
    }

    const threshold = props.iteratorAgeThreshold ?? Duration.minutes(2);
    for (const [name, fn] of Object.entries(props.streamProcessors)) {
      this.alarms[`${name}IteratorAge`] = fn
        .metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) })
        .createAlarm(this, `${name}IteratorAgeAlarm`, {
          alarmDescription: `${name} is more than ${threshold.toHumanString()} behind its input stream`,
          threshold: threshold.toMilliseconds(),
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
    }

    const offsetLagThreshold = props.offsetLagThreshold ?? 10_000;
    for (const [name, fn] of kafkaConsumers) {
      const id = `${name.charAt(0).toUpperCase()}${name.slice(1)}OffsetLag`;
      this.alarms[id] = fn
        .metric('OffsetLag', { statistic: 'Maximum', period: Duration.minutes(1) })
        .createAlarm(this, `${id}Alarm`, {
          alarmDescription: `${name} is more than ${offsetLagThreshold} records behind its Kafka topic`,
          threshold: offsetLagThreshold,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
    }

    const action = new actions.SnsAction(this.alarmTopic);
    for (const alarm of Object.values(this.alarms)) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}

/** The protocol and endpoint of an alarm subscriber (see {@link ObservabilityProps.alarmSubscribers}). */
export function alarmSubscription(subscriber: string): { protocol: sns.SubscriptionProtocol; endpoint: string } {
  if (/^arn:[^:]+:sqs:/.test(subscriber)) return { protocol: sns.SubscriptionProtocol.SQS, endpoint: subscriber };
  if (/^arn:[^:]+:lambda:/.test(subscriber)) return { protocol: sns.SubscriptionProtocol.LAMBDA, endpoint: subscriber };
  return { protocol: sns.SubscriptionProtocol.EMAIL, endpoint: subscriber };
}
