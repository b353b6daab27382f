/**
 * The engine's storage port: versioned items with per-partition positions, and write-once outputs.
 * DynamoDB implements it in AWS and offline; `MemoryEngineStore` serves unit tests and the benchmark.
 *
 * Every operator keeps its state in items addressed by `pk` (operator and key) and `sk` (the window,
 * or `state`). An item is written only with a version check, which is what lets many partitions
 * update one key, and a retried batch find its own earlier writes.
 */
import type { Json } from './accumulators.js';

export interface ItemKey {
  pk: string;
  sk: string;
}

export interface StoredItem extends ItemKey {
  /** +1 per write; the condition of the next write. */
  version: number;
  /** Per source partition, the highest record position folded into this item. */
  positions: Record<string, string>;
  body: Record<string, Json>;
  /** Open windows: when the tick may close them (epoch ms). Absent once closed. */
  closeAt?: number;
  /** Keyed state: reads as absent at or after this time (epoch ms). The emulator has no TTL sweep. */
  expiresAt?: number;
}

/** A result written once and never changed: a late event, a join match, a closed session. */
export interface OutputItem extends ItemKey {
  body: Record<string, Json>;
}

export interface EngineStore {
  get(keys: ItemKey[]): Promise<Map<string, StoredItem>>;
  /** Writes if the stored version is `expectedVersion` (undefined: if absent). False when it is not. */
  put(item: StoredItem, expectedVersion: number | undefined): Promise<boolean>;
  /** Items of `pk` with `from <= sk <= to`, in `sk` order. */
  query(pk: string, from: string, to: string): Promise<StoredItem[]>;
  /** A pipeline's items whose `closeAt` is at or before `before`, oldest first, at most `limit`. */
  due(pipeline: string, before: number, limit: number): Promise<StoredItem[]>;
  /** Writes each output unless one with its key exists; returns how many were new. */
  putOutputs(outputs: OutputItem[]): Promise<number>;
  /**
   * Outputs of `pk` with `from <= sk <= to`, at most `limit`, in `sk` order or newest (highest `sk`)
   * first; `after` continues a page from the last `sk` it returned.
   */
  queryOutputs(pk: string, range: OutputRange): Promise<OutputItem[]>;
}

export interface OutputRange {
  from: string;
  to: string;
  limit: number;
  descending?: boolean;
  /** The `sk` of the last output of the previous page. */
  after?: string;
  /** Sees every output written before the call (a detector checking its own), at twice the read cost. @default false */
  consistent?: boolean;
}

/** An item's key as one string, e.g. for a Map of items. */
export const itemKeyOf = (pk: string, sk: string) => `${pk}|${sk}`;
export const itemKey = (key: ItemKey) => itemKeyOf(key.pk, key.sk);

/** A window's sort key: its start, zero-padded so that string order is time order (for ranges). */
export const windowSk = (start: number) => `w#${String(start).padStart(16, '0')}`;
/** The window start a `windowSk` names. */
export const windowStartOfSk = (sk: string) => Number(sk.slice(2));

/**
 * An in-memory store with DynamoDB's conditional semantics. Stored items are frozen and handed out
 * as they are: the engine builds a new item for every write, so nothing is copied, and a caller that
 * tried to change a returned item would throw rather than change the store.
 */
export class MemoryEngineStore implements EngineStore {
  readonly items = new Map<string, StoredItem>();
  readonly outputs = new Map<string, OutputItem>();
  /** Requests as DynamoDB bills them: one per item written, one per 100 keys read. */
  readonly requests = { reads: 0, writes: 0, conditionalFailures: 0, queries: 0 };

  async get(keys: ItemKey[]) {
    this.requests.reads += Math.ceil(keys.length / 100);
    const found = new Map<string, StoredItem>();
    for (const key of keys) {
      const id = itemKey(key);
      const item = this.items.get(id);
      if (item) found.set(id, item);
    }
    return found;
  }

  async put(item: StoredItem, expectedVersion: number | undefined) {
    this.requests.writes++;
    const key = itemKey(item);
    if (this.items.get(key)?.version !== expectedVersion) {
      this.requests.conditionalFailures++;
      return false;
    }
    this.items.set(key, Object.freeze(item));
    return true;
  }

  async query(pk: string, from: string, to: string) {
    this.requests.queries++;
    return [...this.items.values()]
      .filter((item) => item.pk === pk && item.sk >= from && item.sk <= to)
      .sort((a, b) => (a.sk < b.sk ? -1 : 1));
  }

  async due(pipeline: string, before: number, limit: number) {
    this.requests.queries++;
    return [...this.items.values()]
      .filter((item) => item.pk.startsWith(`${pipeline}#`) && item.closeAt !== undefined && item.closeAt <= before)
      .sort((a, b) => (a.closeAt as number) - (b.closeAt as number))
      .slice(0, limit);
  }

  async putOutputs(outputs: OutputItem[]) {
    let written = 0;
    for (const output of outputs) {
      this.requests.writes++;
      const key = itemKey(output);
      if (this.outputs.has(key)) continue;
      this.outputs.set(key, Object.freeze(output));
      written++;
    }
    return written;
  }

  async queryOutputs(pk: string, { from, to, limit, descending = false, after }: OutputRange) {
    this.requests.queries++;
    const inRange = [...this.outputs.values()]
      .filter((o) => o.pk === pk && o.sk >= from && o.sk <= to)
      .filter((o) => after === undefined || (descending ? o.sk < after : o.sk > after))
      .sort((a, b) => (a.sk < b.sk ? -1 : 1));
    return (descending ? inRange.reverse() : inRange).slice(0, limit);
  }
}
