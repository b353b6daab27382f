import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CustomResourceResponse,
  type KafkaTopicDeps,
  kafkaTopicHandler,
  type TopicAdmin,
  topicProperties,
} from '../../../functions/kafka-topic.js';
import { logger } from '../../../shared/observability.js';

const CLUSTER_ARN =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/Streamfold-kafka/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab-s1';

/** A loopback stand-in for the presigned S3 URL: records every PUT, and can fail the first few. */
interface ResponseServer {
  url: string;
  requests: { method: string; headers: IncomingHttpHeaders; body: CustomResourceResponse }[];
  failNext: number;
}

let server: Server;
const responses: ResponseServer = { url: '', requests: [], failNext: 0 };

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  server = createServer((request, reply) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (responses.failNext > 0) {
        responses.failNext--;
        reply.writeHead(503).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CustomResourceResponse;
      responses.requests.push({ method: request.method ?? '', headers: request.headers, body });
      reply.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  responses.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response?X-Amz-Signature=abc`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  responses.requests = [];
  responses.failNext = 0;
});

/** An in-memory cluster behind the admin interface, recording calls. */
class FakeAdmin implements TopicAdmin {
  readonly calls: string[] = [];
  disconnected = false;

  constructor(readonly topics = new Map<string, number>()) {}

  async partitionCount(topic: string) {
    this.calls.push(`describe ${topic}`);
    return this.topics.get(topic);
  }
  async createTopic(topic: string, partitions: number) {
    this.calls.push(`create ${topic} ${partitions}`);
    this.topics.set(topic, partitions);
  }
  async createPartitions(topic: string, count: number) {
    this.calls.push(`partitions ${topic} ${count}`);
    this.topics.set(topic, count);
  }
  async disconnect() {
    this.disconnected = true;
  }
}

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  properties: Record<string, unknown> = {},
): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:KafkaTopicFunction',
    ResponseURL: responses.url,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Streamfold/guid',
    RequestId: 'request-1',
    LogicalResourceId: 'KafkaTopicVehiclePositionV1',
    ResourceType: 'Custom::KafkaTopic',
    ResourceProperties: {
      ServiceToken: 'token',
      ClusterArn: CLUSTER_ARN,
      Topic: 'vehicle.position.v1',
      Partitions: '2',
      ...properties,
    },
  };
  const previous = `vehicle.position.v1@${CLUSTER_ARN}`;
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Delete') return { ...common, RequestType: 'Delete', PhysicalResourceId: previous };
  return {
    ...common,
    RequestType: 'Update',
    PhysicalResourceId: previous,
    OldResourceProperties: { ServiceToken: 't' },
  };
}

const context = (remainingMs = 120_000) =>
  ({ logStreamName: '2026/01/01/[$LATEST]abc', getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

function handlerWith(admin: FakeAdmin, overrides: Partial<KafkaTopicDeps> = {}) {
  const connected: string[] = [];
  const handler = kafkaTopicHandler({
    connectAdmin: async (clusterArn) => {
      connected.push(clusterArn);
      return admin;
    },
    responseRetryDelayMs: 1,
    ...overrides,
  });
  return { handler, connected };
}

const onlyResponse = () => {
  expect(responses.requests).toHaveLength(1);
  return responses.requests[0]!;
};

describe('Custom::KafkaTopic handler', () => {
  it('creates a missing topic and PUTs SUCCESS with the request ids echoed and no content type', async () => {
    const admin = new FakeAdmin();
    const { handler, connected } = handlerWith(admin);

    await handler(event('Create'), context());

    const response = onlyResponse();
    expect(connected).toEqual([CLUSTER_ARN]);
    expect(admin.calls).toEqual(['describe vehicle.position.v1', 'create vehicle.position.v1 2']);
    expect(admin.disconnected).toBe(true);
    expect(response.method).toBe('PUT');
    expect(response.headers['content-type']).toBe('');
    expect(response.body).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: `vehicle.position.v1@${CLUSTER_ARN}`,
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Streamfold/guid',
      RequestId: 'request-1',
      LogicalResourceId: 'KafkaTopicVehiclePositionV1',
      Data: { TopicName: 'vehicle.position.v1', Partitions: '2' },
    });
  });

  it('accepts a topic that already exists instead of failing the create', async () => {
    const admin = new FakeAdmin(new Map([['vehicle.position.v1', 2]]));
    const { handler } = handlerWith(admin);

    await handler(event('Create'), context());

    expect(admin.calls).toEqual(['describe vehicle.position.v1']);
    expect(onlyResponse().body.Status).toBe('SUCCESS');
  });

  it('raises the partition count on update', async () => {
    const admin = new FakeAdmin(new Map([['vehicle.position.v1', 2]]));
    const { handler } = handlerWith(admin);

    await handler(event('Update', { Partitions: '4' }), context());

    expect(admin.calls).toContain('partitions vehicle.position.v1 4');
    expect(onlyResponse().body).toMatchObject({ Status: 'SUCCESS', Data: { Partitions: '4' } });
  });

  it('keeps partitions it cannot remove and reports the real count, so a rollback never wedges', async () => {
    const admin = new FakeAdmin(new Map([['vehicle.position.v1', 4]]));
    const { handler } = handlerWith(admin);

    await handler(event('Update', { Partitions: '2' }), context());

    expect(admin.calls).toEqual(['describe vehicle.position.v1']);
    expect(onlyResponse().body).toMatchObject({ Status: 'SUCCESS', Data: { Partitions: '4' } });
  });

  it('leaves the topic on delete without connecting to the cluster', async () => {
    const admin = new FakeAdmin(new Map([['vehicle.position.v1', 2]]));
    const { handler, connected } = handlerWith(admin);

    await handler(event('Delete'), context());

    expect(connected).toEqual([]);
    expect(admin.topics.get('vehicle.position.v1')).toBe(2);
    expect(onlyResponse().body).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: `vehicle.position.v1@${CLUSTER_ARN}`,
    });
  });

  it('succeeds on delete even when the properties are invalid (the rollback of a failed create)', async () => {
    const { handler } = handlerWith(new FakeAdmin());

    await handler(event('Delete', { Partitions: 'many' }), context());

    expect(onlyResponse().body.Status).toBe('SUCCESS');
  });

  it('answers FAILED with the reason and the log stream when the cluster cannot be reached', async () => {
    const { handler } = handlerWith(new FakeAdmin(), {
      connectAdmin: async () => {
        throw new Error('Connection timeout');
      },
    });

    await handler(event('Create'), context());

    const { body } = onlyResponse();
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toBe('Connection timeout (log stream 2026/01/01/[$LATEST]abc)');
  });

  it('keeps the previous physical id when an update fails', async () => {
    const admin = new FakeAdmin();
    admin.createTopic = async () => {
      throw new Error('TOPIC_AUTHORIZATION_FAILED');
    };
    const { handler } = handlerWith(admin);

    await handler(event('Update', { Topic: 'vehicle.position.v2' }), context());

    expect(onlyResponse().body).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: `vehicle.position.v1@${CLUSTER_ARN}`,
    });
    expect(admin.disconnected).toBe(true);
  });

  it('rejects invalid properties with every problem in the reason', async () => {
    const { handler, connected } = handlerWith(new FakeAdmin());

    await handler(event('Create', { Topic: 'bad topic', Partitions: '0', ClusterArn: 'nope' }), context());

    const { body } = onlyResponse();
    expect(connected).toEqual([]);
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toContain('ClusterArn must be an MSK cluster ARN, got nope');
    expect(body.Reason).toContain('Topic must be 1-249 characters');
    expect(body.Reason).toContain('Partitions must be a whole number >= 1, got 0');
  });

  it('answers FAILED before the function times out when the cluster hangs', async () => {
    const { handler } = handlerWith(new FakeAdmin(), {
      connectAdmin: () => new Promise<never>(() => undefined),
      deadlineMarginMs: 11_950,
    });

    await handler(event('Create'), context(12_000));

    const { body } = onlyResponse();
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toMatch(/^no result within 50 ms/);
  });

  it('retries the response PUT when the URL answers with an error', async () => {
    responses.failNext = 2;
    const { handler } = handlerWith(new FakeAdmin());

    await handler(event('Create'), context());

    expect(onlyResponse().body.Status).toBe('SUCCESS');
  });

  it('throws when the response cannot be delivered at all', async () => {
    responses.failNext = 3;
    const { handler } = handlerWith(new FakeAdmin());

    await expect(handler(event('Create'), context())).rejects.toThrow('could not deliver the SUCCESS response');
  });
});

describe('topicProperties', () => {
  it('reads the partition count that CloudFormation passes as a string', () => {
    expect(topicProperties({ ClusterArn: CLUSTER_ARN, Topic: 'vehicle.position.v1', Partitions: '2' })).toEqual({
      clusterArn: CLUSTER_ARN,
      topic: 'vehicle.position.v1',
      partitions: 2,
    });
  });
});
