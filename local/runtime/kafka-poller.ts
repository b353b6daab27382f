/**
 * The MSK (Kafka) event-source mapping of one function, run by a kafkajs consumer group: reads the
 * mapping's topics, invokes the function with `MSKEvent` batches (BatchSize; the batching window is the
 * broker's fetch wait), one batch per partition in flight at a time, follows `esm-decisions.ts` on
 * failure, and commits a partition's offset only after its batch succeeded or was given up on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { retryPauseMs, runBatch } from './batch-runner.js';
import type { FailureCondition, InvocationOutcome } from './esm-decisions.js';
import { buildKafkaOnFailureRecord, buildMskEvent, type KafkaSource, type PartitionRecord } from './kafka-events.js';
import { failureDetails } from './kinesis-events.js';
import type { InvokableFunction } from './kinesis-poller.js';
import type { KafkaMappingPlan } from './plan.js';

/** Options of a {@link KafkaMappingPoller}. */
export interface KafkaMappingPollerOptions {
  kafka: Kafka;
  sqs: SQSClient;
  mapping: KafkaMappingPlan;
  source: KafkaSource;
  fn: InvokableFunction;
  /** URL of the on-failure queue, when the mapping has one. */
  onFailureQueueUrl?: string;
  /** Pause before retrying a failed batch (times the retry number, capped at 1 s). @default 100 */
  retryDelayMs?: number;
  /** Where operational problems are reported. */
  log?: (message: string) => void;
}

/** Counters of one Kafka mapping. */
export interface KafkaMappingStats {
  recordsRead: number;
  invocations: number;
  functionErrors: number;
  /** Records given up on (retries exhausted or too old). */
  recordsFailed: number;
  onFailureMessages: number;
  /** Per `topic-partition`: the next offset to read, as committed to the group. */
  committed: Record<string, string>;
  /** Per `topic-partition`: records behind the high watermark when the last batch was fetched. */
  offsetLag: Record<string, number>;
  /** Times the consumer crashed (e.g. the broker went away) and was restarted by kafkajs. */
  consumerRestarts: number;
}

/** Fetch at least this much before the broker's wait (the batching window) is over. */
const MIN_FETCH_BYTES = 1_000_000;

/** Polls the topics of one MSK mapping. */
export class KafkaMappingPoller {
  readonly stats: KafkaMappingStats = {
    recordsRead: 0,
    invocations: 0,
    functionErrors: 0,
    recordsFailed: 0,
    onFailureMessages: 0,
    committed: {},
    offsetLag: {},
    consumerRestarts: 0,
  };
  private readonly abort = new AbortController();
  private consumer: Consumer | undefined;

  constructor(private readonly options: KafkaMappingPollerOptions) {}

  /** Joins the consumer group and starts consuming in the background; resolves once subscribed. */
  async start(): Promise<void> {
    const { kafka, mapping } = this.options;
    const consumer = kafka.consumer({
      groupId: mapping.consumerGroupId,
      maxWaitTimeInMs: Math.max(100, mapping.maxBatchingWindowSeconds * 1000),
      minBytes: MIN_FETCH_BYTES,
      // Ride out a broker restart: kafkajs restarts a crashed consumer, from the committed offsets.
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5_000 },
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.stats.consumerRestarts += 1;
      this.log(`consumer crashed (${payload.error.message}); restart: ${payload.restart}`);
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: mapping.topics, fromBeginning: mapping.startingPosition === 'TRIM_HORIZON' });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** Stops consuming; the batch in flight finishes its current attempt (no further retries). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.consumer?.disconnect();
  }

  private log(message: string): void {
    this.options.log?.(`[${this.options.mapping.logicalId}] ${message}`);
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { mapping } = this.options;
    const key = `${batch.topic}-${batch.partition}`;
    this.stats.offsetLag[key] = Number(batch.offsetLag());
    const records = batch.messages.map((message) => toPartitionRecord(batch.topic, batch.partition, message));
    this.stats.recordsRead += records.length;
    for (let start = 0; start < records.length; start += mapping.batchSize) {
      if (!isRunning() || isStale() || this.abort.signal.aborted) return;
      const chunk = records.slice(start, start + mapping.batchSize);
      let done: PartitionRecord | undefined;
      const finished = await runBatch(chunk, mapping, {
        invoke: async (invoked) => {
          const outcome = await this.invoke(invoked);
          await heartbeat();
          return outcome;
        },
        checkpoint: (through) => {
          done = through;
        },
        giveUp: async (given, condition, invokeCount, functionError) => {
          await this.giveUp(given, condition, invokeCount, functionError);
          done = given.at(-1) ?? done;
        },
        pauseBeforeRetry: (retries) =>
          sleep(retryPauseMs(retries, this.options.retryDelayMs), undefined, { signal: this.abort.signal }).catch(
            () => undefined,
          ),
        stopping: () => this.abort.signal.aborted,
      });
      if (done) await this.commit(batch.topic, batch.partition, done.offset, resolveOffset);
      if (!finished) return;
    }
  }

  /** Commits `offset + 1` for the partition; a failure (broker down) rethrows so the consumer restarts and re-reads. */
  private async commit(
    topic: string,
    partition: number,
    offset: number,
    resolveOffset: (offset: string) => void,
  ): Promise<void> {
    resolveOffset(String(offset));
    const next = String(offset + 1);
    await this.consumer?.commitOffsets([{ topic, partition, offset: next }]);
    this.stats.committed[`${topic}-${partition}`] = next;
  }

  private async invoke(records: PartitionRecord[]): Promise<InvocationOutcome> {
    this.stats.invocations += 1;
    const result = await this.options.fn.invoke(buildMskEvent(this.options.source, records));
    if (result.ok) return { kind: 'success', response: result.value };
    this.stats.functionErrors += 1;
    return { kind: 'error', errorType: result.errorType, errorMessage: result.errorMessage };
  }

  private async giveUp(
    records: PartitionRecord[],
    condition: FailureCondition,
    invokeCount: number,
    functionError: string | undefined,
  ): Promise<void> {
    this.stats.recordsFailed += records.length;
    const { onFailureQueueUrl, sqs, fn, source } = this.options;
    if (!onFailureQueueUrl) {
      this.log(`dropped ${records.length} record(s) (${condition}); the mapping has no on-failure destination`);
      return;
    }
    const record = buildKafkaOnFailureRecord(
      source,
      records,
      failureDetails(fn.arn, condition, invokeCount, functionError),
    );
    // Not sent = not given up on: the error fails the batch, the offset stays uncommitted, it is read again.
    await sqs.send(new SendMessageCommand({ QueueUrl: onFailureQueueUrl, MessageBody: JSON.stringify(record) }));
    this.stats.onFailureMessages += 1;
  }
}

function toPartitionRecord(topic: string, partition: number, message: KafkaMessage): PartitionRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    sequenceNumber: message.offset,
    arrivalMs: Number(message.timestamp),
    key: message.key,
    value: message.value,
    headers: Object.fromEntries(
      Object.entries(message.headers ?? {}).map(([name, value]) => [name, Array.isArray(value) ? value[0] : value]),
    ),
  };
}
