import { Duration } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type { Construct } from 'constructs';

/** Options of a {@link StreamfoldStream}. */
export interface StreamfoldStreamProps {
  /**
   * Provisioned shards. Per-shard ordering is what keeps a vehicle's events in order, so the
   * stream stays provisioned rather than on-demand.
   * @default 2
   */
  readonly shardCount?: number;
  /**
   * How long records stay readable, which bounds how far a stuck consumer can fall behind.
   * @default Duration.hours(24)
   */
  readonly retentionPeriod?: Duration;
}

/** A Kinesis data stream with the project's defaults: provisioned shards, encrypted with the AWS-managed key. */
export class StreamfoldStream extends kinesis.Stream {
  constructor(scope: Construct, id: string, props: StreamfoldStreamProps = {}) {
    super(scope, id, {
      streamMode: kinesis.StreamMode.PROVISIONED,
      shardCount: props.shardCount ?? 2,
      retentionPeriod: props.retentionPeriod ?? Duration.hours(24),
      encryption: kinesis.StreamEncryption.MANAGED,
    });
  }
}
