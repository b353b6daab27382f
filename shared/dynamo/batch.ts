/**
 * BatchGetItem / BatchWriteItem over any number of items, retrying what DynamoDB leaves unprocessed.
 * The one implementation every table writer uses (read models, GTFS loader, WebSocket connections).
 */
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { forEachLimited } from '../concurrency.js';

const GET_CHUNK = 100;
const WRITE_CHUNK = 25;

/** Thrown when DynamoDB keeps leaving items unprocessed (throttling) after every retry. */
export class UnprocessedItemsError extends Error {
  override name = 'UnprocessedItemsError';
}

/** Exponential backoff with full jitter: unprocessed items mean throttling, so callers must not retry in step. */
const backoff = (attempt: number, baseDelayMs: number) =>
  new Promise((r) => setTimeout(r, Math.random() * Math.min(2000, baseDelayMs * 2 ** attempt)));

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface BatchGetOptions {
  /** Requests per 100-key chunk before giving up with `UnprocessedItemsError`. @default 8 */
  maxAttempts?: number;
  /**
   * Strongly consistent reads: needed before a conditional write, where a stale read only buys a
   * failed condition and another round trip. @default false
   */
  consistentRead?: boolean;
}

export async function batchGetAll(
  client: DynamoDBDocumentClient,
  table: string,
  keys: Record<string, unknown>[],
  { maxAttempts = 8, consistentRead = false }: BatchGetOptions = {},
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (const chunk of chunks(keys, GET_CHUNK)) {
    let pending: Record<string, unknown>[] = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= maxAttempts) throw new UnprocessedItemsError(`${pending.length} reads from ${table} unprocessed`);
      if (attempt > 0) await backoff(attempt, 25);
      const result = await client.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: consistentRead } } }),
      );
      found.push(...(result.Responses?.[table] ?? []));
      pending = result.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
  return found;
}

export type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

export interface BatchWriteOptions {
  /** Requests per 25-item chunk before giving up with `UnprocessedItemsError`. @default 8 */
  maxAttempts?: number;
  /** Upper bound of the first retry's delay; it doubles per attempt (jittered, capped at 2 s). @default 25 */
  baseDelayMs?: number;
  /** Chunks in flight at once. @default 4 */
  concurrency?: number;
  /** Called after each chunk with the running total written. */
  onProgress?: (written: number, total: number) => void;
}

/**
 * Writes the requests 25 per BatchWriteItem, retrying unprocessed ones; returns how many were written.
 * A request list must not name the same key twice (DynamoDB rejects such a batch): callers deduplicate.
 */
export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  table: string,
  requests: WriteRequest[],
  options: BatchWriteOptions = {},
): Promise<number> {
  const maxAttempts = options.maxAttempts ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 25;
  let written = 0;
  await forEachLimited(chunks(requests, WRITE_CHUNK), options.concurrency ?? 4, async (chunk) => {
    let pending = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= maxAttempts) {
        throw new UnprocessedItemsError(
          `${pending.length} writes to ${table} unprocessed after ${maxAttempts} attempts`,
        );
      }
      if (attempt > 0) await backoff(attempt, baseDelayMs);
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      const left = (result.UnprocessedItems?.[table] ?? []) as WriteRequest[];
      written += pending.length - left.length;
      pending = left;
    }
    options.onProgress?.(written, requests.length);
  });
  return written;
}
