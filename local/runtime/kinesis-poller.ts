/**
 * The Kinesis event-source mapping of one shard: reads records, batches them (BatchSize,
 * MaximumBatchingWindowInSeconds), invokes the function with one batch in flight at a time, in order
 * (ParallelizationFactor 1), and follows `esm-decisions.ts` on failure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type _Record, GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { retryPauseMs, runBatch } from './batch-runner.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { FailureCondition, InvocationOutcome } from './esm-decisions.js';
import type { InvokeResult } from './function-host.js';
import {
  buildKinesisEvent,
  buildOnFailureRecord,
  failureDetails,
  type ShardRecord,
  type ShardSource,
} from './kinesis-events.js';
import type { KinesisMappingPlan } from './plan.js';

/** The function a poller invokes. */
export interface InvokableFunction {
  name: string;
  arn: string;
  invoke(event: unknown): Promise<InvokeResult>;
}

/** Options of a {@link ShardPoller}. */
export interface ShardPollerOptions {
  kinesis: KinesisClient;
  sqs: SQSClient;
  mapping: KinesisMappingPlan;
  streamName: string;
  streamArn: string;
  shardId: string;
  fn: InvokableFunction;
  /** URL of the on-failure queue, when the mapping has one. */
  onFailureQueueUrl?: string;
  /** Pause between empty reads. @default 200 */
  pollIntervalMs?: number;
  /** Pause before retrying a failed batch (times the retry number, capped at 1 s). @default 100 */
  retryDelayMs?: number;
  /** Where operational problems are reported. */
  log?: (message: string) => void;
  /** Where the shard's checkpoint is kept; a saved one is resumed after. @default none (start at startingPosition) */
  checkpoints?: CheckpointStore;
}

/** Counters of one shard's mapping. */
export interface ShardStats {
  shardId: string;
  /** `MillisBehindLatest` of the last read. */
  millisBehindLatest: number;
  /**
   * Age of the newest record of the last invoked batch when it was invoked, and 0 once a read finds the
   * shard caught up (nothing buffered, nothing new, `MillisBehindLatest` 0), as Lambda's IteratorAge is.
   */
  iteratorAgeMs: number;
  recordsRead: number;
  invocations: number;
  functionErrors: number;
  /** Records given up on (retries exhausted or too old). */
  recordsFailed: number;
  onFailureMessages: number;
  /** Sequence number of the last record processed or given up on. */
  checkpoint?: string;
}

/** Polls one shard for one mapping. */
export class ShardPoller {
  readonly stats: ShardStats;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly source: ShardSource;

  constructor(private readonly options: ShardPollerOptions) {
    this.stats = {
      shardId: options.shardId,
      millisBehindLatest: 0,
      iteratorAgeMs: 0,
      recordsRead: 0,
      invocations: 0,
      functionErrors: 0,
      recordsFailed: 0,
      onFailureMessages: 0,
    };
    this.source = { streamArn: options.streamArn, shardId: options.shardId, functionName: options.fn.name };
  }

  /** Starts polling in the background. */
  start(): void {
    this.running ??= this.run().catch((error: unknown) => {
      if (!this.abort.signal.aborted) this.log(`poller stopped: ${(error as Error).stack ?? String(error)}`);
    });
  }

  /** Stops reading, lets the batch in flight finish (no further retries) and resolves when done. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private log(message: string): void {
    this.options.log?.(`[${this.options.mapping.logicalId} ${this.options.shardId}] ${message}`);
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  private async iterator(afterSequenceNumber: string | undefined): Promise<string | undefined> {
    const { kinesis, streamName, shardId, mapping } = this.options;
    const response = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shardId,
        ...(afterSequenceNumber
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: afterSequenceNumber }
          : { ShardIteratorType: mapping.startingPosition }),
      }),
    );
    return response.ShardIterator;
  }

  private get checkpointKey(): string {
    return `${this.options.mapping.logicalId}/${this.options.shardId}`;
  }

  /** An iterator after the saved checkpoint (a batch in flight at a kill is read again), else at the starting position. */
  private async resume(): Promise<string | undefined> {
    const saved = this.options.checkpoints?.get(this.checkpointKey);
    if (saved === undefined) return this.iterator(undefined);
    this.stats.checkpoint = saved;
    try {
      return await this.iterator(saved);
    } catch (error) {
      this.log(
        `cannot resume after ${saved} (${(error as Error).message}); starting at ${this.options.mapping.startingPosition}`,
      );
      // The saved position is unusable: forget it, so an expired iterator later re-reads from the start position.
      this.stats.checkpoint = undefined;
      return this.iterator(undefined);
    }
  }

  private async run(): Promise<void> {
    const { mapping, kinesis } = this.options;
    const pollIntervalMs = this.options.pollIntervalMs ?? 200;
    const windowMs = mapping.maxBatchingWindowSeconds * 1000;
    let iterator = await this.resume();
    let lastRead = this.stats.checkpoint;
    const buffer: ShardRecord[] = [];
    let firstBufferedAt = 0;
    while (!this.stopping) {
      if (buffer.length < mapping.batchSize && iterator) {
        try {
          const response = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
          iterator = response.NextShardIterator;
          this.stats.millisBehindLatest = response.MillisBehindLatest ?? 0;
          const records = (response.Records ?? []).map(toShardRecord);
          if (buffer.length === 0 && records.length > 0) firstBufferedAt = Date.now();
          buffer.push(...records);
          // Caught up (one batch in flight at most, and none now): no record is waiting, so no age.
          if (buffer.length === 0 && this.stats.millisBehindLatest === 0) this.stats.iteratorAgeMs = 0;
          this.stats.recordsRead += records.length;
          lastRead = records.at(-1)?.sequenceNumber ?? lastRead;
        } catch (error) {
          if (this.stopping) break;
          // Iterators expire after 5 minutes (e.g. while a batch was retried): resume after the last read.
          if ((error as Error).name === 'ExpiredIteratorException') {
            try {
              iterator = await this.iterator(lastRead);
            } catch (cause) {
              // Keep polling (the next GetRecords fails again and retries the renewal) instead of stopping.
              this.log(`cannot renew the shard iterator: ${(cause as Error).message}`);
              await this.pause(1000);
            }
          } else {
            this.log(`GetRecords failed: ${(error as Error).message}`);
            await this.pause(1000);
          }
          continue;
        }
      }
      if (buffer.length === 0) {
        if (!iterator) break; // closed shard, fully read
        await this.pause(pollIntervalMs);
        continue;
      }
      const waited = Date.now() - firstBufferedAt;
      if (buffer.length < mapping.batchSize && waited < windowMs) {
        await this.pause(Math.min(pollIntervalMs, windowMs - waited));
        continue;
      }
      const batch = buffer.splice(0, mapping.batchSize);
      firstBufferedAt = Date.now();
      await this.processBatch(batch);
    }
  }

  private async invoke(records: ShardRecord[]): Promise<InvocationOutcome> {
    this.stats.invocations += 1;
    const last = records.at(-1);
    if (last) this.stats.iteratorAgeMs = Math.max(0, Date.now() - last.arrivalMs);
    const result = await this.options.fn.invoke(buildKinesisEvent(this.source, records));
    if (result.ok) return { kind: 'success', response: result.value };
    this.stats.functionErrors += 1;
    return { kind: 'error', errorType: result.errorType, errorMessage: result.errorMessage };
  }

  /** Runs one batch to completion: every record ends checkpointed or sent to the on-failure destination. */
  private async processBatch(batch: ShardRecord[]): Promise<void> {
    await runBatch(batch, this.options.mapping, {
      invoke: (records) => this.invoke(records),
      checkpoint: (through) => {
        this.stats.checkpoint = through.sequenceNumber;
      },
      giveUp: (records, condition, invokeCount, functionError) =>
        this.giveUp(records, condition, invokeCount, functionError),
      pauseBeforeRetry: (retries) => this.pause(retryPauseMs(retries, this.options.retryDelayMs)),
      stopping: () => this.stopping,
    });
    // After the batch, not per record: a kill mid-batch re-delivers the batch, which the function absorbs.
    if (this.stats.checkpoint !== undefined) this.options.checkpoints?.set(this.checkpointKey, this.stats.checkpoint);
  }

  private async giveUp(
    records: ShardRecord[],
    condition: FailureCondition,
    invokeCount: number,
    functionError: string | undefined,
  ): Promise<void> {
    this.stats.recordsFailed += records.length;
    this.stats.checkpoint = records.at(-1)?.sequenceNumber ?? this.stats.checkpoint;
    const { onFailureQueueUrl, sqs, fn } = this.options;
    const record = buildOnFailureRecord(
      this.source,
      records,
      failureDetails(fn.arn, condition, invokeCount, functionError),
    );
    if (!onFailureQueueUrl) {
      this.log(`dropped ${records.length} record(s) (${condition}); the mapping has no on-failure destination`);
      return;
    }
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: onFailureQueueUrl, MessageBody: JSON.stringify(record) }));
      this.stats.onFailureMessages += 1;
    } catch (error) {
      this.log(`could not send to the on-failure destination: ${(error as Error).message}`);
    }
  }
}

function toShardRecord(record: _Record): ShardRecord {
  return {
    sequenceNumber: record.SequenceNumber ?? '0',
    arrivalMs: record.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
    partitionKey: record.PartitionKey ?? '',
    data: record.Data ?? new Uint8Array(),
  };
}
