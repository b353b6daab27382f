/**
 * The engine's `ReferenceSource` over transit's ReferenceTable (`pk`/`sk`, feed versions; docs/contracts.md):
 * a key is a route id, its item the route's partition read in one query (`loadRoutePlacement`): shapes
 * and trips items, as `routeReference` reads them. The engine's `DynamoReferenceSource` gets one item by
 * `pk`; a route's shapes are several items (each up to 350 KB), hence this source. Like it, each
 * container keeps what it read, found or not, for a TTL (a reloaded feed is seen within it).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LRUCache } from 'lru-cache';
import { forEachLimited } from '../../../shared/concurrency.js';
import type { ReferenceItem, ReferenceSource } from '../../../shared/engine/reference.js';
import { loadRoutePlacement } from '../gtfs/reference-store.js';

/** Options of a {@link RouteReferenceSource}. */
export interface RouteReferenceSourceOptions {
  /** How long a container keeps a route, or its absence; 0 reads every route every batch. @default 60_000 */
  ttlMs?: number;
  /** Routes a container keeps at most. @default 2_000 */
  maxRoutes?: number;
  /** Routes read at once. @default 8 */
  concurrency?: number;
}

interface Cached {
  item: ReferenceItem | undefined;
}

export class RouteReferenceSource implements ReferenceSource {
  private readonly cache: LRUCache<string, Cached> | undefined;
  private readonly concurrency: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    { ttlMs = 60_000, maxRoutes = 2_000, concurrency = 8 }: RouteReferenceSourceOptions = {},
  ) {
    this.cache = ttlMs > 0 ? new LRUCache<string, Cached>({ max: maxRoutes, ttl: ttlMs }) : undefined;
    this.concurrency = concurrency;
  }

  async load(keys: readonly string[]): Promise<Map<string, ReferenceItem>> {
    const found = new Map<string, ReferenceItem>();
    const wanted: string[] = [];
    for (const key of keys) {
      const cached = this.cache?.get(key);
      if (!cached) wanted.push(key);
      else if (cached.item) found.set(key, cached.item);
    }
    // A failed query throws: the enrichment fails the batch, and nothing is cached for it.
    await forEachLimited(wanted, this.concurrency, async (routeId) => {
      const route = await loadRoutePlacement(routeId, { client: this.client, tableName: this.tableName });
      const item = route ? { ...route } : undefined;
      this.cache?.set(routeId, { item });
      if (item) found.set(routeId, item);
    });
    return found;
  }
}
