/**
 * The engine's `ReferenceSource` over transit's ReferenceTable (`pk`/`sk`, feed versions; docs/contracts.md):
 * a key is a route id, its item the route's partition read in one query (`loadRoutePlacement`): shapes
 * and trips items, as `routeReference` reads them. The engine's `DynamoReferenceSource` gets one item by
 * `pk`; a route's shapes are several items (each up to 350 KB), hence this source. Like it, each
 * container keeps what it read, found or not, for a TTL (a reloaded feed is seen within it).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { forEachLimited } from '../../../shared/concurrency.js';
import { CachedReferenceSource } from '../../../shared/engine/cached-reference-source.js';
import type { ReferenceItem } from '../../../shared/engine/reference.js';
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

export class RouteReferenceSource extends CachedReferenceSource {
  private readonly concurrency: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    { ttlMs = 60_000, maxRoutes = 2_000, concurrency = 8 }: RouteReferenceSourceOptions = {},
  ) {
    super({ ttlMs, maxKeys: maxRoutes });
    this.concurrency = concurrency;
  }

  protected async read(routeIds: string[]): Promise<Map<string, ReferenceItem>> {
    const found = new Map<string, ReferenceItem>();
    await forEachLimited(routeIds, this.concurrency, async (routeId) => {
      const route = await loadRoutePlacement(routeId, { client: this.client, tableName: this.tableName });
      if (route) found.set(routeId, { ...route });
    });
    return found;
  }
}
