/**
 * An aggregate: named accumulators, each fed a value taken from the event. A window holds one
 * aggregate state; a pipeline reads the presented result, e.g. `{ events: 12, speed: { ... } }`.
 */
import type { AnyAccumulator, Json } from './accumulators.js';

/** One field of an aggregate: an accumulator and the value it takes from each event. */
export interface AggregateField<E> {
  acc: AnyAccumulator;
  /** The value added for an event; `undefined` skips the event for this field (an optional amount). */
  value: (event: E) => unknown;
}

export type AggregateSpec<E> = Record<string, AggregateField<E>>;

/** Per field, its working state. */
export type AggregateState = Record<string, unknown>;

/** A field defined by an accumulator and the event's value for it. */
export const field = <E>(acc: AnyAccumulator, value: (event: E) => unknown): AggregateField<E> => ({ acc, value });

/**
 * A spec's fields as a list, made once per spec: the fold runs these loops for every event and item,
 * and `Object.entries` would allocate a fresh array of pairs each time.
 */
type FieldList<E> = Array<AggregateField<E> & { name: string }>;
const fieldLists = new WeakMap<object, FieldList<never>>();
function fieldsOf<E>(spec: AggregateSpec<E>): FieldList<E> {
  let fields = fieldLists.get(spec) as FieldList<E> | undefined;
  if (!fields) {
    fields = Object.entries(spec).map(([name, f]) => ({ name, acc: f.acc, value: f.value }));
    fieldLists.set(spec, fields as FieldList<never>);
  }
  return fields;
}

export function emptyAggregate<E>(spec: AggregateSpec<E>): AggregateState {
  const state: AggregateState = {};
  for (const { name, acc } of fieldsOf(spec)) state[name] = acc.empty();
  return state;
}

export function addToAggregate<E>(spec: AggregateSpec<E>, state: AggregateState, event: E): AggregateState {
  for (const f of fieldsOf(spec)) {
    const value = f.value(event);
    if (value !== undefined) state[f.name] = f.acc.add(state[f.name], value);
  }
  return state;
}

/** Merges `b` into `a` (which it may reuse). */
export function mergeAggregates<E>(spec: AggregateSpec<E>, a: AggregateState, b: AggregateState): AggregateState {
  for (const { name, acc } of fieldsOf(spec)) a[name] = acc.merge(a[name], b[name]);
  return a;
}

export function presentAggregate<E>(spec: AggregateSpec<E>, state: AggregateState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { name, acc } of fieldsOf(spec)) out[name] = acc.present(state[name]);
  return out;
}

export function saveAggregate<E>(spec: AggregateSpec<E>, state: AggregateState): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const { name, acc } of fieldsOf(spec)) out[name] = acc.save ? acc.save(state[name]) : (state[name] as Json);
  return out;
}

/**
 * The working state of a stored aggregate. A field the stored state lacks (the pipeline added it after
 * the window was written) starts empty, so a definition can grow without migrating windows.
 */
export function loadAggregate<E>(spec: AggregateSpec<E>, stored: Record<string, Json>): AggregateState {
  const state: AggregateState = {};
  for (const { name, acc } of fieldsOf(spec)) {
    const value = stored[name];
    if (value === undefined) state[name] = acc.empty();
    // Not copied: `merge` never changes a stored state (only what `load` built, or `empty` made).
    else state[name] = acc.load ? acc.load(value) : value;
  }
  return state;
}
