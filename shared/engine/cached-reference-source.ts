/**
 * A reference source that keeps, per Lambda container, what it read (found or not) for a short TTL:
 * a batch reads only the keys it has not seen lately, at the cost of staleness (an item changed or
 * added where it is read from is seen by a container within `ttlMs`). The reading is the subclass's.
 */
import { LRUCache } from 'lru-cache';
import type { ReferenceItem, ReferenceSource } from './reference.js';

export interface CachedReferenceOptions {
  /** How long a container keeps an item, or its absence; 0 reads every key every batch. @default 60_000 */
  ttlMs?: number;
  /** Keys a container keeps at most, least recently used dropped first. @default 10_000 */
  maxKeys?: number;
  /** The cache's clock in ms, for tests. @default performance.now */
  clock?: () => number;
}

/** A cached read: the item, or `undefined` for a key the source does not have. */
interface Cached {
  item: ReferenceItem | undefined;
}

export abstract class CachedReferenceSource implements ReferenceSource {
  private readonly cache: LRUCache<string, Cached> | undefined;

  constructor({ ttlMs = 60_000, maxKeys = 10_000, clock }: CachedReferenceOptions = {}) {
    this.cache =
      ttlMs > 0
        ? new LRUCache<string, Cached>({
            max: maxKeys,
            ttl: ttlMs,
            ...(clock ? { perf: { now: clock }, ttlResolution: 0 } : {}),
          })
        : undefined;
  }

  /** The items of the keys not cached; a key missing from the result is absent. Throws to fail the batch. */
  protected abstract read(keys: string[]): Promise<Map<string, ReferenceItem>>;

  async load(keys: readonly string[]): Promise<Map<string, ReferenceItem>> {
    const found = new Map<string, ReferenceItem>();
    const wanted: string[] = [];
    for (const key of keys) {
      const cached = this.cache?.get(key);
      if (!cached) wanted.push(key);
      else if (cached.item) found.set(key, cached.item);
    }
    if (wanted.length === 0) return found;
    // A failed read throws before anything is cached: the enrichment fails the batch, and it is retried.
    const read = await this.read(wanted);
    for (const key of wanted) {
      const item = read.get(key);
      this.cache?.set(key, { item });
      if (item) found.set(key, item);
    }
    return found;
  }
}
