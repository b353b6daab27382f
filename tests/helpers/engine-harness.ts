/**
 * Drives the engine the way the sources do, and badly: random batch cuts over interleaved partitions,
 * batches failing half way and retried with another cut, consumers rewinding to re-read committed
 * records, and producers sending duplicates. The generated workload comes from fast-check, so a
 * failing case shrinks to a small one.
 */
import fc from 'fast-check';
import {
  type BatchEnricher,
  type BatchResult,
  type CompiledPipeline,
  type EngineInput,
  type EngineStats,
  emptyEngineStats,
  runBatch,
} from '../../shared/engine/run-batch.js';
import type { SinkTarget } from '../../shared/engine/sinks.js';
import {
  type EngineStore,
  type ItemKey,
  MemoryEngineStore,
  type OutputItem,
  type OutputRange,
  type StoredItem,
} from '../../shared/engine/store.js';

/** The test events: an entity (the partition key), an item it concerns, a value, a stream. */
export interface TestEvent {
  entity: string;
  item: string;
  value: number;
  stream: 'click' | 'order';
  ts: number;
}

export const ALLOWED_LATENESS_MS = 5_000;
const BASE_TS = 1_700_000_000_000;

/** One event of an entity: how far its clock advances, how late it is sent, whether it is sent twice. */
const step = fc.record({
  // Round steps too, so that events land exactly on window bounds and session gaps.
  advanceMs: fc.oneof(
    fc.integer({ min: 0, max: 3_000 }),
    fc.integer({ min: 3_000, max: 40_000 }),
    fc.constantFrom(1_000, 4_000, 5_000, 8_000, 10_000),
  ),
  lagMs: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 15_000 }) },
  ),
  value: fc.integer({ min: 0, max: 100 }),
  item: fc.integer({ min: 0, max: 2 }),
  order: fc.boolean(),
  duplicateAfter: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 }) },
  ),
});

/** A workload: per entity its steps, and the numbers the delivery schedule draws from. */
export const workload = fc.record({
  entities: fc.array(fc.array(step, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 5 }),
  partitions: fc.integer({ min: 1, max: 3 }),
  schedule: fc.array(fc.nat({ max: 1_000 }), { minLength: 20, maxLength: 120 }),
});

export type Workload = typeof workload extends fc.Arbitrary<infer W> ? W : never;

/** A record in a partition, as a source would deliver it. */
export type TestRecord = EngineInput<TestEvent>;

/** The `i`th record of partition `p0` (its position), a click of `entity` on item `i0`. */
export const testRecord = (i: number, ts: number, value = 1, entity = 'u1'): TestRecord => ({
  event: { entity, item: 'i0', value, stream: 'click', ts },
  eventId: `${entity}-${i}`,
  ts,
  entity,
  stream: 'click',
  partition: 'p0',
  position: String(i).padStart(8, '0'),
});

/** Lays the workload out in partitions: an entity's events, duplicates included, in its partition's order. */
export function partitionsOf(w: Workload): TestRecord[][] {
  const partitions: Array<Array<Omit<TestRecord, 'position'>>> = Array.from({ length: w.partitions }, () => []);
  // Entities share partitions; their records interleave as their steps do.
  const queues = w.entities.map((steps, e) => {
    let clock = BASE_TS;
    const entity = `e${e}`;
    const records: Array<Omit<TestRecord, 'position'>> = [];
    const pending: Array<{ after: number; record: Omit<TestRecord, 'position'> }> = [];
    steps.forEach((s, i) => {
      clock += s.advanceMs;
      const event: TestEvent = {
        entity,
        item: `i${s.item}`,
        value: s.value,
        stream: s.order ? 'order' : 'click',
        ts: clock - s.lagMs,
      };
      const record = {
        event,
        eventId: `${entity}-${i}`,
        ts: event.ts,
        entity,
        stream: event.stream,
        partition: `p${e % w.partitions}`,
      };
      records.push(record);
      for (const p of pending) p.after--;
      records.push(...pending.filter((p) => p.after < 0).map((p) => p.record));
      pending.splice(0, pending.length, ...pending.filter((p) => p.after >= 0));
      if (s.duplicateAfter !== null) pending.push({ after: s.duplicateAfter, record });
    });
    records.push(...pending.map((p) => p.record));
    return records;
  });
  let i = 0;
  while (queues.some((q) => q.length > 0)) {
    const q = queues[i++ % queues.length] as Array<Omit<TestRecord, 'position'>>;
    const record = q.shift();
    if (record) (partitions[Number(record.partition.slice(1))] as (typeof record)[]).push(record);
  }
  return partitions.map((records) =>
    records.map((r, position) => ({ ...r, position: String(position).padStart(8, '0') })),
  );
}

/** A store that throws after a number of writes, as a batch stopping half way (a crash, a timeout) would. */
export class FaultyStore implements EngineStore {
  /** Writes left before the next one throws; undefined: never. */
  failAfterWrites: number | undefined;

  constructor(readonly inner: EngineStore) {}

  get(keys: ItemKey[]) {
    return this.inner.get(keys);
  }
  put(item: StoredItem, expectedVersion: number | undefined) {
    this.countWrite(1);
    return this.inner.put(item, expectedVersion);
  }
  query(pk: string, from: string, to: string) {
    return this.inner.query(pk, from, to);
  }
  due(pipeline: string, before: number, limit: number) {
    return this.inner.due(pipeline, before, limit);
  }
  putOutputs(outputs: OutputItem[]) {
    this.countWrite(outputs.length);
    return this.inner.putOutputs(outputs);
  }
  queryOutputs(pk: string, range: OutputRange) {
    return this.inner.queryOutputs(pk, range);
  }

  /** A sink target whose writes count (and fail) as this store's writes do: one per call. */
  faultySinks(inner: SinkTarget): SinkTarget {
    return {
      write: async (sink, writes) => {
        this.countWrite(1);
        await inner.write(sink, writes);
      },
    };
  }

  private countWrite(n: number) {
    if (this.failAfterWrites === undefined) return;
    if (this.failAfterWrites < n) throw new InjectedWriteFailure('injected write failure');
    this.failAfterWrites -= n;
  }
}

export class InjectedWriteFailure extends Error {
  override name = 'InjectedWriteFailure';
}

/** What a store holds, split into versioned items and write-once outputs. */
export interface StoreContents {
  items: StoredItem[];
  outputs: OutputItem[];
}

export interface Delivery {
  contents: StoreContents;
  /** Summed over every attempt, failed ones included, as a handler publishes them. */
  stats: EngineStats;
  attempts: number;
  failures: number;
}

export interface DeliveryOptions {
  /** The store under test. @default a new MemoryEngineStore */
  store?: EngineStore;
  /** Reads everything back from `store`. @default the memory store's maps */
  dump?: () => Promise<StoreContents>;
  now?: number;
  /** Each batch's enrichment step (reference data). @default none */
  enrich?: BatchEnricher<TestEvent, TestEvent>;
  /** Sees the result of each attempt that succeeded (what a handler would publish). @default none */
  onResult?: (result: BatchResult) => void;
  /** The sinks' target; its writes fail with the store's. @default none */
  sinks?: SinkTarget;
}

/** Everything a memory store holds. */
export const memoryContents = (store: MemoryEngineStore): StoreContents => ({
  items: [...store.items.values()],
  outputs: [...store.outputs.values()],
});

/**
 * Delivers every partition to the end through `runBatch`, with the schedule deciding batch cuts,
 * which partitions share a batch, write failures (the batch is then retried from its start with a new
 * cut) and rewinds (committed records read again).
 */
export async function deliver(
  compiled: CompiledPipeline<TestEvent>,
  partitions: TestRecord[][],
  schedule: number[],
  options: DeliveryOptions = {},
): Promise<Delivery> {
  const memory = new MemoryEngineStore();
  const inner = options.store ?? memory;
  const dump = options.dump ?? (async () => memoryContents(memory));
  const now = options.now ?? BASE_TS;
  const store = new FaultyStore(inner);
  const sinks = options.sinks ? { sinks: store.faultySinks(options.sinks) } : {};
  const stats = emptyEngineStats();
  let draw = 0;
  const next = (n: number) => (schedule[draw++ % schedule.length] as number) % n;
  const cursor = partitions.map(() => 0);
  let attempts = 0;
  let failures = 0;
  // Budgets keep every schedule finite: a run of failures or rewinds would otherwise never end.
  let failuresLeft = 8;
  let rewindsLeft = 8;
  while (cursor.some((c, p) => c < (partitions[p] as TestRecord[]).length)) {
    if (attempts > 10_000) throw new Error('delivery does not converge');
    const open = cursor.flatMap((c, p) => (c < (partitions[p] as TestRecord[]).length ? [p] : []));
    const chosen = new Set([open[next(open.length)] as number, open[next(open.length)] as number]);
    const taken = new Map<number, number>();
    const batch: TestRecord[] = [];
    for (const p of chosen) {
      const n = 1 + next(8);
      const records = (partitions[p] as TestRecord[]).slice(cursor[p], (cursor[p] as number) + n);
      batch.push(...records);
      taken.set(p, records.length);
    }
    attempts++;
    const fail = failuresLeft > 0 && next(4) === 0;
    if (fail) failuresLeft--;
    store.failAfterWrites = fail ? next(6) : undefined;
    try {
      const result = options.enrich
        ? await runBatch(compiled, batch, store, { now, ...sinks, enrich: options.enrich }, stats)
        : await runBatch(compiled, batch, store, { now, ...sinks }, stats);
      options.onResult?.(result);
      for (const [p, n] of taken) cursor[p] = (cursor[p] as number) + n;
    } catch (error) {
      if (!(error instanceof InjectedWriteFailure)) throw error;
      failures++;
    } finally {
      store.failAfterWrites = undefined;
    }
    if (rewindsLeft > 0 && next(5) === 0) {
      rewindsLeft--;
      const p = next(partitions.length);
      cursor[p] = Math.max(0, (cursor[p] as number) - 1 - next(5));
    }
  }
  return { contents: await dump(), stats, attempts, failures };
}

/** The bodies of the outputs of one kind (by sort-key prefix). */
export function outputsOf(contents: StoreContents, skPrefix: string) {
  return contents.outputs.filter((o) => o.sk.startsWith(skPrefix)).map((o) => o.body);
}
