import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { InvalidStreamfoldPropsError, type StreamfoldStackProps } from '../../infra/stack-props.js';
import {
  buildApp,
  cdkJsonContext,
  KAFKA_CONTEXT_KEY,
  MSK_CLUSTER_ARN_CONTEXT_KEY,
  NO_BUNDLING_CONTEXT,
} from '../../infra/streamfold-app.js';
import type { StreamfoldStack } from '../../infra/streamfold-stack.js';
import { buildStack, synthTemplate, synthTemplateJson, type TemplateJson } from '../helpers/synth.js';

const EXISTING_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/shared-kafka/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab-3';

type Resources = TemplateJson['Resources'];

/** Logical ids of the resources of `type`, optionally only those whose id starts with `prefix`. */
function idsOf(resources: Resources, type: string, prefix = ''): string[] {
  return Object.keys(resources).filter((id) => resources[id]?.Type === type && id.startsWith(prefix));
}

function onlyId(resources: Resources, type: string, prefix: string): string {
  const ids = idsOf(resources, type, prefix);
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

/** The Kafka event-source mapping (the one with `Topics`). */
function kafkaMapping(resources: Resources) {
  const mappings = Object.values(resources).filter(
    (resource) => resource.Type === 'AWS::Lambda::EventSourceMapping' && resource.Properties?.['Topics'],
  );
  expect(mappings).toHaveLength(1);
  return mappings[0]! as Resources[string] & { DependsOn?: string[] };
}

/** Every statement of the default policy of `<name>ServiceRole`. */
function statementsOf(resources: Resources, name: string): { Action: string | string[]; Resource: unknown }[] {
  const role = onlyId(resources, 'AWS::IAM::Role', `${name}ServiceRole`);
  const policy = Object.values(resources).find(
    (resource) =>
      resource.Type === 'AWS::IAM::Policy' && JSON.stringify(resource.Properties?.['Roles']) === `[{"Ref":"${role}"}]`,
  );
  if (!policy) throw new Error(`no policy for ${role}`);
  const { PolicyDocument } = policy.Properties as {
    PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
  };
  return PolicyDocument.Statement;
}

/** The statement of `name`'s policy that allows `action`. */
function statementAllowing(resources: Resources, name: string, action: string) {
  const statement = statementsOf(resources, name).find((candidate) => [candidate.Action].flat().includes(action));
  if (!statement) throw new Error(`${name} is not allowed ${action}`);
  return statement;
}

/** Unacknowledged cdk-nag findings of a stack. */
function nagViolations(stack: StreamfoldStack): string[] {
  return new AwsSolutionsChecks(undefined, { verbose: false })
    .validateScope(stack)
    .violations.map(
      (violation) => `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath)}`,
    );
}

const synth = (props: StreamfoldStackProps) => Template.fromStack(buildStack(props)).toJSON() as TemplateJson;

describe('Kafka path, serverless (the default)', () => {
  const template = synthTemplate();
  const { Resources: resources, Outputs: outputs } = synthTemplateJson();
  const clusterId = onlyId(resources, 'AWS::MSK::ServerlessCluster', 'KafkaCluster');
  const subnets = idsOf(resources, 'AWS::EC2::Subnet');
  const clusterSecurityGroup = onlyId(resources, 'AWS::EC2::SecurityGroup', 'KafkaNetworkClusterSecurityGroup');
  const topicSecurityGroup = onlyId(resources, 'AWS::EC2::SecurityGroup', 'KafkaTopicFunctionSecurityGroup');
  const endpointSecurityGroup = onlyId(resources, 'AWS::EC2::SecurityGroup', 'KafkaNetworkEndpointSecurityGroup');
  const groupId = (id: string) => ({ 'Fn::GetAtt': [id, 'GroupId'] });
  const endpoints = idsOf(resources, 'AWS::EC2::VPCEndpoint');

  it('creates an MSK Serverless cluster with IAM client auth in the two isolated subnets of its VPC', () => {
    expect(clusterId).toBe('KafkaCluster');
    expect(subnets).toHaveLength(2);
    expect(resources[clusterId]?.Properties).toEqual({
      ClusterName: 'Streamfold-kafka',
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } } },
      VpcConfigs: [{ SubnetIds: subnets.map((id) => ({ Ref: id })), SecurityGroups: [groupId(clusterSecurityGroup)] }],
    });
    for (const [index, subnet] of subnets.entries()) {
      expect(resources[subnet]?.Properties).toMatchObject({
        MapPublicIpOnLaunch: false,
        AvailabilityZone: { 'Fn::Select': [index, { 'Fn::GetAZs': '' }] },
      });
    }
  });

  it('has no NAT, no internet gateway and no route out of the VPC but the S3 gateway endpoint', () => {
    for (const type of [
      'AWS::EC2::NatGateway',
      'AWS::EC2::InternetGateway',
      'AWS::EC2::VPCGatewayAttachment',
      'AWS::EC2::EIP',
      'AWS::EC2::Route',
      'AWS::EC2::EgressOnlyInternetGateway',
    ]) {
      template.resourceCountIs(type, 0);
    }
    template.resourceCountIs('AWS::EC2::VPC', 1);
  });

  it('logs all VPC traffic to a log group kept for a year', () => {
    const logGroup = onlyId(resources, 'AWS::Logs::LogGroup', 'KafkaNetworkFlowLogs');

    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      ResourceId: { Ref: onlyId(resources, 'AWS::EC2::VPC', 'KafkaNetworkVpc') },
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: logGroup },
    });
    expect(resources[logGroup]?.Properties?.['RetentionInDays']).toBe(365);
  });

  it('has private-DNS interface endpoints for Lambda, STS, SQS and the MSK API, and an S3 gateway endpoint', () => {
    const services = endpoints.map((id) => {
      const properties = resources[id]?.Properties ?? {};
      const name = (properties['ServiceName'] as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      return `${properties['VpcEndpointType'] as string} ${name[0] as string}<region>${name[2] as string}`;
    });

    expect(services.sort()).toEqual([
      'Gateway com.amazonaws.<region>.s3',
      'Interface aws.api.<region>.kafka-api',
      'Interface com.amazonaws.<region>.lambda',
      'Interface com.amazonaws.<region>.sqs',
      'Interface com.amazonaws.<region>.sts',
    ]);
    for (const id of endpoints.filter(
      (endpoint) => resources[endpoint]?.Properties?.['VpcEndpointType'] === 'Interface',
    )) {
      expect(resources[id]?.Properties).toMatchObject({
        PrivateDnsEnabled: true,
        SubnetIds: subnets.map((subnet) => ({ Ref: subnet })),
        SecurityGroupIds: [groupId(endpointSecurityGroup)],
      });
    }
  });

  it('admits the broker port only from the cluster group itself (the pollers) and the topic function', () => {
    const ingress = Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::EC2::SecurityGroupIngress')
      .map((resource) => resource.Properties ?? {});
    const inlineIngress = idsOf(resources, 'AWS::EC2::SecurityGroup').flatMap(
      (id) => (resources[id]?.Properties?.['SecurityGroupIngress'] as unknown[] | undefined) ?? [],
    );
    const rule = (group: string, from: string, port: number) => ({
      GroupId: groupId(group),
      SourceSecurityGroupId: groupId(from),
      IpProtocol: 'tcp',
      FromPort: port,
      ToPort: port,
    });

    expect(inlineIngress).toEqual([]);
    expect(ingress.map(({ Description: _, ...properties }) => properties)).toEqual(
      expect.arrayContaining([
        rule(clusterSecurityGroup, clusterSecurityGroup, 9098),
        rule(clusterSecurityGroup, topicSecurityGroup, 9098),
        rule(endpointSecurityGroup, clusterSecurityGroup, 443),
        rule(endpointSecurityGroup, topicSecurityGroup, 443),
      ]),
    );
    expect(ingress).toHaveLength(4);
  });

  it('lets the cluster group send only to itself on 9098 and to the endpoints on 443', () => {
    const egress = Object.values(resources)
      .filter(
        (resource) =>
          resource.Type === 'AWS::EC2::SecurityGroupEgress' &&
          JSON.stringify(resource.Properties?.['GroupId']) === JSON.stringify(groupId(clusterSecurityGroup)),
      )
      .map((resource) => [resource.Properties?.['DestinationSecurityGroupId'], resource.Properties?.['FromPort']]);

    expect(resources[clusterSecurityGroup]?.Properties?.['SecurityGroupEgress']).toBeUndefined();
    expect(egress).toEqual(
      expect.arrayContaining([
        [groupId(clusterSecurityGroup), 9098],
        [groupId(endpointSecurityGroup), 443],
      ]),
    );
    expect(egress).toHaveLength(2);
  });

  it('declares the topic as Custom::KafkaTopic with Topic and Partitions from schemas/registry.json', () => {
    const topicId = onlyId(resources, 'Custom::KafkaTopic', 'KafkaTopic');
    const topic = resources[topicId] as Resources[string] & { DependsOn?: string[] };

    expect(topic.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [onlyId(resources, 'AWS::Lambda::Function', 'KafkaTopicFunction'), 'Arn'] },
      ClusterArn: { 'Fn::GetAtt': [clusterId, 'Arn'] },
      Topic: 'vehicle.position.v1',
      Partitions: 2,
    });
    expect([...(topic.DependsOn ?? [])].sort()).toEqual([...endpoints].sort());
  });

  it('runs the topic handler from functions/kafka-topic.ts in the isolated subnets, set up for the MSK API endpoint', () => {
    const fn = resources[onlyId(resources, 'AWS::Lambda::Function', 'KafkaTopicFunction')];

    expect(fn?.Metadata?.['streamfold:entry']).toBe('functions/kafka-topic.ts');
    expect(fn?.Properties?.['VpcConfig']).toEqual({
      SubnetIds: subnets.map((id) => ({ Ref: id })),
      SecurityGroupIds: [groupId(topicSecurityGroup)],
    });
    expect(fn?.Properties?.['Environment']).toMatchObject({ Variables: { AWS_USE_DUALSTACK_ENDPOINT: 'true' } });
  });

  it('grants the topic handler exactly the bootstrap brokers, Connect, and describe/create/alter on its topic', () => {
    const kafkaStatements = statementsOf(resources, 'KafkaTopicFunction').filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith('kafka')),
    );
    const topicArn = JSON.stringify(kafkaStatements[1]?.Resource);

    expect(kafkaStatements.map((statement) => statement.Action)).toEqual([
      ['kafka-cluster:Connect', 'kafka:GetBootstrapBrokers'],
      ['kafka-cluster:AlterTopic', 'kafka-cluster:CreateTopic', 'kafka-cluster:DescribeTopic'],
    ]);
    expect(kafkaStatements[0]?.Resource).toEqual({ 'Fn::GetAtt': [clusterId, 'Arn'] });
    expect(topicArn).toContain('":topic/",');
    expect(topicArn).toMatch(/"\/vehicle\.position\.v1"\]\]\}$/);
  });

  it('maps the topic to KafkaProcessorFunction with the project MSK defaults in provisioned mode', () => {
    const mapping = kafkaMapping(resources);

    expect(mapping.Properties).toEqual({
      FunctionName: { Ref: onlyId(resources, 'AWS::Lambda::Function', 'KafkaProcessorFunction') },
      EventSourceArn: { 'Fn::GetAtt': [clusterId, 'Arn'] },
      Topics: ['vehicle.position.v1'],
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'streamfold-processor' },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 3600,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [onlyId(resources, 'AWS::SQS::Queue', 'KafkaProcessorFailureQueue'), 'Arn'] },
        },
      },
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 2 },
      MetricsConfig: { Metrics: ['EventCount', 'ErrorCount', 'KafkaMetrics'] },
    });
    // No partial batch response: the handler fails whole batches.
    expect(mapping.Properties?.['FunctionResponseTypes']).toBeUndefined();
  });

  it('creates the mapping after the topic and the VPC endpoints its pollers use', () => {
    expect([...(kafkaMapping(resources).DependsOn ?? [])].sort()).toEqual(
      [onlyId(resources, 'Custom::KafkaTopic', 'KafkaTopic'), ...endpoints].sort(),
    );
  });

  it('runs the Kafka processor from functions/kafka-processor.ts, outside the VPC', () => {
    const fn = resources[onlyId(resources, 'AWS::Lambda::Function', 'KafkaProcessorFunction')];

    expect(fn?.Metadata?.['streamfold:entry']).toBe('functions/kafka-processor.ts');
    expect(fn?.Properties?.['VpcConfig']).toBeUndefined();
  });

  it('grants the Kafka processor the data-plane actions of IAM auth on its cluster, topic and group', () => {
    const onCluster = statementAllowing(resources, 'KafkaProcessorFunction', 'kafka-cluster:Connect');
    const onTopic = statementAllowing(resources, 'KafkaProcessorFunction', 'kafka-cluster:ReadData');
    const onGroup = statementAllowing(resources, 'KafkaProcessorFunction', 'kafka-cluster:AlterGroup');

    expect(onCluster.Resource).toEqual({ 'Fn::GetAtt': [clusterId, 'Arn'] });
    expect(onCluster.Action).toEqual(
      expect.arrayContaining([
        'kafka-cluster:Connect',
        'kafka-cluster:DescribeClusterDynamicConfiguration',
        'kafka:DescribeCluster',
        'kafka:GetBootstrapBrokers',
      ]),
    );
    expect(onTopic.Action).toEqual(['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData']);
    expect(JSON.stringify(onTopic.Resource)).toMatch(/":topic\/",.*"\/vehicle\.position\.v1"\]\]\}$/);
    expect(onGroup.Action).toEqual(['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup']);
    expect(JSON.stringify(onGroup.Resource)).toMatch(/":group\/",.*"\/streamfold-processor"\]\]\}$/);
  });

  it('lets the Kafka processor send to its failure queue and manage the pollers ENIs (AWS-managed MSK policy)', () => {
    const role = resources[onlyId(resources, 'AWS::IAM::Role', 'KafkaProcessorFunctionServiceRole')];
    const send = statementAllowing(resources, 'KafkaProcessorFunction', 'sqs:SendMessage');

    expect(JSON.stringify(role?.Properties?.['ManagedPolicyArns'])).toContain(
      ':iam::aws:policy/service-role/AWSLambdaMSKExecutionRole',
    );
    expect(send.Resource).toEqual(
      expect.arrayContaining([
        { 'Fn::GetAtt': [onlyId(resources, 'AWS::SQS::Queue', 'KafkaProcessorFailureQueue'), 'Arn'] },
      ]),
    );
  });

  it('outputs the cluster ARN, the topic name and the failure queue URL', () => {
    expect(outputs?.['KafkaClusterArn']?.Value).toEqual({ 'Fn::GetAtt': [clusterId, 'Arn'] });
    expect(outputs?.['KafkaTopicName']?.Value).toBe('vehicle.position.v1');
    expect(outputs?.['KafkaProcessorFailureQueueUrl']?.Value).toEqual({
      Ref: onlyId(resources, 'AWS::SQS::Queue', 'KafkaProcessorFailureQueue'),
    });
  });
});

describe('Kafka path, existing cluster', () => {
  const stack = buildStack({ kafka: { mode: 'existing', clusterArn: EXISTING_ARN } });
  const json = Template.fromStack(stack).toJSON() as TemplateJson;
  const resources = json.Resources;

  it('creates no cluster, no network and no topic', () => {
    const types = new Set(Object.values(resources).map((resource) => resource.Type));

    expect([...types].filter((type) => /^AWS::(EC2|MSK)::|^Custom::/.test(type))).toEqual([]);
    expect(idsOf(resources, 'AWS::Lambda::Function', 'KafkaTopicFunction')).toEqual([]);
  });

  it('maps the given cluster ARN with the same defaults', () => {
    expect(kafkaMapping(resources).Properties).toMatchObject({
      EventSourceArn: EXISTING_ARN,
      Topics: ['vehicle.position.v1'],
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'streamfold-processor' },
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 2 },
    });
    expect(kafkaMapping(resources).DependsOn).toBeUndefined();
  });

  it('grants the data-plane actions on the topic and group ARNs of that cluster', () => {
    expect(statementAllowing(resources, 'KafkaProcessorFunction', 'kafka-cluster:ReadData').Resource).toBe(
      'arn:aws:kafka:eu-west-1:123456789012:topic/shared-kafka/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab-3/vehicle.position.v1',
    );
    expect(statementAllowing(resources, 'KafkaProcessorFunction', 'kafka-cluster:AlterGroup').Resource).toBe(
      'arn:aws:kafka:eu-west-1:123456789012:group/shared-kafka/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab-3/streamfold-processor',
    );
  });

  it('passes pollers and the consumer group through', () => {
    const custom = synth({
      kafka: {
        mode: 'existing',
        clusterArn: EXISTING_ARN,
        pollers: { minimum: 2, maximum: 8 },
        consumerGroupId: 'sf-a',
      },
    });

    expect(kafkaMapping(custom.Resources).Properties).toMatchObject({
      ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 8 },
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'sf-a' },
    });
  });

  it('outputs the given cluster ARN', () => {
    expect(json.Outputs?.['KafkaClusterArn']?.Value).toBe(EXISTING_ARN);
  });

  it('leaves no cdk-nag finding unacknowledged', () => {
    expect(nagViolations(stack)).toEqual([]);
  });
});

describe('Kafka path, none', () => {
  const resources = synth({ kafka: { mode: 'none' } }).Resources;

  it('adds no Kafka resource at all', () => {
    const types = new Set(Object.values(resources).map((resource) => resource.Type));

    expect(Object.keys(resources).filter((id) => id.startsWith('Kafka'))).toEqual([]);
    expect([...types].filter((type) => /^AWS::(EC2|MSK)::|^Custom::/.test(type))).toEqual([]);
    expect(idsOf(resources, 'AWS::Lambda::EventSourceMapping')).toHaveLength(2);
    expect(JSON.stringify(resources)).not.toMatch(/kafka/i);
  });
});

describe('Kafka path from CLI context', () => {
  const fromContext = (context: Record<string, string>) =>
    buildApp({ context: { ...cdkJsonContext(), ...NO_BUNDLING_CONTEXT, ...context } }).stack;
  const typesOf = (stack: StreamfoldStack) =>
    new Set(Object.values((Template.fromStack(stack).toJSON() as TemplateJson).Resources).map((r) => r.Type));

  it('drops the Kafka path with streamfold:kafka=none', () => {
    expect(typesOf(fromContext({ [KAFKA_CONTEXT_KEY]: 'none' }))).not.toContain('AWS::MSK::ServerlessCluster');
  });

  it('uses an existing cluster with streamfold:mskClusterArn alone', () => {
    const stack = fromContext({ [MSK_CLUSTER_ARN_CONTEXT_KEY]: EXISTING_ARN });
    const resources = (Template.fromStack(stack).toJSON() as TemplateJson).Resources;

    expect(typesOf(stack)).not.toContain('AWS::MSK::ServerlessCluster');
    expect(kafkaMapping(resources).Properties?.['EventSourceArn']).toBe(EXISTING_ARN);
  });

  it('rejects a mode it does not know, and a cluster ARN with another mode, in one message', () => {
    expect(() => fromContext({ [KAFKA_CONTEXT_KEY]: 'provisioned' })).toThrow(
      'kafka.mode must be one of serverless, existing, none, got provisioned',
    );
    expect(() => fromContext({ [KAFKA_CONTEXT_KEY]: 'none', [MSK_CLUSTER_ARN_CONTEXT_KEY]: EXISTING_ARN })).toThrow(
      InvalidStreamfoldPropsError,
    );
    expect(() => fromContext({ [KAFKA_CONTEXT_KEY]: 'existing' })).toThrow(
      "kafka.clusterArn is required when kafka.mode is 'existing'",
    );
  });

  it('lets props given in code win over the context', () => {
    const { stack } = buildApp({
      context: { ...cdkJsonContext(), ...NO_BUNDLING_CONTEXT, [KAFKA_CONTEXT_KEY]: 'none' },
      props: { kafka: { mode: 'existing', clusterArn: EXISTING_ARN } },
    });

    expect(kafkaMapping((Template.fromStack(stack).toJSON() as TemplateJson).Resources).Properties).toMatchObject({
      EventSourceArn: EXISTING_ARN,
    });
  });
});
