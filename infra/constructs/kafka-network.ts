import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, DependencyGroup } from 'constructs';

/** The broker port of MSK's IAM-authenticated listener (TLS + SASL/OAUTHBEARER). */
export const KAFKA_IAM_PORT = 9098;

/**
 * The MSK API endpoint service. The `com.amazonaws.<region>.kafka` name is closed to new endpoint
 * connections per the MSK guide ("Use Amazon MSK APIs with Interface VPC Endpoints"); its successor is
 * the dual-stack `aws.api.<region>.kafka-api`, whose private DNS name `kafka-api.<region>.api.aws` is the
 * name the AWS SDK uses when dual-stack endpoints are on (see {@link KafkaNetwork.mskApiClientEnvironment}).
 */
const MSK_API_ENDPOINT = new ec2.InterfaceVpcEndpointAwsService('kafka-api', 'aws.api');

/** Options of a {@link KafkaNetwork}. */
export interface KafkaNetworkProps {
  /**
   * Availability zones, one isolated subnet each. MSK Serverless needs subnets in at least two.
   * @default 2
   */
  readonly maxAzs?: number;
  /**
   * How long VPC flow logs are kept (in the Streamfold stack, its `logRetention` setting wins).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * The private network of an MSK Serverless cluster: a VPC with isolated subnets only (no NAT, no
 * internet gateway), flow logs, and the VPC endpoints that take the place of a NAT:
 * - Lambda and STS: the MSK event-source mapping's pollers, which run in these subnets with the
 *   cluster's security group, invoke the function and assume its role through them;
 * - SQS: the mapping's on-failure destination;
 * - the MSK API and an S3 gateway: the topic custom resource reads the bootstrap brokers and answers
 *   CloudFormation at a presigned S3 URL.
 *
 * Security groups (the rules of AWS's "Configuring your Amazon MSK cluster and Amazon VPC network for
 * Lambda"): the cluster's group admits the broker port from itself (the pollers use it) and from each
 * client added with {@link allowClient}, and may send only to itself on that port and to the endpoints
 * on 443; the endpoints' group admits 443 from the cluster's group and from the clients.
 */
export class KafkaNetwork extends Construct {
  /** The VPC. */
  public readonly vpc: ec2.Vpc;
  /** The isolated subnets the cluster and its clients use. */
  public readonly subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  /** Security group of the cluster's endpoints and of the event-source mapping's pollers. */
  public readonly clusterSecurityGroup: ec2.SecurityGroup;
  /** Security group of the interface endpoints. */
  public readonly endpointSecurityGroup: ec2.SecurityGroup;
  /** Everything that must exist before a client can use the network (the VPC endpoints). */
  public readonly endpoints = new DependencyGroup();
  /**
   * Environment for a function that calls the MSK API from this network: the SDK then uses the
   * dual-stack name that the MSK API endpoint resolves privately.
   */
  public readonly mskApiClientEnvironment: Readonly<Record<string, string>> = { AWS_USE_DUALSTACK_ENDPOINT: 'true' };

  constructor(scope: Construct, id: string, props: KafkaNetworkProps = {}) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs ?? 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      // CDK restricts the default group with its own custom-resource Lambda, which has no source entry the
      // local runtime could run; nothing uses the default group here.
      restrictDefaultSecurityGroup: false,
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.clusterSecurityGroup = new ec2.SecurityGroup(this, 'ClusterSecurityGroup', {
      vpc: this.vpc,
      description: 'MSK cluster endpoints and the Lambda event-source pollers that use them',
      allowAllOutbound: false,
    });
    this.clusterSecurityGroup.connections.allowInternally(
      ec2.Port.tcp(KAFKA_IAM_PORT),
      'Event-source pollers to brokers (IAM)',
    );
    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface VPC endpoints (Lambda, STS, SQS, MSK API)',
      allowAllOutbound: false,
    });

    const interfaceEndpoints = {
      LambdaEndpoint: ec2.InterfaceVpcEndpointAwsService.LAMBDA,
      StsEndpoint: ec2.InterfaceVpcEndpointAwsService.STS,
      SqsEndpoint: ec2.InterfaceVpcEndpointAwsService.SQS,
      KafkaApiEndpoint: MSK_API_ENDPOINT,
    };
    for (const [name, service] of Object.entries(interfaceEndpoints)) {
      this.endpoints.add(
        this.vpc.addInterfaceEndpoint(name, {
          service,
          subnets: this.subnets,
          securityGroups: [this.endpointSecurityGroup],
          privateDnsEnabled: true,
          // Only the groups allowed below may connect, not the whole VPC CIDR.
          open: false,
        }),
      );
    }
    this.endpoints.add(
      this.vpc.addGatewayEndpoint('S3Endpoint', {
        service: ec2.GatewayVpcEndpointAwsService.S3,
        subnets: [this.subnets],
      }),
    );
    this.allowToEndpoints(this.clusterSecurityGroup, 'Event-source pollers');
  }

  /** Lets `client` reach the brokers on the IAM port and the VPC endpoints. */
  allowClient(client: ec2.ISecurityGroup, description: string): void {
    this.clusterSecurityGroup.addIngressRule(client, ec2.Port.tcp(KAFKA_IAM_PORT), `${description} to brokers`);
    client.addEgressRule(this.clusterSecurityGroup, ec2.Port.tcp(KAFKA_IAM_PORT), `${description} to brokers`);
    this.allowToEndpoints(client, description);
  }

  private allowToEndpoints(client: ec2.ISecurityGroup, description: string): void {
    this.endpointSecurityGroup.addIngressRule(client, ec2.Port.HTTPS, `${description} to AWS APIs`);
    client.addEgressRule(this.endpointSecurityGroup, ec2.Port.HTTPS, `${description} to AWS APIs`);
  }
}
