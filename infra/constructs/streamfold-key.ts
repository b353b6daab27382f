import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/**
 * The stack's customer-managed KMS key: it encrypts the log groups (CloudWatch Logs uses it for the log
 * groups of this account and region only) and the alarm topic (CloudWatch alarms publish to it). Rotated
 * yearly; KMS grants may only be created for AWS resources by AWS services (Control Tower CT.KMS.PR.3).
 */
export class StreamfoldKey extends kms.Key {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      description: 'Streamfold: log groups and the alarm topic',
      enableKeyRotation: true,
    });
    const { region, account, partition } = Stack.of(this);
    // The statement of the CloudWatch Logs guide ("Encrypt log data in CloudWatch Logs using AWS KMS").
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogs',
        principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${account}:log-group:*` },
        },
      }),
    );
    // CloudWatch alarms publish to an encrypted topic only if they may use its key.
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'GrantsOnlyForAwsResources',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
        },
      }),
    );
  }
}
