/**
 * Reference data on DynamoDB: a table keyed by the string `pk`, one item per reference, read with
 * BatchGetItem (100 keys a request, unprocessed keys retried with backoff). Each Lambda container keeps
 * what it read, found or not, for a short TTL: a batch then reads only the keys it has not seen lately,
 * at the cost of staleness (an item changed or added in the table is seen by a container within `ttlMs`).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LRUCache } from 'lru-cache';
import { batchGetAll } from '../dynamo/batch.js';
import type { ReferenceItem, ReferenceSource } from './reference.js';

/** Options of a {@link DynamoReferenceSource}. */
export interface DynamoReferenceSourceOptions {
  /** How long a container keeps an item, or its absence; 0 reads every key every batch. @default 60_000 */
  ttlMs?: number;
  /** Keys a container keeps at most, least recently used dropped first. @default 10_000 */
  maxKeys?: number;
  /** The cache's clock in ms, for tests. @default performance.now */
  clock?: () => number;
}

/** A cached read: the item, or `undefined` for a key the table does not have. */
interface Cached {
  item: ReferenceItem | undefined;
}

export class DynamoReferenceSource implements ReferenceSource {
  private readonly cache: LRUCache<string, Cached> | undefined;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    { ttlMs = 60_000, maxKeys = 10_000, clock }: DynamoReferenceSourceOptions = {},
  ) {
    this.cache =
      ttlMs > 0
        ? new LRUCache<string, Cached>({
            max: maxKeys,
            ttl: ttlMs,
            ...(clock ? { perf: { now: clock }, ttlResolution: 0 } : {}),
          })
        : undefined;
  }

  async load(keys: readonly string[]): Promise<Map<string, ReferenceItem>> {
    const found = new Map<string, ReferenceItem>();
    const wanted: string[] = [];
    for (const key of keys) {
      const cached = this.cache?.get(key);
      if (!cached) wanted.push(key);
      else if (cached.item) found.set(key, cached.item);
    }
    if (wanted.length === 0) return found;
    // Eventually consistent: reference data changes rarely, and the cache is staler than any replica.
    const rows = await batchGetAll(
      this.client,
      this.tableName,
      wanted.map((pk) => ({ pk })),
    );
    const byKey = new Map<string, ReferenceItem>();
    for (const { pk, ...item } of rows) byKey.set(String(pk), item);
    for (const key of wanted) {
      const item = byKey.get(key);
      this.cache?.set(key, { item });
      if (item) found.set(key, item);
    }
    return found;
  }
}
