import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledgeControl } from '../control-tower.js';
import { acknowledgeNag } from '../nag.js';

/** Options of a {@link StreamfoldQueue}. */
export interface StreamfoldQueueProps {
  /**
   * How long a message waits to be inspected or redriven. These queues hold failures that a
   * person looks at, so they keep messages for the SQS maximum.
   * @default Duration.days(14)
   */
  readonly retentionPeriod?: Duration;
}

/**
 * An SQS queue that collects failures (invalid events, failed stream batches): encrypted with the
 * SQS-managed key, TLS-only, and retained for the maximum so nothing expires before someone looks.
 */
export class StreamfoldQueue extends sqs.Queue {
  constructor(scope: Construct, id: string, props: StreamfoldQueueProps = {}) {
    super(scope, id, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.retentionPeriod ?? Duration.days(14),
    });
    const terminal =
      'This queue is itself the terminal failure destination (invalid events or abandoned stream batches); ' +
      'messages are inspected and redriven by an operator, and a further DLQ would only move them again.';
    acknowledgeNag(this, 'AwsSolutions-SQS3', terminal);
    acknowledgeControl(this, 'CT.SQS.PR.1', terminal);
  }
}
