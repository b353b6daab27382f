/**
 * The AWS service emulators, in process on loopback: kinesalite (Kinesis), dynalite (DynamoDB) and our
 * SQS emulator, in memory or persisted under a data dir, plus SDK v3 clients for them and the
 * (idempotent) creation of the template's streams, tables and queues.
 */

import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LOCAL_REGION } from './intrinsics.js';
import { listen } from './listen.js';
import type { QueuePlan, StreamPlan, TablePlan } from './plan.js';
import { type SqsEmulator, startSqsEmulator } from './sqs-emulator.js';

const require = createRequire(import.meta.url);
// Both are CommonJS without types; each returns an http.Server. Without a `path` option they keep
// everything in memory (memdown / memory-level); with one, in LevelDB (leveldown / classic-level, whose
// packages ship prebuilt binaries that node-gyp-build loads, so no install script has to run).
const kinesalite = require('kinesalite') as (options: Record<string, unknown>) => Server;
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

/** Credentials the emulators accept (they do not check signatures). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Ports of the emulators; 0 picks a free one. */
export interface EmulatorPorts {
  kinesis?: number;
  dynamodb?: number;
  sqs?: number;
}

/** Running emulators and clients for them. */
export interface Emulators {
  endpoints: { kinesis: string; dynamodb: string; sqs: string };
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  close(): Promise<void>;
}

async function listenUrl(server: Server, port: number, host: string): Promise<string> {
  return `http://${host}:${await listen(server, port, host)}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Client settings for an emulator: HTTP/1.1 (the default HTTP/2 handler fails against them), dummy credentials. */
export function emulatorClientConfig(endpoint: string) {
  return {
    region: LOCAL_REGION,
    endpoint,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
  };
}

/**
 * Starts the three emulators: in memory, or with `dataDir` persisted in `<dataDir>/kinesis`,
 * `<dataDir>/dynamodb` (LevelDB) and `<dataDir>/sqs.jsonl` (the SQS emulator's journal).
 */
export async function startEmulators(
  ports: EmulatorPorts = {},
  host = '127.0.0.1',
  dataDir?: string,
): Promise<Emulators> {
  const path = (name: string) => {
    if (!dataDir) return {};
    mkdirSync(join(dataDir, name), { recursive: true });
    return { path: join(dataDir, name) };
  };
  const kinesisServer = kinesalite({
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 100,
    ...path('kinesis'),
  });
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...path('dynamodb') });
  let sqsEmulator: SqsEmulator | undefined;
  try {
    const [kinesisEndpoint, dynamoEndpoint, sqs] = await Promise.all([
      listenUrl(kinesisServer, ports.kinesis ?? 0, host),
      listenUrl(dynamoServer, ports.dynamodb ?? 0, host),
      startSqsEmulator({ port: ports.sqs ?? 0, host, ...(dataDir ? { dataFile: join(dataDir, 'sqs.jsonl') } : {}) }),
    ]);
    sqsEmulator = sqs;
    const kinesisClient = new KinesisClient(emulatorClientConfig(kinesisEndpoint));
    const dynamoClient = new DynamoDBClient(emulatorClientConfig(dynamoEndpoint));
    const sqsClient = new SQSClient(emulatorClientConfig(sqs.endpoint));
    return {
      endpoints: { kinesis: kinesisEndpoint, dynamodb: dynamoEndpoint, sqs: sqs.endpoint },
      kinesis: kinesisClient,
      dynamodb: dynamoClient,
      sqs: sqsClient,
      close: async () => {
        for (const client of [kinesisClient, dynamoClient, sqsClient]) client.destroy();
        await Promise.all([closeServer(kinesisServer), closeServer(dynamoServer), sqs.close()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([
      kinesisServer.listening ? closeServer(kinesisServer) : undefined,
      dynamoServer.listening ? closeServer(dynamoServer) : undefined,
      sqsEmulator?.close(),
    ]);
    throw error;
  }
}

/** A create that found the resource already there (a persisted stack restarting): reuse it. */
const alreadyThere = (error: unknown) => {
  if ((error as Error).name === 'ResourceInUseException') return;
  throw error;
};

/** Creates a stream unless it exists, waits until it is ACTIVE and returns its shard ids. */
export async function createStream(kinesis: KinesisClient, stream: StreamPlan): Promise<string[]> {
  await kinesis
    .send(new CreateStreamCommand({ StreamName: stream.name, ShardCount: stream.shardCount }))
    .catch(alreadyThere);
  for (let attempt = 0; attempt < 100; attempt++) {
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream.name }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
    await sleep(20);
  }
  const shards = await kinesis.send(new ListShardsCommand({ StreamName: stream.name }));
  return (shards.Shards ?? []).map((s) => s.ShardId ?? '');
}

/**
 * Creates a table unless it exists (on demand; TTL, PITR, encryption and streams are not emulated).
 * An existing table is kept as it is, even if the template changed its keys: delete the data dir then.
 */
export async function createTable(dynamodb: DynamoDBClient, table: TablePlan): Promise<void> {
  await dynamodb
    .send(
      new CreateTableCommand({
        TableName: table.name,
        KeySchema: table.keySchema,
        AttributeDefinitions: table.attributeDefinitions,
        BillingMode: 'PAY_PER_REQUEST',
        ...(table.globalSecondaryIndexes.length > 0 ? { GlobalSecondaryIndexes: table.globalSecondaryIndexes } : {}),
        ...(table.localSecondaryIndexes.length > 0 ? { LocalSecondaryIndexes: table.localSecondaryIndexes } : {}),
      }),
    )
    .catch(alreadyThere);
  await waitForTable(dynamodb, table.name);
}

/**
 * Waits until a table is ACTIVE. dynalite answers CreateTable while the table is still CREATING and
 * makes it ACTIVE on a timer, so on a loaded machine a request right after it can find no table.
 */
export async function waitForTable(dynamodb: DynamoDBClient, name: string): Promise<void> {
  for (let attempt = 0; attempt < 250; attempt++) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await sleep(20);
  }
  throw new Error(`table ${name} is not ACTIVE after 5 s`);
}

/** Creates a queue (SQS returns the existing one's URL) and returns its URL. */
export async function createQueue(sqs: SQSClient, queue: QueuePlan): Promise<string> {
  const response = await sqs.send(new CreateQueueCommand({ QueueName: queue.name, Attributes: queue.attributes }));
  return response.QueueUrl ?? '';
}
