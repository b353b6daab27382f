/**
 * Sinks: rows another table keeps as a function of an operator's updates, such as a vehicle's stop
 * ETAs from its state. Per update a sink names idempotent puts and deletes, and the engine hands them
 * to a `SinkTarget` after the update's detections and before its item: once the item is written, a
 * retry finds every contribution in it and folds nothing again (its `previous` is gone), so the writes
 * must be done by then; a retry before that writes them again, which idempotent rows allow.
 *
 * What a sink may not rely on: that an attempt's writes are its last. A failed attempt's writes stay,
 * and its retry (perhaps with another cut of the batch) writes its own over them; a sink whose rows
 * follow from the newest state (each put keyed so the next one overwrites it, each delete of a row
 * no later state brings back) ends as if every batch had run once.
 */
import type { BaselineRequest, ClosedBaseline } from './baselines.js';
import type { FoldedEvent } from './detectors.js';
import type { Update } from './operators/operator.js';

/** A sink's writes of one update: rows to put (each carrying its key) and keys to delete. */
export interface SinkWrites {
  puts: Array<Record<string, unknown>>;
  deletes: Array<Record<string, unknown>>;
}

/** What a sink may read besides the update. */
export interface SinkContext {
  /** The batch's processing time (epoch ms), as the fold had it. */
  now: number;
  /** A baseline, as a fold or detector reads it (the same request gives the same value within a batch). */
  baseline(request: BaselineRequest): Promise<ClosedBaseline>;
  /**
   * The pipeline's reference data for a key, read as the enrichment reads it (through the same source,
   * so its cache); undefined when the key has no usable item or the pipeline declares none.
   */
  reference(key: string): Promise<unknown>;
}

export interface Sink<E = unknown> {
  name: string;
  /** The operator whose updates it follows. */
  on: string;
  /** The attributes that make a row's key: every put carries them, every delete is made of them. */
  key: readonly string[];
  /** The writes of one update; `events` are what the write folded into the update's item, in order. */
  writes(update: Update, ctx: SinkContext, events: ReadonlyArray<FoldedEvent<E>>): SinkWrites | Promise<SinkWrites>;
}

/** Where sink writes go (a table per sink). */
export interface SinkTarget {
  /** Writes them all, or throws (the batch fails and is retried). One call never names a key twice. */
  write(sink: string, writes: SinkWrites): Promise<void>;
}

/** The definition has sinks, but the batch was given no target for them. */
export class MissingSinkTargetError extends Error {
  override name = 'MissingSinkTargetError';
}

/** The key of a row (or a delete) under a sink's key attributes, as one string. */
export const sinkRowKey = (key: readonly string[], row: Record<string, unknown>) =>
  JSON.stringify(key.map((attribute) => row[attribute]));

/**
 * Merges writes so that one call names each key once: a later write of a key replaces an earlier one,
 * as it would have had they been sent one after the other.
 */
export function mergeSinkWrites(key: readonly string[], all: readonly SinkWrites[]): SinkWrites {
  const last = new Map<string, { put?: Record<string, unknown>; delete?: Record<string, unknown> }>();
  for (const writes of all) {
    for (const d of writes.deletes) last.set(sinkRowKey(key, d), { delete: d });
    for (const p of writes.puts) last.set(sinkRowKey(key, p), { put: p });
  }
  const merged: SinkWrites = { puts: [], deletes: [] };
  for (const w of last.values()) {
    if (w.put) merged.puts.push(w.put);
    else if (w.delete) merged.deletes.push(w.delete);
  }
  return merged;
}

/** Sink rows in memory, by sink and key: for tests and the offline runtime's fakes. */
export class MemorySinkTarget implements SinkTarget {
  readonly rows = new Map<string, Map<string, Record<string, unknown>>>();
  /** Write requests (puts plus deletes), summed. */
  writeRequests = 0;

  constructor(private readonly keys: Record<string, readonly string[]>) {}

  async write(sink: string, { puts, deletes }: SinkWrites): Promise<void> {
    const key = this.keys[sink];
    if (!key) throw new RangeError(`no sink "${sink}"`);
    const rows = this.rows.get(sink) ?? new Map();
    this.rows.set(sink, rows);
    const named = new Set<string>();
    for (const row of [...deletes, ...puts]) {
      const id = sinkRowKey(key, row);
      if (named.has(id)) throw new RangeError(`sink ${sink}: one write names key ${id} twice`);
      named.add(id);
    }
    for (const d of deletes) rows.delete(sinkRowKey(key, d));
    for (const p of puts) rows.set(sinkRowKey(key, p), structuredClone(p));
    this.writeRequests += puts.length + deletes.length;
  }

  /** A sink's rows, sorted by key. */
  list(sink: string): Array<Record<string, unknown>> {
    const rows = this.rows.get(sink) ?? new Map();
    return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
  }
}
