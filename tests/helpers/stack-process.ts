// Runs the local stack in a child process (see stack-process-main.ts) and gives a test the clients, queue
// drains and mapping metrics it needs, plus whether that process is still alive: for fuzzing, where an input
// that crashes the process must fail an assertion rather than take the test runner down with it.
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { emulatorClientConfig } from '../../local/runtime/emulators.js';
import type { FaultInjection } from '../../local/runtime/fault-injection.js';
import type { LocalStackMetrics } from '../../local/runtime/local-stack.js';

/** What the parent asks the child to start. */
export interface StackProcessStart {
  kafka?: true | { brokers: string[] };
  gtfsDir?: string;
  /** Persistent state (see `startLocalStack`): a stack killed and started again on it goes on where it was. */
  dataDir?: string;
  faultInjection?: FaultInjection;
}

/** What the child reports once the stack runs. */
export interface StackProcessInfo {
  restUrl: string;
  wsUrl: string;
  apiKey: string;
  endpoints: { kinesis: string; dynamodb: string; sqs: string };
  resources: Record<string, string>;
  kinesisMappings: { logicalId: string; streamLogicalId: string; functionLogicalId: string }[];
  kafkaBrokers: string[];
  startupMs: number;
}

export type StackProcessRequest = { type: 'metrics'; id: number } | { type: 'stop' };

/** A message of a queue as received: its parsed body and the body's size in bytes. */
export interface ReceivedMessage {
  body: unknown;
  bytes: number;
  raw: string;
}

/** The local stack in a child process. */
export interface StackProcess extends StackProcessInfo {
  kinesis: KinesisClient;
  sqs: SQSClient;
  dynamo: DynamoDBDocumentClient;
  /** The logical id of a resource by its contract prefix (CDK appends a hash). */
  resourceId(prefix: string): string;
  /** Undefined while the process runs; its exit code or signal once it has exited. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The last lines the process wrote to stderr (runtime notes, a crash's stack trace). */
  stderrTail(): string;
  metrics(): Promise<LocalStackMetrics>;
  /** Receives and deletes every message of a queue (by logical id) that arrives within `waitMs`. */
  drainQueue(queueLogicalId: string, waitMs?: number): Promise<ReceivedMessage[]>;
  /** `kill -9`: the stack gets no chance to clean up or flush anything. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'stack-process-main.ts');
const TSX_LOADER = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs');
const STDERR_TAIL_CHARS = 8_000;

/** Starts the local stack in a child process and resolves once it serves. */
export async function startStackProcess(start: StackProcessStart = {}, timeoutMs = 240_000): Promise<StackProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', TSX_LOADER, MAIN], {
    env: { ...process.env, STREAMFOLD_STACK_PROCESS: JSON.stringify(start) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + String(chunk)).slice(-STDERR_TAIL_CHARS);
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
  });
  const pending = new Map<number, (metrics: LocalStackMetrics) => void>();
  let nextId = 0;
  const info = await new Promise<StackProcessInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stack did not start within ${timeoutMs} ms`)), timeoutMs);
    child.on(
      'message',
      (message: { type: string; info?: StackProcessInfo; id?: number; metrics?: LocalStackMetrics }) => {
        if (message.type === 'ready' && message.info) {
          clearTimeout(timer);
          resolve(message.info);
        } else if (message.type === 'metrics' && message.id !== undefined && message.metrics) {
          pending.get(message.id)?.(message.metrics);
          pending.delete(message.id);
        }
      },
    );
    void exitedPromise.then(() => {
      clearTimeout(timer);
      reject(new Error(`the stack process exited before it was ready (${JSON.stringify(exit)}): ${stderr}`));
    });
  });

  const kinesis = new KinesisClient(emulatorClientConfig(info.endpoints.kinesis));
  const sqs = new SQSClient(emulatorClientConfig(info.endpoints.sqs));
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(emulatorClientConfig(info.endpoints.dynamodb)));
  const resourceId = (prefix: string) => {
    const id = Object.keys(info.resources).find((key) => key.startsWith(prefix));
    if (!id) throw new Error(`the stack has no resource ${prefix}*`);
    return id;
  };
  return {
    ...info,
    kinesis,
    sqs,
    dynamo,
    resourceId,
    exited: () => exit,
    stderrTail: () => stderr,
    metrics: () => {
      if (exit) return Promise.reject(new Error(`the stack process has exited (${JSON.stringify(exit)})`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the stack process did not answer a metrics request')), 10_000);
        pending.set(id, (metrics) => {
          clearTimeout(timer);
          resolve(metrics);
        });
        child.send({ type: 'metrics', id } satisfies StackProcessRequest);
      });
    },
    async drainQueue(queueLogicalId, waitMs = 0) {
      const queueUrl = info.resources[queueLogicalId];
      if (!queueUrl) throw new Error(`the stack has no queue ${queueLogicalId}`);
      const messages: ReceivedMessage[] = [];
      const deadline = Date.now() + waitMs;
      for (;;) {
        const response = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        const received = response.Messages ?? [];
        for (const message of received) {
          const raw = message.Body ?? '';
          let body: unknown;
          try {
            body = JSON.parse(raw);
          } catch {
            body = raw;
          }
          messages.push({ body, bytes: Buffer.byteLength(raw), raw });
        }
        if (received.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: received.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
          continue;
        }
        if (Date.now() >= deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return messages;
    },
    async kill() {
      for (const client of [kinesis, sqs, dynamo]) client.destroy();
      if (!exit) child.kill('SIGKILL');
      await exitedPromise;
    },
    async stop() {
      for (const client of [kinesis, sqs, dynamo]) client.destroy();
      if (!exit) {
        child.send({ type: 'stop' } satisfies StackProcessRequest);
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exitedPromise;
        clearTimeout(killer);
      }
    },
  };
}
