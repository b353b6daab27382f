import { CustomResource, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct, IDependable } from 'constructs';
import type { KafkaClusterArn } from './kafka-cluster-arn.js';
import type { KafkaNetwork } from './kafka-network.js';
import { StreamfoldFunction } from './streamfold-function.js';

/** The CloudFormation type of a topic; offline, each becomes a local topic with its `Topic` and `Partitions`. */
export const KAFKA_TOPIC_RESOURCE_TYPE = 'Custom::KafkaTopic';

/** Options of a {@link KafkaTopicFunction}. */
export interface KafkaTopicFunctionProps {
  /** The network of the cluster whose topics it manages. */
  readonly network: KafkaNetwork;
  /**
   * Longest one request may run; the function answers FAILED 10 s before it ends.
   * @default Duration.minutes(2)
   */
  readonly timeout?: Duration;
}

/**
 * The handler of `Custom::KafkaTopic` resources (`functions/kafka-topic.ts`), in the cluster's network:
 * a client of the brokers and of the MSK API endpoint, and able to PUT its answer to S3.
 */
export class KafkaTopicFunction extends StreamfoldFunction {
  constructor(scope: Construct, id: string, props: KafkaTopicFunctionProps) {
    const { network } = props;
    const securityGroup = new ec2.SecurityGroup(scope, `${id}SecurityGroup`, {
      vpc: network.vpc,
      description: 'Kafka topic custom resource: brokers, MSK API and the CloudFormation response URL',
      allowAllOutbound: false,
    });
    // The response URL is in S3, reached through the gateway endpoint. Its prefix list id has no
    // CloudFormation-visible value in an environment-agnostic stack, and the isolated subnets route
    // nothing else outside the VPC, so the rule names 443 to any address.
    securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.HTTPS,
      'CloudFormation response URL (S3, through the gateway endpoint)',
    );
    super(scope, id, {
      entry: 'functions/kafka-topic.ts',
      timeout: props.timeout ?? Duration.minutes(2),
      description: 'Custom::KafkaTopic: creates Kafka topics on MSK',
      environment: { ...network.mskApiClientEnvironment },
      vpc: { vpc: network.vpc, subnets: network.subnets, securityGroups: [securityGroup] },
    });
    network.allowClient(securityGroup, 'Topic custom resource');
  }
}

/** Options of a {@link KafkaTopic}. */
export interface KafkaTopicProps {
  /** The function that handles the resource. */
  readonly provider: KafkaTopicFunction;
  /** The cluster the topic lives on. */
  readonly cluster: KafkaClusterArn;
  /** Topic name. */
  readonly topicName: string;
  /** Partitions; raising it adds partitions, lowering it keeps them (Kafka cannot remove any). */
  readonly partitions: number;
  /**
   * Resources to create before the topic and delete after it, such as the VPC endpoints its handler
   * answers CloudFormation through (without them a Delete would wait an hour for an answer).
   * @default none
   */
  readonly dependsOn?: readonly IDependable[];
}

/**
 * A Kafka topic on an MSK cluster with IAM auth, as a `Custom::KafkaTopic` resource. MSK Serverless has
 * no CloudFormation topic type (`AWS::MSK::Topic` is for Provisioned clusters only). The handler is
 * granted exactly what creating and growing this topic takes.
 */
export class KafkaTopic extends CustomResource {
  /** The topic's name. */
  public readonly topicName: string;

  constructor(scope: Construct, id: string, props: KafkaTopicProps) {
    super(scope, id, {
      serviceToken: props.provider.functionArn,
      resourceType: KAFKA_TOPIC_RESOURCE_TYPE,
      properties: { ClusterArn: props.cluster.clusterArn, Topic: props.topicName, Partitions: props.partitions },
    });
    this.topicName = props.topicName;
    props.provider.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kafka:GetBootstrapBrokers', 'kafka-cluster:Connect'],
        resources: [props.cluster.clusterArn],
      }),
    );
    props.provider.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:CreateTopic', 'kafka-cluster:AlterTopic'],
        resources: [props.cluster.topicArn(props.topicName)],
      }),
    );
    for (const dependency of props.dependsOn ?? []) this.node.addDependency(dependency);
  }
}
