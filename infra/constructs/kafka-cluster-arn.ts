import { Fn, Token } from 'aws-cdk-lib';

/**
 * An MSK cluster ARN: `arn:<partition>:kafka:<region>:<account>:cluster/<clusterName>/<clusterUuid>`
 * (Provisioned and Serverless clusters alike). The name may not contain `/`; the uuid part of a
 * Serverless cluster ends in `-s<n>`, of a Provisioned one in `-<n>`.
 */
export const MSK_CLUSTER_ARN =
  /^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9-]+$/;

/** Whether `arn` is an MSK cluster ARN, or a token that only resolves at deploy time (then unknown, so accepted). */
export function isMskClusterArn(arn: string): boolean {
  return Token.isUnresolved(arn) || MSK_CLUSTER_ARN.test(arn);
}

/**
 * The ARNs that MSK's IAM access control (`kafka-cluster:*` actions) authorizes against, derived from a
 * cluster ARN. Topics and groups are addressed as `<kind>/<clusterName>/<clusterUuid>/<name>`, so they
 * are rebuilt from the cluster ARN's parts; with a token ARN (a cluster in this stack) that is done by
 * CloudFormation (`Fn::Split`/`Fn::Select`), with a literal one at synth time.
 */
export class KafkaClusterArn {
  private readonly prefix: string;
  private readonly clusterPath: string;

  constructor(public readonly clusterArn: string) {
    // arn : partition : kafka : region : account : cluster/<name>/<uuid>
    const parts = Fn.split(':', clusterArn);
    const resource = Fn.split('/', Fn.select(5, parts));
    this.prefix = `arn:${Fn.select(1, parts)}:kafka:${Fn.select(3, parts)}:${Fn.select(4, parts)}`;
    this.clusterPath = `${Fn.select(1, resource)}/${Fn.select(2, resource)}`;
  }

  /** `arn:…:topic/<clusterName>/<clusterUuid>/<topic>`. */
  topicArn(topic: string): string {
    return `${this.prefix}:topic/${this.clusterPath}/${topic}`;
  }

  /** `arn:…:group/<clusterName>/<clusterUuid>/<groupId>`. */
  groupArn(groupId: string): string {
    return `${this.prefix}:group/${this.clusterPath}/${groupId}`;
  }
}
