/**
 * What every keyed operator has in common, so the batch runner (`run-batch.ts`) can apply them all the
 * same way: route each accepted event to the items it touches, then fold an item's new contributions
 * into its stored state in one conditional write.
 */
import type { Json } from '../accumulators.js';
import type { BaselineRequest, ClosedBaseline } from '../baselines.js';
import { type ItemKey, itemKeyOf, type OutputItem, type StoredItem } from '../store.js';

/** A valid event as the engine takes it from a source. */
export interface EngineInput<E> {
  event: E;
  eventId: string;
  /** Event time, epoch ms. */
  ts: number;
  /** The ordering key: all of an entity's events arrive in order on one partition. */
  entity: string;
  /** The input stream the event came from (a pipeline may read several, e.g. clicks and orders). */
  stream: string;
  partition: string;
  /** Position in the partition; positions of one partition compare correctly as strings. */
  position: string;
}

/** An event the engine accepted (not a duplicate, not a redelivery), with its entity's watermark. */
export interface Accepted<E> extends EngineInput<E> {
  /** The entity's watermark before this event: the newest event time seen for it. */
  watermark: number;
  /**
   * Behind the watermark by more than the entity remembers event ids for: perhaps a duplicate, and
   * late for every window. Keyed state skips it.
   */
  expired?: boolean;
  /**
   * The event as validated, when the enrichment replaced `event` with the enriched one: what a late
   * record keeps (reference data is not the event's, and may be large).
   */
  validated?: unknown;
}

/** An operator's share of a late event: which of its windows the event came too late for. */
export interface Lateness {
  operator: string;
  key: string;
  /** The window (or session, or join) the event missed, as `[start, end)` in event time. */
  start: number;
  end: number;
}

/** What an operator reports about an item it changed, for detectors, projections and publishing. */
export interface Update {
  operator: string;
  kind: 'window' | 'session' | 'state' | 'match';
  key: string;
  /** The presented result; storage fields never appear here. */
  value: Record<string, unknown>;
  /** True when this is the last value: a closed window or session. */
  final: boolean;
  /**
   * True when a retry reports an item an earlier attempt of the same batch wrote (and failed before
   * committing, perhaps before publishing): its stored value, again. A keyed state's replay knows no
   * `previous` and no `steps`.
   */
  replayed?: boolean;
}

export interface ApplyContext {
  now: number;
  allowedLatenessMs: number;
}

export interface Applied {
  /** The new body, and the operator fields of the item (`closeAt`, `expiresAt`). */
  body: Record<string, Json>;
  closeAt?: number;
  expiresAt?: number;
  /** Written once before the item, so a retry after a failed item write writes nothing twice. */
  outputs: OutputItem[];
  updates: Update[];
  /** Contributions the stored item refused (a window the tick already closed). */
  late: Array<{ contribution: Accepted<unknown>; lateness: Lateness }>;
}

/** Per fresh contribution, the baselines its fold reads, by name. */
export type FoldLookups = ReadonlyArray<Readonly<Record<string, ClosedBaseline>>>;

/** An item an operator writes, and the group key it aggregates. */
export interface Target {
  key: ItemKey;
  groupKey: string;
}

export interface Routed<E> {
  /** Per item (`itemKey`), its contributions in the batch's order. */
  items: Map<string, Target & { contributions: Array<Accepted<E>> }>;
  late: Array<{ contribution: Accepted<E>; lateness: Lateness }>;
}

/**
 * Adds a contribution to the list of its item (`pk`, `sk`) of `groupKey`. Most events of a batch go to
 * an item already listed, so the key and target objects are made only for a new one.
 */
export function contribute<E>(items: Routed<E>['items'], pk: string, sk: string, groupKey: string, c: Accepted<E>) {
  const id = itemKeyOf(pk, sk);
  const entry = items.get(id);
  if (entry) entry.contributions.push(c);
  else items.set(id, { key: { pk, sk }, groupKey, contributions: [c] });
}

/** Whether a contribution is past the position an item has folded for its partition. */
export const isFresh = <E>(c: Accepted<E>, positions: Record<string, string>) =>
  (positions[c.partition] ?? '') < c.position;

/** A keyed operator as the batch runner drives it. */
export interface OperatorRuntime<E> {
  name: string;
  /** How far behind its watermark an entity's events can still change this operator's state (ms). */
  spanMs: number;
  /**
   * Routes the batch's accepted events to the items they touch, and names the (event, window) pairs
   * that are late. Contributions keep the batch's order.
   */
  route(accepted: Array<Accepted<E>>, ctx: ApplyContext): Routed<E>;
  /**
   * What `apply` needs that no item holds, read before it (it is synchronous): per fresh contribution,
   * aligned with them, the baselines it reads by name (a keyed state's `baselines`). Undefined when the
   * operator reads none.
   */
  lookup?(
    fresh: Array<Accepted<E>>,
    read: (request: BaselineRequest) => Promise<ClosedBaseline>,
  ): Promise<FoldLookups | undefined>;
  /** Folds contributions (all new to `existing`) into the item, with what `lookup` read for them. */
  apply(
    existing: StoredItem | undefined,
    target: Target,
    fresh: Array<Accepted<E>>,
    ctx: ApplyContext,
    lookups?: FoldLookups,
  ): Applied;
  /** The tick: closes what is due at `now` in an item `due()` returned; undefined when nothing is. */
  close?(item: StoredItem, ctx: ApplyContext): Applied | undefined;
  /**
   * The updates of an item as stored, for a retry that finds every contribution already in it: what it
   * reports so that publishing stays at least once. Without it (sessions and joins, whose results are
   * write-once outputs) such an item reports nothing.
   */
  replay?(item: StoredItem, ctx: ApplyContext): Update[];
}

/** The item key of an operator's state for a group key: the pipeline and operator make it unique. */
export const operatorPk = (pipeline: string, operator: string, groupKey: string) =>
  `${pipeline}#${operator}#${groupKey}`;

/** The operator an item of `operatorPk` belongs to. */
export const operatorOfPk = (pipeline: string, pk: string) => pk.slice(pipeline.length + 1).split('#', 1)[0] as string;
