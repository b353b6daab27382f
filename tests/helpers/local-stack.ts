// Starts the local stack in process for e2e tests (ephemeral ports, private log dir) and gives tests the
// clients and waits they need, so each test stays a few lines.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import { emulatorClientConfig, LOCAL_CREDENTIALS } from '../../local/runtime/emulators.js';
import { LOCAL_REGION } from '../../local/runtime/intrinsics.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/runtime/local-stack.js';
import { NodeSha256 } from '../../local/runtime/sigv4.js';

/** A running local stack plus SDK clients bound to its emulators. */
export interface TestStack extends LocalStack {
  kinesis: KinesisClient;
  sqs: SQSClient;
  dynamo: DynamoDBDocumentClient;
  /** Puts JSON records onto a stream (by logical id) in one call, in order; returns their sequence numbers. */
  putRecords(streamLogicalId: string, records: { partitionKey: string; data: unknown }[]): Promise<string[]>;
  /** Receives and deletes every message of a queue (by logical id) that arrives within `waitMs`. */
  drainQueue(queueLogicalId: string, waitMs?: number): Promise<unknown[]>;
}

/** Starts a local stack with test-friendly defaults: ephemeral ports, logs in a temp dir, fast polling. */
export async function startTestStack(options: LocalStackOptions = {}): Promise<TestStack> {
  const stack = await startLocalStack({
    logDir: mkdtempSync(join(tmpdir(), 'streamfold-e2e-logs-')),
    pollIntervalMs: 50,
    log: () => undefined,
    ...options,
  });
  const kinesis = new KinesisClient(emulatorClientConfig(stack.endpoints.kinesis));
  const sqs = new SQSClient(emulatorClientConfig(stack.endpoints.sqs));
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(emulatorClientConfig(stack.endpoints.dynamodb)));
  const resource = (id: string) => {
    const value = stack.resources[id];
    if (!value) throw new Error(`the stack has no resource ${id}`);
    return value;
  };
  return {
    ...stack,
    kinesis,
    sqs,
    dynamo,
    async putRecords(streamLogicalId, records) {
      const response = await kinesis.send(
        new PutRecordsCommand({
          StreamName: resource(streamLogicalId),
          Records: records.map((r) => ({ PartitionKey: r.partitionKey, Data: Buffer.from(JSON.stringify(r.data)) })),
        }),
      );
      return (response.Records ?? []).map((r) => r.SequenceNumber ?? '');
    },
    async drainQueue(queueLogicalId, waitMs = 0) {
      const messages: unknown[] = [];
      const deadline = Date.now() + waitMs;
      do {
        const response = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: resource(queueLogicalId),
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
        );
        for (const message of response.Messages ?? []) {
          messages.push(JSON.parse(message.Body ?? 'null'));
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: resource(queueLogicalId), ReceiptHandle: message.ReceiptHandle }),
          );
        }
      } while (Date.now() < deadline);
      return messages;
    },
    async stop() {
      for (const client of [kinesis, sqs, dynamo]) client.destroy();
      await stack.stop();
    },
  };
}

/**
 * `fetch` of a GET signed with SigV4 for `execute-api`, as a caller with AWS credentials calls an IAM
 * method; the local credentials unless told otherwise.
 */
export async function signedGet(url: string, credentials = LOCAL_CREDENTIALS): Promise<Response> {
  const target = new URL(url);
  const signer = new SignatureV4({ credentials, region: LOCAL_REGION, service: 'execute-api', sha256: NodeSha256 });
  const query: Record<string, string> = Object.fromEntries(target.searchParams);
  const signed = await signer.sign({
    method: 'GET',
    protocol: target.protocol,
    hostname: target.hostname,
    port: Number(target.port),
    path: target.pathname,
    query,
    headers: { host: target.host },
  });
  // fetch sets Host itself, to the same value.
  const { host: _host, ...headers } = signed.headers;
  return fetch(url, { headers });
}

/**
 * The stack's WebSocket URL with the key the `$connect` authorizer reads (`?token=`), as a browser would
 * connect; locally the one API key is every key.
 */
export function webSocketUrl(stack: Pick<LocalStack, 'wsUrl' | 'apiKey'>, token: string = stack.apiKey): string {
  return `${stack.wsUrl}/?token=${encodeURIComponent(token)}`;
}

/** Retries `check` until it stops throwing or `timeoutMs` passes (then rethrows its last error). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}
