/**
 * Fan-out of output-stream records to WebSocket subscribers. Per batch: subscriber lists are read once per
 * topic, a connection gets each record once however many of its topics match, and a connection found gone
 * (410) is forgotten and skipped for the rest of the batch.
 */

import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { PartialItemFailureResponse } from '@aws-lambda-powertools/batch/types';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { forEachLimited } from '../concurrency.js';
import {
  InvalidOutputRecordError,
  type OutputKinds,
  type ReadOutputRecord,
  readOutputRecord,
} from '../streams/output-record.js';
import type { ConnectionStore } from './connection-store.js';

/** The part of the API Gateway management client the broadcaster uses. */
export interface ConnectionPoster {
  send(command: PostToConnectionCommand): Promise<unknown>;
}

/** Where counts go (Powertools `Metrics` in production). */
export interface CountSink {
  addMetric(name: string, unit: 'Count', value: number): void;
}

export interface BroadcastDeps {
  store: ConnectionStore;
  poster: ConnectionPoster;
  metrics: CountSink;
  /** The record kinds the stack's pipelines publish besides `pipeline` (transit's `vehicle`, ...). */
  kinds: OutputKinds;
}

/** The message a subscriber receives (docs/contracts.md). */
export interface BroadcastMessage {
  topic: string;
  /** The record's kind, or a pipeline message's own `type`. */
  kind: string;
  data: unknown;
}

export { InvalidOutputRecordError };

/** Posting failed for reasons other than a gone connection; the record is reported failed and retried. */
export class BroadcastError extends Error {
  override name = 'BroadcastError';
}

/** Posts in flight per record: a popular topic must not open thousands of sockets at once or trip the API's throttle. */
const POST_CONCURRENCY = 32;

/** `Promise.allSettled` over `items`, running at most `limit` of `task` at a time, results in input order. */
async function settleWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  await forEachLimited(items, limit, async (item, index) => {
    try {
      results[index] = { status: 'fulfilled', value: await task(item) };
    } catch (reason) {
      results[index] = { status: 'rejected', reason };
    }
  });
  return results;
}

/**
 * Decodes a Kinesis record of the output stream into its public shape. The processor publishes projected
 * records; projecting again here keeps a record written by an older processor (the stream holds a day)
 * from pushing storage fields to clients.
 */
export function decodeOutputRecord(record: KinesisStreamRecord, kinds: OutputKinds): ReadOutputRecord {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
  } catch (cause) {
    throw new InvalidOutputRecordError(`record ${record.kinesis.sequenceNumber} is not JSON`, { cause });
  }
  return readOutputRecord(value, kinds, `record ${record.kinesis.sequenceNumber}`);
}

/** True for the management API's "connection is gone" answer (410 GoneException). */
export function isGone(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'GoneException' || e?.$metadata?.httpStatusCode === 410;
}

/** A per-batch record handler; create one per invocation so its caches live exactly one batch. */
export function createFanout({ store, poster, metrics, kinds }: BroadcastDeps) {
  const subscribers = new Map<string, Promise<string[]>>();
  const gone = new Set<string>();

  const subscribersOf = (topic: string) => {
    let list = subscribers.get(topic);
    if (!list) {
      list = store.subscribers(topic);
      // A failed read must not be cached for the next record.
      list.catch(() => subscribers.delete(topic));
      subscribers.set(topic, list);
    }
    return list;
  };

  return async function handleRecord(record: KinesisStreamRecord): Promise<void> {
    const output = decodeOutputRecord(record, kinds);
    const { topics } = output;
    const lists = await Promise.all(topics.map(subscribersOf));
    // First matching topic wins, so each connection gets the record once.
    const targets = new Map<string, string>();
    lists.forEach((ids, i) => {
      for (const id of ids) if (!gone.has(id) && !targets.has(id)) targets.set(id, topics[i]!);
    });

    const results = await settleWithConcurrency([...targets], POST_CONCURRENCY, async ([connectionId, topic]) => {
      const message: BroadcastMessage = { topic, kind: output.kind, data: output.data };
      try {
        await poster.send(
          new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(message)) }),
        );
        return 'sent' as const;
      } catch (error) {
        if (!isGone(error)) throw error;
        gone.add(connectionId);
        await store.disconnect(connectionId);
        return 'gone' as const;
      }
    });

    const sent = results.filter((r) => r.status === 'fulfilled' && r.value === 'sent').length;
    const forgotten = results.filter((r) => r.status === 'fulfilled' && r.value === 'gone').length;
    if (sent > 0) metrics.addMetric('BroadcastsSent', 'Count', sent);
    if (forgotten > 0) metrics.addMetric('ConnectionsGone', 'Count', forgotten);
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) {
      throw new BroadcastError(`${failures.length} of ${results.length} posts failed`, {
        cause: failures.length === 1 ? failures[0]?.reason : new AggregateError(failures.map((f) => f.reason)),
      });
    }
  };
}

const processor = new BatchProcessor(EventType.KinesisDataStreams);

/**
 * Broadcasts a batch, reporting failed records in `batchItemFailures`. Records go one at a time so a
 * key's updates reach clients in stream order.
 */
export function broadcastBatch(
  event: KinesisStreamEvent,
  deps: BroadcastDeps,
  context?: Context,
): Promise<PartialItemFailureResponse> {
  return processPartialResponse(event, createFanout(deps), processor, { context, processInParallel: false });
}
