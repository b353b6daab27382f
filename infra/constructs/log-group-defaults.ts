import type { IAspect } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { suppressControl } from '../control-tower.js';

/** Options of {@link LogGroupDefaults}. */
export interface LogGroupDefaultsProps {
  /** How long every log group keeps its logs. */
  readonly retention: logs.RetentionDays;
  /**
   * Key that encrypts every log group; its policy must let CloudWatch Logs use it.
   * @default CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * One retention and one key for every log group of a stack (functions, API access logs, VPC flow logs),
 * so that a stack setting reaches them all, whichever construct made them: the stack setting wins over
 * a construct's own retention. Where the settings ask for less than Control Tower does (no key, under a
 * year), the control is suppressed naming the setting: a deliberate choice, not a regression. (An account
 * that enforces the proactive controls would still refuse such a stack.)
 */
export class LogGroupDefaults implements IAspect {
  constructor(private readonly props: LogGroupDefaultsProps) {}

  visit(node: IConstruct): void {
    if (!(node instanceof logs.CfnLogGroup)) return;
    // As logs.LogGroup renders it: INFINITE is no retention at all.
    node.retentionInDays = this.props.retention === logs.RetentionDays.INFINITE ? undefined : this.props.retention;
    // The key policy is part of the key, so referencing its ARN orders the log group after it.
    if (this.props.encryptionKey && node.kmsKeyId === undefined) node.kmsKeyId = this.props.encryptionKey.keyArn;
    if (!this.props.encryptionKey) {
      suppressControl(node, 'CT.CLOUDWATCH.PR.3', 'Switched off by the stack setting logEncryption: false.');
    }
    if (this.props.retention < logs.RetentionDays.ONE_YEAR) {
      suppressControl(
        node,
        'CT.CLOUDWATCH.PR.2',
        `Shortened by the stack setting logRetention (${this.props.retention} days).`,
      );
    }
  }
}
