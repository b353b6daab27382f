// The local runtime on real emulators: Kinesis event-source semantics against kinesalite, the REST and
// WebSocket APIs over loopback, and the SQS emulator through the real SDK. Runs the fixture template and
// its tiny handlers (tests/unit/local/fixtures) so it does not depend on the product functions.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  GoneException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { emulatorClientConfig } from '../../local/runtime/emulators.js';
import { startLocalStack } from '../../local/runtime/local-stack.js';
import { type SqsEmulator, startSqsEmulator } from '../../local/runtime/sqs-emulator.js';
import { deadLetterBody } from '../../shared/events/dead-letters.js';
import { eventually, startTestStack, type TestStack } from '../helpers/local-stack.js';
import { deadLetter } from '../helpers/processing.js';
import { FIXTURE_TEMPLATE_PATH } from '../unit/local/fixtures/fixture-template.js';

let stack: TestStack;

/** A loopback port that was free a moment ago. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  stack = await startTestStack({ templatePath: FIXTURE_TEMPLATE_PATH });
});

afterAll(async () => {
  await stack?.stop();
});

const seen = async (id: string) =>
  ((await stack.dynamo.send(new GetCommand({ TableName: stack.resources.SeenTable, Key: { pk: id } }))).Item?.seen as
    | number
    | undefined) ?? 0;

describe('Kinesis event-source mapping', () => {
  it('gives a record reported as a partial batch failure to the function again, from that record on', async () => {
    const run = crypto.randomUUID();
    await stack.putRecords('PartialStream', [
      { partitionKey: 'p', data: { id: `${run}-a` } },
      { partitionKey: 'p', data: { id: `${run}-b`, failOnce: true } },
      { partitionKey: 'p', data: { id: `${run}-c` } },
    ]);

    await eventually(async () => expect(await seen(`${run}-c`)).toBe(2));
    expect(await seen(`${run}-a`)).toBe(1);
    expect(await seen(`${run}-b`)).toBe(2);
    expect(await stack.drainQueue('FailureQueue')).toEqual([]);
  });

  it('sends a batch that always fails to the on-failure queue, isolated by bisection, and moves on', async () => {
    const run = crypto.randomUUID();
    const [poisonSeq] = await stack.putRecords('PoisonStream', [
      { partitionKey: run, data: { id: `${run}-poison`, poison: true } },
      { partitionKey: run, data: { id: `${run}-good` } },
    ]);

    const messages = await eventually(async () => {
      const received = await stack.drainQueue('FailureQueue');
      expect(received).toHaveLength(1);
      return received;
    });
    expect(messages[0]).toMatchObject({
      requestContext: {
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:PoisonFunction',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 2,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      KinesisBatchInfo: {
        startSequenceNumber: poisonSeq,
        endSequenceNumber: poisonSeq,
        batchSize: 1,
        streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/PoisonStream',
      },
    });
    await eventually(async () => expect(await seen(`${run}-good`)).toBe(1));
    await stack.putRecords('PoisonStream', [{ partitionKey: run, data: { id: `${run}-after` } }]);
    await eventually(async () => expect(await seen(`${run}-after`)).toBe(1));
  });

  it('reports the shard stats of each mapping', async () => {
    await eventually(() => expect(stack.metrics().mappings.PartialMapping?.[0]?.invocations).toBeGreaterThan(0));
  });

  it('reports a lag of 0 once every shard is caught up', async () => {
    await stack.putRecords('PartialStream', [{ partitionKey: 'p', data: { id: crypto.randomUUID() } }]);

    await eventually(() => expect(stack.metrics().lagMs).toBe(0));
  });
});

describe('REST API', () => {
  it('answers 403 Forbidden without the API key', async () => {
    const response = await fetch(`${stack.restUrl}/v1/items`, { method: 'POST', body: '{}' });

    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Forbidden' });
  });

  it('invokes the function with a proxy event when the API key is right', async () => {
    const response = await fetch(`${stack.restUrl}/v1/items?tag=a&tag=b`, {
      method: 'POST',
      body: '{"x":1}',
      headers: { 'x-api-key': stack.apiKey },
    });
    const payload = (await response.json()) as {
      event: Record<string, unknown>;
      env: Record<string, string>;
      remainingMs: number;
    };

    expect(response.status).toBe(200);
    expect(response.headers.get('x-multi')).toBe('a, b');
    expect(payload.event).toMatchObject({
      resource: '/v1/items',
      httpMethod: 'POST',
      body: '{"x":1}',
      multiValueQueryStringParameters: { tag: ['a', 'b'] },
      requestContext: { stage: 'prod', resourcePath: '/v1/items', identity: { apiKey: stack.apiKey } },
    });
    expect(payload.env).toEqual({
      TABLE_NAME: 'SeenTable',
      QUEUE_URL: stack.resources.FailureQueue,
      STREAM_ARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/PartialStream',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    });
    expect(payload.remainingMs).toBeGreaterThan(9_000);
    expect(payload.remainingMs).toBeLessThanOrEqual(10_000);
  });

  it('passes path parameters', async () => {
    const response = await fetch(`${stack.restUrl}/v1/items/item-7`);

    expect(((await response.json()) as { event: { pathParameters: unknown } }).event.pathParameters).toEqual({
      itemId: 'item-7',
    });
  });

  it('decodes a base64 response body', async () => {
    const response = await fetch(`${stack.restUrl}/?binary=1`);

    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([0, 1, 2, 255]);
  });

  it('answers an unknown route like API Gateway does', async () => {
    const response = await fetch(`${stack.restUrl}/nope`);

    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('answers a MOCK integration (CORS preflight) from the template', async () => {
    const response = await fetch(`${stack.restUrl}/v1/items`, { method: 'OPTIONS' });

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-methods')).toBe('OPTIONS,GET,POST');
  });

  it('refuses a body above 10 MB with 413', async () => {
    const response = await fetch(`${stack.restUrl}/v1/items`, {
      method: 'POST',
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 'x'),
      headers: { 'x-api-key': stack.apiKey },
    });

    expect(response.status).toBe(413);
  });

  it('counts the EMF metrics functions print', async () => {
    await fetch(`${stack.restUrl}/`);

    await eventually(() => expect(stack.metrics().totals.EventsAccepted).toBeGreaterThanOrEqual(2));
    expect(stack.metrics().byFunction.EchoFunction?.EventsAccepted).toBeGreaterThanOrEqual(2);
  });
});

const connect = (url: string) =>
  new Promise<{ socket: WebSocket; next: () => Promise<string> }>((resolve, reject) => {
    const socket = new WebSocket(url);
    const inbox: string[] = [];
    const waiting: ((message: string) => void)[] = [];
    socket.on('message', (data) => {
      const waiter = waiting.shift();
      if (waiter) waiter(data.toString());
      else inbox.push(data.toString());
    });
    const next = () =>
      new Promise<string>((res) => {
        const queued = inbox.shift();
        if (queued !== undefined) res(queued);
        else waiting.push(res);
      });
    socket.once('open', () => resolve({ socket, next }));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.once('error', reject);
  });

describe('WebSocket API', () => {
  it('routes by $request.body.action and returns the response of a route with a RouteResponse', async () => {
    const { socket, next } = await connect(stack.wsUrl);
    socket.send(JSON.stringify({ action: 'echo', n: 1 }));

    expect(JSON.parse(await next())).toEqual({ type: 'echo', body: '{"action":"echo","n":1}' });
    socket.close();
  });

  it('falls back to $default for a message without a known action', async () => {
    const { socket, next } = await connect(stack.wsUrl);
    socket.send('hello');

    expect(JSON.parse(await next())).toEqual({ type: 'default', body: 'hello' });
    socket.close();
  });

  it('delivers what a function posts through the management API', async () => {
    const { socket, next } = await connect(stack.wsUrl);
    socket.send(JSON.stringify({ action: 'push' }));

    expect(JSON.parse(await next())).toMatchObject({ type: 'pushed' });
    socket.close();
  });

  it('rejects the upgrade when $connect answers non-2xx', async () => {
    await expect(connect(`${stack.wsUrl}/?deny=1`)).rejects.toThrow('HTTP 403');
  });

  it('answers GoneException for an unknown connection', async () => {
    const client = new ApiGatewayManagementApiClient(emulatorClientConfig(stack.wsManagementUrl));

    await expect(client.send(new GetConnectionCommand({ ConnectionId: 'nope=' }))).rejects.toBeInstanceOf(
      GoneException,
    );
  });
});

describe('startLocalStack', () => {
  it('stops cleanly and frees its ports', async () => {
    const small = await startLocalStack({
      template: { Resources: { Queue: { Type: 'AWS::SQS::Queue' } } },
      log: () => undefined,
    });
    const sqs = new SQSClient({ ...emulatorClientConfig(small.endpoints.sqs), maxAttempts: 1 });
    await sqs.send(new GetQueueUrlCommand({ QueueName: 'Queue' }));

    await small.stop();

    await expect(fetch(small.restUrl)).rejects.toThrow();
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'Queue' }))).rejects.toThrow();
    sqs.destroy();
  });
});

describe('startLocalStack readiness', () => {
  it('answers 503 with Retry-After and a JSON body until the stack is ready, then serves', async () => {
    const port = await freePort();
    const starting = startLocalStack({ templatePath: FIXTURE_TEMPLATE_PATH, port, log: () => undefined });
    let first: Response | undefined;
    while (!first) first = await fetch(`http://127.0.0.1:${port}/`).catch(() => sleep(10).then(() => undefined));
    const early = { status: first.status, retryAfter: first.headers.get('retry-after'), body: await first.json() };
    const started = await starting;
    try {
      const later = await fetch(`${started.restUrl}/`);

      expect(early).toEqual({
        status: 503,
        retryAfter: '1',
        body: { message: 'The local stack is starting; retry shortly', retryAfterSeconds: 1 },
      });
      expect(later.status).toBe(200);
    } finally {
      await started.stop();
    }
  });
});

describe('startLocalStack with a data dir', () => {
  it('keeps tables, queues and in-flight messages, and resumes each shard after its checkpoint', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'streamfold-data-'));
    const run = crypto.randomUUID();
    const first = await startTestStack({ templatePath: FIXTURE_TEMPLATE_PATH, dataDir });
    await first.putRecords('PartialStream', [{ partitionKey: 'p', data: { id: `${run}-a` } }]);
    await first.sqs.send(new SendMessageCommand({ QueueUrl: first.resources.FailureQueue, MessageBody: '"kept"' }));
    const inFlight = await first.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: first.resources.FailureQueue, VisibilityTimeout: 600 }),
    );
    const seenIn = async (s: TestStack, id: string) =>
      ((await s.dynamo.send(new GetCommand({ TableName: 'SeenTable', Key: { pk: id } }))).Item?.seen as number) ?? 0;
    await eventually(async () => expect(await seenIn(first, `${run}-a`)).toBe(1));
    await first.stop();

    const second = await startTestStack({ templatePath: FIXTURE_TEMPLATE_PATH, dataDir });
    try {
      await second.putRecords('PartialStream', [{ partitionKey: 'p', data: { id: `${run}-b` } }]);
      await eventually(async () => expect(await seenIn(second, `${run}-b`)).toBe(1));

      expect(inFlight.Messages?.[0]?.Body).toBe('"kept"');
      expect(await seenIn(second, `${run}-a`)).toBe(1);
      expect(await second.drainQueue('FailureQueue')).toEqual(['kept']);
    } finally {
      await second.stop();
    }
  });
});

describe('SQS emulator with the AWS SDK', () => {
  let emulator: SqsEmulator;
  let sqs: SQSClient;
  let queueUrl: string;

  beforeAll(async () => {
    emulator = await startSqsEmulator();
    sqs = new SQSClient(emulatorClientConfig(emulator.endpoint));
    queueUrl =
      (await sqs.send(new CreateQueueCommand({ QueueName: 'e2e', Attributes: { VisibilityTimeout: '1' } }))).QueueUrl ??
      '';
  });

  afterAll(async () => {
    sqs.destroy();
    await emulator.close();
  });

  const count = async () =>
    Number(
      (
        await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
        )
      ).Attributes?.ApproximateNumberOfMessages,
    );

  it('delivers a message again after its visibility timeout', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'again' }));
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    const hidden = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));

    const second = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        WaitTimeSeconds: 3,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );

    expect(first.Messages?.[0]?.Body).toBe('again');
    expect(hidden.Messages ?? []).toEqual([]);
    expect(second.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  });

  it('sends and deletes in batches and counts what is visible', async () => {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [1, 2, 3].map((n) => ({ Id: `m${n}`, MessageBody: `body ${n}` })),
      }),
    );
    expect(await count()).toBe(3);

    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }),
    );
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: (received.Messages ?? []).map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );

    expect(received.Messages).toHaveLength(3);
    expect(deleted.Successful).toHaveLength(3);
    expect(await count()).toBe(0);
  });

  const query = async (params: Record<string, string>, path = '/') => {
    const response = await fetch(`${emulator.endpoint}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Version: '2012-11-05', ...params }),
    });
    return { status: response.status, type: response.headers.get('content-type'), xml: await response.text() };
  };
  const tag = (xml: string, name: string) => xml.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1];

  it('speaks the query protocol: send, receive and delete with form-encoded requests and XML answers', async () => {
    const sent = await query({
      Action: 'SendMessage',
      QueueUrl: queueUrl,
      MessageBody: 'over <query>',
      'MessageAttribute.1.Name': 'kind',
      'MessageAttribute.1.Value.DataType': 'String',
      'MessageAttribute.1.Value.StringValue': 'xml',
    });
    const received = await query({
      Action: 'ReceiveMessage',
      QueueUrl: queueUrl,
      'AttributeName.1': 'ApproximateReceiveCount',
      'MessageAttributeName.1': 'All',
    });
    const deleted = await query(
      { Action: 'DeleteMessage', ReceiptHandle: tag(received.xml, 'ReceiptHandle') ?? '' },
      new URL(queueUrl).pathname,
    );

    expect(sent).toMatchObject({ status: 200, type: 'text/xml' });
    expect(sent.xml).toContain('<SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">');
    expect(tag(sent.xml, 'MD5OfMessageBody')).toBe(createHash('md5').update('over <query>').digest('hex'));
    expect(received.status).toBe(200);
    expect(tag(received.xml, 'Body')).toBe('over &lt;query&gt;');
    expect(tag(received.xml, 'MessageId')).toBe(tag(sent.xml, 'MessageId'));
    expect(received.xml).toContain('<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>');
    expect(received.xml).toContain(
      '<MessageAttribute><Name>kind</Name><Value><DataType>String</DataType><StringValue>xml</StringValue></Value></MessageAttribute>',
    );
    expect(deleted.status).toBe(200);
    expect(deleted.xml).toContain('<DeleteMessageResponse');
    expect(await count()).toBe(0);
  });

  it('answers a query-protocol error with an XML ErrorResponse and the query error code', async () => {
    const missing = await query({ Action: 'GetQueueUrl', QueueName: 'missing' });
    const unknown = await query({ Action: 'TagQueue', QueueUrl: queueUrl });

    expect(missing.status).toBe(400);
    expect(missing.xml).toContain('<ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">');
    expect(tag(missing.xml, 'Type')).toBe('Sender');
    expect(tag(missing.xml, 'Code')).toBe('AWS.SimpleQueueService.NonExistentQueue');
    expect(unknown.status).toBe(400);
    expect(tag(unknown.xml, 'Code')).toBe('InvalidAction');
  });

  it('refuses what SQS refuses: a message over 256 KiB in bytes, and characters outside its range', async () => {
    const send = (MessageBody: string) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody }));

    await expect(send('€'.repeat(87_382))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(send('a\uFFFEb')).rejects.toMatchObject({ name: 'InvalidMessageContents' });
    await expect(send('nul\u0000')).rejects.toMatchObject({ name: 'InvalidMessageContents' });
    await expect(send('€'.repeat(87_381))).resolves.toMatchObject({ MessageId: expect.any(String) });
    await expect(send(deadLetterBody(deadLetter({ blob: '€\uFFFF'.repeat(100_000) })))).resolves.toMatchObject({
      MessageId: expect.any(String),
    });
  });

  it('refuses a batch whose messages add up to more than 256 KiB, as SQS does', async () => {
    const entry = (Id: string) => ({ Id, MessageBody: 'x'.repeat(140_000) });
    await expect(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [entry('a'), entry('b')] })),
    ).rejects.toMatchObject({ name: 'BatchRequestTooLong' });
  });

  it('throws QueueDoesNotExist for an unknown queue', async () => {
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });
});
