import { Stack } from 'aws-cdk-lib';
import * as msk from 'aws-cdk-lib/aws-msk';
import type { Construct } from 'constructs';
import { KafkaClusterArn } from './kafka-cluster-arn.js';
import type { KafkaNetwork } from './kafka-network.js';

/** Options of a {@link KafkaServerlessCluster}. */
export interface KafkaServerlessClusterProps {
  /** The network the cluster's endpoints live in: its isolated subnets and its cluster security group. */
  readonly network: KafkaNetwork;
  /**
   * Cluster name (part of every topic and group ARN that IAM policies name). Changing it replaces the cluster.
   * @default `<stack name>-kafka`
   */
  readonly clusterName?: string;
}

/**
 * An MSK Serverless cluster with IAM client authentication (the only kind Serverless offers, and the one
 * `shared/kafka/client.ts` speaks), in the isolated subnets of its {@link KafkaNetwork}.
 */
export class KafkaServerlessCluster extends msk.CfnServerlessCluster {
  /** The cluster's ARN and the topic and group ARNs derived from it. */
  public readonly arns: KafkaClusterArn;

  constructor(scope: Construct, id: string, props: KafkaServerlessClusterProps) {
    const { network } = props;
    super(scope, id, {
      clusterName: props.clusterName ?? `${Stack.of(scope).stackName}-kafka`,
      clientAuthentication: { sasl: { iam: { enabled: true } } },
      vpcConfigs: [
        {
          subnetIds: network.vpc.selectSubnets(network.subnets).subnetIds,
          securityGroups: [network.clusterSecurityGroup.securityGroupId],
        },
      ],
    });
    this.arns = new KafkaClusterArn(this.attrArn);
  }
}
