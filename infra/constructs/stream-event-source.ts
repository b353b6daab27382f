import { Duration } from 'aws-cdk-lib';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';

/** Options of a {@link StreamEventSource}; everything but `onFailure` has a safe default. */
export interface StreamEventSourceProps {
  /** Where Lambda sends the metadata of a batch it gave up on. */
  readonly onFailure: sqs.IQueue;
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
   * Retries of a failing batch (after bisection) before it goes to `onFailure`. Bounded, so one
   * poison record cannot block a shard.
   * @default 5
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to `onFailure` instead of being processed.
   * @default Duration.hours(1)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Concurrent batches per shard. Above 1, records of the same vehicle may be processed out of order.
   * @default 1
   */
  readonly parallelizationFactor?: number;
  /**
   * Where a new mapping starts reading.
   * @default lambda.StartingPosition.TRIM_HORIZON
   */
  readonly startingPosition?: lambda.StartingPosition;
}

/**
 * The one place the project's Kinesis event-source defaults live (after AWS Solutions Constructs'
 * `lambda-event-source-mapping-defaults`): split a failing batch, retry a bounded number of times,
 * drop records that are too old, report partial batch failures, and send what is given up on to a queue.
 */
export class StreamEventSource extends sources.KinesisEventSource {
  constructor(stream: kinesis.IStream, props: StreamEventSourceProps) {
    super(stream, {
      startingPosition: props.startingPosition ?? lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 500,
      maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(1),
      parallelizationFactor: props.parallelizationFactor ?? 1,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: props.retryAttempts ?? 5,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(1),
      onFailure: new sources.SqsDlq(props.onFailure),
    });
  }
}
