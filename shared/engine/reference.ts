/**
 * Enrichment from reference data: a pipeline's events name something kept elsewhere (a sensor's site
 * and limits, a trip's route and shape) and its operators need it. The definition says, per event, the
 * key to look up (or none), whether the reference is required, how a stored item reads and how an event
 * is combined with it; a `ReferenceSource` loads the distinct keys of a batch in one call.
 *
 * What it guarantees (docs/engine.md, "Reference data"):
 * - one `load` per batch, with each key once, for the events not already committed;
 * - an event whose required reference is missing (or unusable) is dead-lettered naming the event, the
 *   field, the key and why, and its neighbours go on;
 * - a failed `load` (throttling, network) throws, so the batch fails and the source retries it.
 */
import type { FieldError } from '../events/event-validator.js';

/** An item of a reference table: its attributes, keyed by the string `pk`. */
export type ReferenceItem = Record<string, unknown>;

/** Where reference items come from. */
export interface ReferenceSource {
  /**
   * The items of `keys` (distinct) that exist, by key; a key with no item is absent from the map.
   * Throws when the read fails: nothing is dead-lettered for an outage.
   */
  load(keys: readonly string[]): Promise<Map<string, ReferenceItem>>;
}

/** A stored reference the pipeline cannot use (a missing or mistyped attribute): its events are dead-lettered. */
export class ReferenceItemError extends Error {
  override name = 'ReferenceItemError';
}

/** The reference source failed; the batch fails and is retried. */
export class ReferenceLoadError extends Error {
  override name = 'ReferenceLoadError';
}

/**
 * Reference data a pipeline enriches its validated events (`V`) with, making the events its operators,
 * detectors and projections see (`E`).
 */
export type ReferenceData<V, E, R = ReferenceItem> = ReferenceLookup<V, R> &
  (
    | {
        /**
         * An event without a key, or whose key finds no item, is dead-lettered.
         * @default true
         */
        required?: true;
        /** The event the operators see. */
        combine: (event: V, reference: R) => E;
      }
    | {
        /** An event without a key, or whose key finds no item, is combined with `undefined`. */
        required: false;
        combine: (event: V, reference: R | undefined) => E;
      }
  );

/** How an event's reference is found and read. */
export interface ReferenceLookup<V, R> {
  /** What one reference is, as dead letters name it, e.g. `sensor`. */
  name: string;
  /** The event field `key` reads, as dead letters name it, e.g. `sensorId`. */
  field: string;
  /** The event's key in the reference table; `undefined` when the event refers to nothing. */
  key: (event: V) => string | undefined;
  /**
   * The stored item as the pipeline reads it; throws for an item it cannot use (`ReferenceItemError`
   * names the problem; any other error counts too): its events are dead-lettered with the error.
   */
  read: (item: ReferenceItem, key: string) => R;
}

/** An event the enrichment could not complete: which one (its index), and why, for its dead letter. */
export interface MissingReference {
  index: number;
  /** The key that found nothing usable; `undefined` for an event without one. */
  key: string | undefined;
  reason: string;
  error: FieldError;
}

/** The enrichment of a batch: per event (aligned with the input) its enriched event, or `undefined` if it is in `missing`. */
export interface Enrichment<E> {
  events: Array<E | undefined>;
  missing: MissingReference[];
  /** How many keys the source was asked for (0: it was not called). */
  keys: number;
}

/**
 * Enriches a batch's events: one `source.load` with their distinct keys (none when no event has a key),
 * then each event combined with its reference. Throws `ReferenceLoadError` when the load fails.
 */
export async function enrichEvents<V, E, R>(
  reference: ReferenceData<V, E, R>,
  source: ReferenceSource,
  events: readonly V[],
): Promise<Enrichment<E>> {
  const keys = events.map((event) => reference.key(event));
  const distinct = [...new Set(keys.filter((key): key is string => key !== undefined))];
  let items: Map<string, ReferenceItem>;
  try {
    items = distinct.length > 0 ? await source.load(distinct) : new Map();
  } catch (error) {
    throw new ReferenceLoadError(
      `loading ${distinct.length} ${reference.name} references failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const out: Array<E | undefined> = [];
  const missing: MissingReference[] = [];
  // One read per key, not per event: most events of a batch share their references.
  const read = new Map<string, { value: R } | Problem>();
  events.forEach((event, index) => {
    const key = keys[index];
    let found: { value: R } | Problem | undefined;
    if (key === undefined) found = { problem: 'has no key' };
    else {
      found = read.get(key);
      if (!found) {
        const item = items.get(key);
        found = item ? readItem(reference, item, key) : { problem: 'not found in the reference data' };
        read.set(key, found);
      }
    }
    const optional = reference.required === false && (key === undefined || !items.has(key));
    const enriched =
      'value' in found
        ? combined(reference, event, found.value)
        : optional
          ? combined(reference, event, undefined)
          : found;
    if ('event' in enriched) out.push(enriched.event);
    else {
      out.push(undefined);
      const what = key === undefined ? reference.name : `${reference.name} "${key}"`;
      missing.push({
        index,
        key,
        // A read or combine that threw something else than ReferenceItemError may be a bug of the pipeline's.
        reason: `${'thrown' in enriched ? 'reference error' : 'missing reference'}: ${what} (${reference.field}) ${enriched.problem}`,
        error: { field: reference.field, reason: `${what} ${enriched.problem}` },
      });
    }
  });
  return { events: out, missing, keys: distinct.length };
}

/**
 * The stored item as the pipeline reads it. A `read` that throws anything (a `ReferenceItemError`, or a
 * `TypeError` on an attribute it did not expect) makes the item unusable: its events are dead-lettered
 * with the error, and the rest of the batch goes on. Were it to fail the batch, every batch with that
 * key would fail until the item is fixed, and hold up the good events beside it.
 */
function readItem<V, R>(reference: ReferenceLookup<V, R>, item: ReferenceItem, key: string): { value: R } | Problem {
  try {
    return { value: reference.read(item, key) };
  } catch (error) {
    return problemOf('is unusable', error);
  }
}

/** The event with its reference, or, when `combine` throws, why not (the event is dead-lettered). */
function combined<V, E, R>(reference: ReferenceData<V, E, R>, event: V, value: R | undefined): { event: E } | Problem {
  try {
    return { event: (reference.combine as (event: V, reference: R | undefined) => E)(event, value) };
  } catch (error) {
    return problemOf('could not be combined with the event', error);
  }
}

/** Why an event has no usable reference; `thrown` when a read or combine threw other than `ReferenceItemError`. */
type Problem = { problem: string; thrown?: true };

/** `what` went wrong, with the error: a `ReferenceItemError`'s message, or any other error's type and message. */
const problemOf = (what: string, error: unknown): Problem =>
  error instanceof ReferenceItemError
    ? { problem: `${what}: ${error.message}` }
    : {
        problem: `${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        thrown: true,
      };

/** Reference items in memory, for tests and for small fixed tables; records each `load`'s keys. */
export class MemoryReferenceSource implements ReferenceSource {
  readonly items: Map<string, ReferenceItem>;
  /** The keys of each `load`, in order. */
  readonly loads: string[][] = [];

  constructor(items: Record<string, ReferenceItem> = {}) {
    this.items = new Map(Object.entries(items));
  }

  async load(keys: readonly string[]): Promise<Map<string, ReferenceItem>> {
    this.loads.push([...keys]);
    const found = new Map<string, ReferenceItem>();
    for (const key of keys) {
      const item = this.items.get(key);
      if (item) found.set(key, structuredClone(item));
    }
    return found;
  }
}
