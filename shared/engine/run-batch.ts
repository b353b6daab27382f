/**
 * The engine's batch runner: classify a batch's events per entity (new, duplicate, redelivered),
 * route them to every operator's items, fold each item's new contributions with one conditional
 * write, and commit each entity last. `tick` closes what is due on the processing clock.
 *
 * Exactly-once in effect (docs/engine.md has the argument):
 * - an entity item, written after every operator item of the batch, records per partition the last
 *   position it committed, the entity's watermark and the event ids seen within the horizon; a record
 *   at or before its committed position is a redelivery whose effects are all stored, and is skipped;
 * - an operator item records per partition the highest position folded into it; a partition is read
 *   in order and one batch's contributions to an item land in one write, so a contribution at or
 *   before that position is already in it (this covers a batch that failed after some item writes);
 * - outputs (late events, closed sessions, join matches) are written once by key, before the write
 *   that would make them unreproducible.
 */
import { forEachLimited } from '../concurrency.js';
import type { Json } from './accumulators.js';
import { baselineProblem } from './baselines.js';
import {
  type Detection,
  type Detector,
  type DetectorContext,
  detectionOutput,
  detectorContext,
  type FoldedEvent,
  runDetectors,
} from './detectors.js';
import { type IntervalJoin, intervalJoinRuntime } from './operators/interval-join.js';
import { type KeyedState, keyedStateRuntime } from './operators/keyed-state.js';
import type {
  Accepted,
  Applied,
  ApplyContext,
  EngineInput,
  Lateness,
  OperatorRuntime,
  Target,
  Update,
} from './operators/operator.js';
import { isFresh, operatorOfPk } from './operators/operator.js';

export type { EngineInput };

import { type SessionWindows, sessionsRuntime } from './operators/sessions.js';
import { type WindowedAggregate, windowsRuntime } from './operators/windows.js';
import {
  MissingSinkTargetError,
  mergeSinkWrites,
  type Sink,
  type SinkContext,
  type SinkTarget,
  type SinkWrites,
} from './sinks.js';
import { type EngineStore, type ItemKey, itemKey, type OutputItem, type StoredItem } from './store.js';

export type Operator<E> =
  | WindowedAggregate<E>
  | SessionWindows<E>
  // biome-ignore lint/suspicious/noExplicitAny: each keyed state has its own state type
  | KeyedState<E, any>
  | IntervalJoin<E>;

export interface EngineDefinition<E> {
  /** Prefixes every stored key, so pipelines can share a table. */
  pipeline: string;
  /** How far an event may lag behind its entity's newest event time and still count (ms). */
  allowedLatenessMs: number;
  operators: Array<Operator<E>>;
  /** Rules over the operators' updates; their detections are written once, before the update's item. */
  detectors?: Array<Detector<E>>;
  /** Rows of other tables that follow the operators' updates, written before the update's item (`sinks.ts`). */
  sinks?: Array<Sink<E>>;
}

/** An event that came too late for some of its windows: kept once per event id. */
export interface LateRecord<V = unknown> {
  eventId: string;
  entity: string;
  ts: number;
  /** How far behind the entity's watermark it was (ms). */
  lateByMs: number;
  missed: Lateness[];
  /** The event as validated, before any enrichment: reference data is not kept with it. */
  event: V;
  /**
   * Present when the event was older than the entity's memory of event ids (the horizon): the engine
   * could not tell whether it was a copy of an event it folded, so a pipeline that remembers longer
   * may take it for a duplicate.
   */
  expired?: true;
}

export interface EngineStats {
  events: number;
  /** Events folded for the first time (counted when their entity commits). */
  accepted: number;
  duplicates: number;
  /** Records of an earlier, committed attempt, delivered again and skipped. */
  redelivered: number;
  /** Accepted events that missed at least one of their windows. */
  late: number;
  /** Of those, the ones behind the horizon: late for every window, skipped by keyed state (`Accepted.expired`). */
  expired: number;
  itemsWritten: number;
  /** `itemsWritten` by operator, for a pipeline whose metrics count one kind of item (transit's windows). */
  itemsWrittenByOperator: Record<string, number>;
  outputsWritten: number;
  conditionalRetries: number;
  /** Puts and deletes handed to the sinks' target. */
  sinkWrites: number;
  /** Records left out because the enrichment dead-lettered their event (copies in the batch too): committed, not folded. */
  referenceMissing: number;
}

export interface BatchResult {
  updates: Update[];
  /** Detections of this attempt's writes (a retry may report one again; the store holds it once). */
  detections: Detection[];
  late: LateRecord[];
  stats: EngineStats;
}

/** An item kept changing under us more often than we retry; the batch fails and is retried. */
export class ConcurrentUpdateError extends Error {
  override name = 'ConcurrentUpdateError';
}

/** A definition that cannot run: the message lists every problem. */
export class DefinitionError extends Error {
  override name = 'DefinitionError';
}

const MAX_CONDITIONAL_ATTEMPTS = 8;
const WRITE_CONCURRENCY = 16;
const OPERATOR_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export interface CompiledPipeline<E> {
  definition: EngineDefinition<E>;
  runtimes: Map<string, OperatorRuntime<E>>;
  /** How long an entity remembers event ids: as long as an event can still change some state. */
  horizonMs: number;
  /** Some keyed state's fold reads baselines (`KeyedState.baselines`). */
  foldsReadBaselines: boolean;
}

/** Checks a definition and builds its operators. */
export function compile<E>(definition: EngineDefinition<E>): CompiledPipeline<E> {
  const problems: string[] = [];
  const { pipeline, allowedLatenessMs } = definition;
  if (!OPERATOR_NAME.test(pipeline)) problems.push(`pipeline name "${pipeline}" must match ${OPERATOR_NAME}`);
  if (!Number.isInteger(allowedLatenessMs) || allowedLatenessMs < 0) {
    problems.push(`allowedLatenessMs must be a non-negative integer, got ${allowedLatenessMs}`);
  }
  const runtimes = new Map<string, OperatorRuntime<E>>();
  for (const op of definition.operators) {
    if (!OPERATOR_NAME.test(op.name)) problems.push(`operator name "${op.name}" must match ${OPERATOR_NAME}`);
    if (runtimes.has(op.name)) problems.push(`operator name "${op.name}" is used twice`);
    try {
      runtimes.set(op.name, runtimeOf(pipeline, op, allowedLatenessMs));
    } catch (error) {
      problems.push(`operator ${op.name}: ${(error as Error).message}`);
    }
  }
  const detectorNames = new Set<string>();
  for (const detector of definition.detectors ?? []) {
    if (!OPERATOR_NAME.test(detector.name))
      problems.push(`detector name "${detector.name}" must match ${OPERATOR_NAME}`);
    if (detectorNames.has(detector.name)) problems.push(`detector name "${detector.name}" is used twice`);
    detectorNames.add(detector.name);
    const watched = definition.operators.find((op) => op.name === detector.on);
    if (!watched) problems.push(`detector ${detector.name} watches "${detector.on}", which is no operator`);
    else if (detector.onKind && watched.kind !== detector.onKind)
      problems.push(
        `detector ${detector.name} watches "${detector.on}", a ${watched.kind} operator; it needs ${detector.onKind}`,
      );
    else if (detector.finalsOnly && watched.kind === 'windows' && watched.closeBy === 'watermark')
      problems.push(
        `detector ${detector.name} judges final results, which "${detector.on}" (closed by the watermark) never has`,
      );
    for (const baseline of detector.baselines ?? []) {
      const problem = baselineProblem(definition.operators, baseline);
      if (problem) problems.push(`detector ${detector.name} takes its baseline from ${problem}`);
    }
  }
  for (const op of definition.operators) {
    if (op.kind !== 'state') continue;
    for (const [name, baseline] of Object.entries(op.baselines ?? {})) {
      const problem = baselineProblem(definition.operators, baseline);
      if (problem) problems.push(`operator ${op.name} takes its baseline "${name}" from ${problem}`);
    }
  }
  const sinkNames = new Set<string>();
  for (const sink of definition.sinks ?? []) {
    if (!OPERATOR_NAME.test(sink.name)) problems.push(`sink name "${sink.name}" must match ${OPERATOR_NAME}`);
    if (sinkNames.has(sink.name)) problems.push(`sink name "${sink.name}" is used twice`);
    sinkNames.add(sink.name);
    if (!definition.operators.some((op) => op.name === sink.on))
      problems.push(`sink ${sink.name} follows "${sink.on}", which is no operator`);
    if (sink.key.length === 0) problems.push(`sink ${sink.name} names no key attribute`);
  }
  if (problems.length > 0) throw new DefinitionError(`pipeline ${pipeline}: ${problems.join('; ')}`);
  const span = Math.max(0, ...[...runtimes.values()].map((r) => r.spanMs));
  const foldsReadBaselines = definition.operators.some((op) => op.kind === 'state' && op.baselines !== undefined);
  return { definition, runtimes, horizonMs: allowedLatenessMs + span, foldsReadBaselines };
}

function runtimeOf<E>(pipeline: string, op: Operator<E>, allowedLatenessMs: number): OperatorRuntime<E> {
  switch (op.kind) {
    case 'windows':
      return windowsRuntime(pipeline, op);
    case 'sessions':
      return sessionsRuntime(pipeline, op);
    case 'state':
      return keyedStateRuntime(pipeline, op, allowedLatenessMs);
    case 'join':
      return intervalJoinRuntime(pipeline, op);
  }
}

const entityKey = (pipeline: string, entity: string) => ({ pk: `${pipeline}#@entity#${entity}`, sk: 'entity' });
const lateKey = (pipeline: string, entity: string, eventId: string) => ({
  pk: `${pipeline}#@late#${entity}`,
  sk: eventId,
});

interface EntityBody {
  watermark: number | null;
  committed: Record<string, string>;
  /**
   * The ids of the events within the horizon of the watermark, bucketed by event time
   * (`floor(ts / SEEN_BUCKET_MS)`): a duplicate has its original's time, so only its own bucket is
   * searched, and a batch copies only the buckets it adds to, not every id the entity remembers.
   */
  seen: Record<string, string[]>;
}

/** An entity's commit as a batch builds it; the stored body is read, never changed. */
interface EntityCommit {
  entity: string;
  key: ItemKey;
  before: StoredItem | undefined;
  watermark: number | null;
  committed: Record<string, string>;
  /** The stored buckets of ids (shared and frozen). */
  stored: Record<string, string[]> | undefined;
  /**
   * The buckets this batch adds ids to, each copied from its stored bucket at its first new id. A
   * list, not a Map: a batch usually adds to one bucket of an entity, and a Map per entity costs more.
   */
  added: Array<{ bucket: number; ids: string[] }>;
  accepted: number;
  /** Ids of events the enrichment dead-lettered: skipped when the batch is classified again. */
  excluded?: Set<string>;
}

const SEEN_BUCKET_MS = 60_000;
const bucketOf = (ts: number) => Math.floor(ts / SEEN_BUCKET_MS);

function addedTo(added: EntityCommit['added'], bucket: number): string[] | undefined {
  for (const a of added) if (a.bucket === bucket) return a.ids;
  return undefined;
}

/**
 * The entity item of an entity whose events another processor folded before its pipeline moved onto
 * the engine: its watermark, and the ids of the events it folded within the horizon, each with the span
 * of event time `[from, to)` it fell in when its exact time is not known (a window). Each id goes in
 * every bucket of its span, so a copy sent after the move, which has the original's time, is found a
 * duplicate. It commits no position: a redelivered record is then a duplicate by its id. Written once,
 * where no entity item exists (`put` with no expected version), before the entity's first batch.
 */
export function seededEntityItem(
  pipeline: string,
  entity: string,
  { watermark, events }: { watermark: number; events: Array<{ eventId: string; from: number; to: number }> },
): StoredItem {
  const seen: Record<string, string[]> = {};
  for (const { eventId, from, to } of events) {
    for (let bucket = bucketOf(from); bucket <= bucketOf(Math.max(from, to - 1)); bucket++) {
      const ids = seen[bucket] ?? [];
      if (!ids.includes(eventId)) ids.push(eventId);
      seen[bucket] = ids;
    }
  }
  const body: EntityBody = { watermark, committed: {}, seen };
  return { ...entityKey(pipeline, entity), version: 1, positions: {}, body: body as unknown as Record<string, Json> };
}

/** Visiting more buckets than this by number costs more than listing the stored ones. */
const MAX_BUCKETS_VISITED = 32;

/**
 * The buckets an entity keeps: those not wholly behind the horizon (an event there would be expired).
 * Every bucket holds ids of events at or before the watermark, so with a short horizon the kept ones
 * are visited by number: listing the stored object's integer keys makes V8 turn each into a string
 * and sort them, which cost more than the rest of the entity commit.
 */
function keptBuckets({ stored, added, watermark }: EntityCommit, horizonMs: number): Record<string, string[]> {
  const seen: Record<string, string[]> = {};
  const oldest = Math.floor(((watermark ?? Number.NEGATIVE_INFINITY) - horizonMs) / SEEN_BUCKET_MS);
  const newest = watermark === null ? oldest : bucketOf(watermark);
  if (watermark !== null && newest - oldest < MAX_BUCKETS_VISITED) {
    for (let bucket = oldest; bucket <= newest; bucket++) {
      const ids = addedTo(added, bucket) ?? stored?.[bucket];
      if (ids) seen[bucket] = ids;
    }
    return seen;
  }
  for (const bucket in stored) if (Number(bucket) >= oldest) seen[bucket] = stored[bucket] as string[];
  for (const { bucket, ids } of added) if (bucket >= oldest) seen[bucket] = ids;
  return seen;
}

/** Counters, all zero. */
export const emptyEngineStats = (): EngineStats => ({
  events: 0,
  accepted: 0,
  duplicates: 0,
  redelivered: 0,
  late: 0,
  expired: 0,
  itemsWritten: 0,
  itemsWrittenByOperator: {},
  outputsWritten: 0,
  conditionalRetries: 0,
  sinkWrites: 0,
  referenceMissing: 0,
});

const byPartitionPosition = <E>(a: EngineInput<E>, b: EngineInput<E>) =>
  a.partition === b.partition
    ? a.position < b.position
      ? -1
      : a.position > b.position
        ? 1
        : 0
    : a.partition < b.partition
      ? -1
      : 1;

/**
 * Makes the operators' events (`E`) of a batch's accepted events (`V`) before anything is written: the
 * enrichment from reference data. Returns, aligned with `accepted`, each one's event, or `undefined` for
 * one it dead-lettered: that event's position commits, but it is neither folded nor remembered (so a
 * replay of its dead letter is taken once its reference exists). Throws to fail the batch.
 */
export type BatchEnricher<V, E> = (accepted: ReadonlyArray<Accepted<V>>) => Promise<Array<E | undefined>>;

/** Where a batch's sink writes go, and how a sink reads reference data (`SinkContext.reference`). */
export interface SinkPorts {
  /** Required when the definition has sinks. */
  sinks?: SinkTarget;
  reference?: (key: string) => Promise<unknown>;
}

export interface BatchOptions extends SinkPorts {
  /** The processing time of the attempt (epoch ms). */
  now: number;
  /**
   * Runs after every item and output is written and before the entities commit, with what the batch
   * reports: where a processor publishes, so that a failed publish fails the attempt before its
   * records are committed and its retry replays and publishes them again (at least once).
   */
  beforeCommit?: (result: Omit<BatchResult, 'stats'>) => Promise<void>;
}

/**
 * Runs one batch. Throws when a write fails; the source then retries the batch, which is safe.
 * `stats` is added to as the work is done, so a caller can still publish what a failed attempt did
 * (its retry counts the events it committed as redelivered: summed, each event counts once).
 * With `enrich`, the events not already committed are enriched once, after classification and before
 * the first write.
 */
export async function runBatch<E>(
  compiled: CompiledPipeline<E>,
  inputs: Array<EngineInput<E>>,
  store: EngineStore,
  options: BatchOptions,
  stats?: EngineStats,
): Promise<BatchResult>;
export async function runBatch<E, V>(
  compiled: CompiledPipeline<E>,
  inputs: Array<EngineInput<V>>,
  store: EngineStore,
  options: BatchOptions & { enrich: BatchEnricher<V, E> },
  stats?: EngineStats,
): Promise<BatchResult>;
export async function runBatch<E, V>(
  compiled: CompiledPipeline<E>,
  inputs: Array<EngineInput<V>>,
  store: EngineStore,
  options: BatchOptions & { enrich?: BatchEnricher<V, E> },
  stats: EngineStats = emptyEngineStats(),
): Promise<BatchResult> {
  const { now, enrich } = options;
  const { pipeline, allowedLatenessMs } = compiled.definition;
  const ctx: ApplyContext = { now, allowedLatenessMs };
  checkSinkTarget(compiled, options);
  stats.events += inputs.length;
  // Sources deliver a partition in order, so a batch is usually sorted already.
  const sorted = isSorted(inputs) ? inputs : [...inputs].sort(byPartitionPosition);

  // The batch's entities, also listed in an array: iterating a Map allocates an entry per step.
  const next = new Map<string, EntityCommit>();
  const entities: EntityCommit[] = [];
  for (const { entity } of sorted) {
    if (!next.has(entity)) {
      const entry: EntityCommit = {
        entity,
        key: entityKey(pipeline, entity),
        before: undefined,
        watermark: null,
        committed: {},
        stored: undefined,
        added: [],
        accepted: 0,
      };
      next.set(entity, entry);
      entities.push(entry);
    }
  }
  const stored = await store.get(entities.map((e) => e.key));
  for (const entry of entities) entry.before = stored.get(itemKey(entry.key));
  const classified = classify(sorted, next, entities, compiled.horizonMs);
  const accepted = enrich ? await enriched(sorted, next, entities, compiled.horizonMs, classified, enrich) : classified;
  stats.redelivered += accepted.redelivered;
  stats.duplicates += accepted.duplicates;
  stats.expired += accepted.expired;
  stats.referenceMissing += accepted.excluded;
  return writeBatch(compiled, accepted.accepted as unknown as Array<Accepted<E>>, entities, store, ctx, stats, options);
}

function checkSinkTarget<E>(compiled: CompiledPipeline<E>, { sinks }: SinkPorts) {
  const names = (compiled.definition.sinks ?? []).map((s) => s.name);
  if (names.length > 0 && !sinks) {
    throw new MissingSinkTargetError(
      `pipeline ${compiled.definition.pipeline} has sinks (${names.join(', ')}) but was given no sink target`,
    );
  }
}

const NO_REFERENCE = async () => undefined;

/** A batch's events sorted into what its operators fold, and what they skip. */
interface Classified<T> {
  accepted: Array<Accepted<T>>;
  redelivered: number;
  duplicates: number;
  /** Dead-lettered by the enrichment: committed, not folded. */
  excluded: number;
  /** Accepted, but behind the horizon. */
  expired: number;
}

/**
 * Classifies per entity, in partition order, from the stored entity (`before`): redelivered (at or
 * before the committed position), duplicate (an id the entity remembers), excluded (an id the
 * enrichment dead-lettered), or accepted (and remembered). Starts each entity afresh, so it can run again.
 */
function classify<T>(
  sorted: ReadonlyArray<EngineInput<T>>,
  next: Map<string, EntityCommit>,
  entities: EntityCommit[],
  horizonMs: number,
): Classified<T> {
  for (const entry of entities) {
    const body = entry.before?.body as unknown as EntityBody | undefined;
    entry.watermark = body?.watermark ?? null;
    entry.committed = { ...body?.committed };
    entry.stored = body?.seen;
    entry.added = [];
    entry.accepted = 0;
  }
  const out: Classified<T> = { accepted: [], redelivered: 0, duplicates: 0, excluded: 0, expired: 0 };
  for (const input of sorted) {
    const entry = next.get(input.entity) as EntityCommit;
    const committed = entry.committed[input.partition];
    if (committed !== undefined && input.position <= committed) {
      out.redelivered++;
      continue;
    }
    entry.committed[input.partition] = input.position;
    if (entry.excluded?.has(input.eventId)) {
      out.excluded++;
      continue;
    }
    const watermark = entry.watermark ?? Number.NEGATIVE_INFINITY;
    if (input.ts <= watermark - horizonMs) {
      // Older than the event-id memory reaches, so it may be a duplicate: late for every window it
      // falls in (that is what the horizon is), and kept from keyed state, which would count it again.
      out.accepted.push({ ...input, watermark, expired: true });
      out.expired++;
      continue;
    }
    const bucket = bucketOf(input.ts);
    let ids = addedTo(entry.added, bucket);
    const known = ids ?? entry.stored?.[bucket];
    if (known?.includes(input.eventId)) {
      out.duplicates++;
      continue;
    }
    out.accepted.push({ ...input, watermark });
    // A stored bucket belongs to the stored item: the first id this batch adds to it copies it.
    if (!ids) {
      ids = known ? known.slice() : [];
      entry.added.push({ bucket, ids });
    }
    ids.push(input.eventId);
    entry.watermark = Math.max(watermark, input.ts);
    entry.accepted++;
  }
  return out;
}

/**
 * The accepted events, enriched. Events the enricher dead-letters are excluded by id and the batch is
 * classified again without them, so they move no watermark and leave no id behind; what is accepted
 * then was accepted (and enriched) the first time, as removing events only lowers watermarks.
 */
async function enriched<V, E>(
  sorted: ReadonlyArray<EngineInput<V>>,
  next: Map<string, EntityCommit>,
  entities: EntityCommit[],
  horizonMs: number,
  classified: Classified<V>,
  enrich: BatchEnricher<V, E>,
): Promise<Classified<E>> {
  const events = await enrich(classified.accepted);
  // Each one keeps the validated event too, for a late record.
  const withEvent = (c: Accepted<V>, event: E): Accepted<E> => ({ ...c, event, validated: c.event });
  if (!events.includes(undefined)) {
    // Every one enriched: `classify` made these objects for this batch alone, so each takes its enriched
    // event in place rather than as one more copy per event.
    const accepted = classified.accepted as Array<Accepted<V> | Accepted<E>>;
    for (let i = 0; i < accepted.length; i++) {
      const c = accepted[i] as Accepted<V>;
      c.validated = c.event;
      (c as unknown as Accepted<E>).event = events[i] as E;
    }
    return classified as unknown as Classified<E>;
  }
  const byPosition = new Map<string, E>();
  classified.accepted.forEach((c, i) => {
    const event = events[i];
    if (event === undefined) {
      const entry = next.get(c.entity) as EntityCommit;
      entry.excluded ??= new Set();
      entry.excluded.add(c.eventId);
    } else byPosition.set(`${c.partition}\u0000${c.position}`, event);
  });
  const again = classify(sorted, next, entities, horizonMs);
  return {
    ...again,
    accepted: again.accepted.map((c) => withEvent(c, byPosition.get(`${c.partition}\u0000${c.position}`) as E)),
  };
}

/** Routes the accepted events, writes every item they touch, the late records, then the entities. */
async function writeBatch<E>(
  compiled: CompiledPipeline<E>,
  accepted: Array<Accepted<E>>,
  entities: EntityCommit[],
  store: EngineStore,
  ctx: ApplyContext,
  stats: EngineStats,
  ports: BatchOptions,
): Promise<BatchResult> {
  const { pipeline } = compiled.definition;
  // Route to every operator that reads the event's stream.
  const late = new Map<string, { contribution: Accepted<unknown>; missed: Lateness[] }>();
  const noteLate = (contribution: Accepted<unknown>, lateness: Lateness) => {
    const entry = late.get(contribution.eventId) ?? { contribution, missed: [] };
    // A late record is kept once per event id: the first late copy of an event is the one described.
    if (entry.contribution !== contribution) return;
    entry.missed.push(lateness);
    late.set(contribution.eventId, entry);
  };
  const work: Array<WorkItem<E>> = [];
  for (const op of compiled.definition.operators) {
    const runtime = compiled.runtimes.get(op.name) as OperatorRuntime<E>;
    const streams = 'streams' in op && op.streams ? new Set(op.streams) : undefined;
    const input = streams ? accepted.filter((c) => streams.has(c.stream)) : accepted;
    const routed = runtime.route(input, ctx);
    for (const { contribution, lateness } of routed.late) noteLate(contribution as Accepted<unknown>, lateness);
    // The routed map's key is the item's `itemKey`: reusing that string (its hash is computed) keeps
    // the lookups below from building and hashing it again.
    routed.items.forEach((entry, id) => {
      work.push({ runtime, id, target: entry, contributions: entry.contributions });
    });
  }

  const existing = await store.get(work.map((w) => w.target.key));
  const watched = new Set((compiled.definition.detectors ?? []).map((d) => d.on));
  const sinks = compiled.definition.sinks ?? [];
  let detecting: DetectorContext | undefined;
  if (watched.size > 0 || sinks.length > 0 || compiled.foldsReadBaselines) {
    // A baseline the batch adds to is read with the batch's contributions, written yet or not.
    const pending = new Map(work.map((w) => [w.id, w.contributions as Array<Accepted<unknown>>]));
    detecting = detectorContext(compiled, store, ctx.now, (id) => pending.get(id));
  }
  const writing: ItemWrite<E> = {
    compiled,
    store,
    ctx,
    existing,
    watched,
    detecting,
    sinking: sinkingOf(compiled, ports, ctx.now, detecting),
    noteLate,
    updates: [],
    detections: [],
    stats,
  };
  await forEachLimited(work, WRITE_CONCURRENCY, (w) => writeItem(writing, w));
  const { updates, detections } = writing;

  // Late events, then the entities: after this a redelivery of the batch is skipped whole.
  const lateRecords: LateRecord[] = [...late.values()].map(({ contribution: c, missed }) => ({
    eventId: c.eventId,
    entity: c.entity,
    ts: c.ts,
    lateByMs: Math.max(0, c.watermark - c.ts),
    missed,
    event: c.validated ?? c.event,
    ...(c.expired ? { expired: true as const } : {}),
  }));
  stats.late += lateRecords.length;
  if (lateRecords.length > 0) {
    stats.outputsWritten += await store.putOutputs(
      lateRecords.map((r) => ({
        ...lateKey(pipeline, r.entity, r.eventId),
        body: r as unknown as Record<string, Json>,
      })),
    );
  }
  await ports.beforeCommit?.({ updates, detections, late: lateRecords });
  await forEachLimited(entities, WRITE_CONCURRENCY, async (entry) => {
    const { entity, key, before, watermark, committed } = entry;
    const body: EntityBody = { watermark, committed, seen: keptBuckets(entry, compiled.horizonMs) };
    const item: StoredItem = {
      pk: key.pk,
      sk: key.sk,
      version: (before?.version ?? 0) + 1,
      positions: {},
      body: body as unknown as Record<string, Json>,
    };
    if (!(await store.put(item, before?.version))) {
      // One partition feeds an entity and one consumer reads a partition: another writer means a
      // second consumer is running; failing lets the source retry once it has settled.
      throw new ConcurrentUpdateError(`entity ${entity} was committed by another writer`);
    }
    stats.accepted += entry.accepted;
  });
  return { updates, detections, late: lateRecords, stats };
}

/** An item a batch writes: its operator, its `itemKey`, and the batch's contributions to it. */
interface WorkItem<E> {
  runtime: OperatorRuntime<E>;
  id: string;
  target: Target;
  contributions: Array<Accepted<E>>;
}

/** What the item writes of one batch share, and what they add to. */
interface ItemWrite<E> {
  compiled: CompiledPipeline<E>;
  store: EngineStore;
  ctx: ApplyContext;
  existing: Map<string, StoredItem>;
  /** Operators some detector watches, and what their detectors read (when there are any). */
  watched: Set<string>;
  /** Baselines for detectors, folds and sinks (when any reads them). */
  detecting: DetectorContext | undefined;
  sinking: Sinking<E> | undefined;
  noteLate: (contribution: Accepted<unknown>, lateness: Lateness) => void;
  updates: Update[];
  detections: Detection[];
  stats: EngineStats;
}

const NO_DETECTIONS: readonly Detection[] = Object.freeze([]);

/** One conditional write of an item's new contributions; on a lost race, re-read and fold again. */
async function writeItem<E>(batch: ItemWrite<E>, { runtime, id, target, contributions }: WorkItem<E>) {
  const { compiled, store, ctx, stats } = batch;
  let current = batch.existing.get(id);
  for (let attempt = 0; attempt < MAX_CONDITIONAL_ATTEMPTS; attempt++) {
    const fresh = freshOf(contributions, current?.positions);
    if (fresh.length === 0) {
      if (current && runtime.replay) await replayItem(batch, runtime, current, contributions);
      return;
    }
    // A fold's baselines are read before it (the fold is synchronous); the reader reads each once a batch.
    const lookups =
      runtime.lookup && batch.detecting ? await runtime.lookup(fresh, batch.detecting.baseline) : undefined;
    const applied = runtime.apply(current, target, fresh, ctx, lookups);
    // Indexed loops here: for-of in an async function allocates an iterator result per step, per item.
    for (let i = 0; i < applied.late.length; i++) {
      const { contribution, lateness } = applied.late[i] as Applied['late'][number];
      batch.noteLate(contribution, lateness);
    }
    if (current && applied.body === current.body) return;
    let found = NO_DETECTIONS;
    if (batch.detecting && batch.watched.has(runtime.name)) {
      const detected = runDetectors(compiled, batch.detecting, applied.updates, fresh);
      found = Array.isArray(detected) ? detected : await detected;
    }
    const outputs =
      found.length === 0
        ? applied.outputs
        : [...applied.outputs, ...found.map((d) => detectionOutput(compiled.definition.pipeline, d))];
    // Awaited before adding: `stats.x += await ...` reads the counter before the await, and the
    // batch's items are written concurrently, so one item's count would overwrite another's.
    if (outputs.length > 0) {
      const written = await store.putOutputs(outputs);
      stats.outputsWritten += written;
    }
    if (batch.sinking?.followed.has(runtime.name)) {
      const written = await writeSinks(batch.sinking, runtime.name, applied.updates, fresh);
      stats.sinkWrites += written;
    }
    const item = nextItem(target.key, current, applied, fresh);
    if (await store.put(item, current?.version)) {
      stats.itemsWritten++;
      stats.itemsWrittenByOperator[runtime.name] = (stats.itemsWrittenByOperator[runtime.name] ?? 0) + 1;
      for (let i = 0; i < applied.updates.length; i++) batch.updates.push(applied.updates[i] as Update);
      for (let i = 0; i < found.length; i++) batch.detections.push(found[i] as Detection);
      return;
    }
    stats.conditionalRetries++;
    current = (await store.get([target.key])).get(id);
  }
  throw new ConcurrentUpdateError(`item ${id} changed ${MAX_CONDITIONAL_ATTEMPTS} times while being written`);
}

/** A batch's (or tick's) sinks, their target and what they read. */
interface Sinking<E> {
  sinks: Array<Sink<E>>;
  /** The operators some sink follows: an item of another one has no sink call to make (and await). */
  followed: Set<string>;
  target: SinkTarget;
  ctx: SinkContext;
}

function sinkingOf<E>(
  compiled: CompiledPipeline<E>,
  ports: SinkPorts,
  now: number,
  detecting: DetectorContext | undefined,
): Sinking<E> | undefined {
  const sinks = compiled.definition.sinks ?? [];
  if (sinks.length === 0 || !ports.sinks || !detecting) return undefined;
  return {
    sinks,
    followed: new Set(sinks.map((sink) => sink.on)),
    target: ports.sinks,
    ctx: { now, baseline: detecting.baseline, reference: ports.reference ?? NO_REFERENCE },
  };
}

/**
 * Hands each sink following `operator` the writes of an item's updates, merged so one call names a key
 * once; returns how many puts and deletes went out.
 */
async function writeSinks<E>(
  { sinks, target, ctx }: Sinking<E>,
  operator: string,
  updates: Update[],
  events: ReadonlyArray<FoldedEvent<E>>,
): Promise<number> {
  let written = 0;
  for (const sink of sinks) {
    if (sink.on !== operator || updates.length === 0) continue;
    const all: SinkWrites[] = [];
    let rows = 0;
    for (let u = 0; u < updates.length; u++) {
      const writes = await sink.writes(updates[u] as Update, ctx, events);
      rows += writes.puts.length + writes.deletes.length;
      all.push(writes);
    }
    // Most updates move no row (a vehicle's ETAs are refreshed every 30 s of its time): nothing to merge.
    if (rows === 0) continue;
    const merged = mergeSinkWrites(sink.key, all);
    const count = merged.puts.length + merged.deletes.length;
    if (count === 0) continue;
    await target.write(sink.name, merged);
    written += count;
  }
  return written;
}

/**
 * An item that holds every contribution already: an earlier attempt of this batch wrote it and failed
 * before committing the entity, perhaps before publishing. Its stored value is reported again, with
 * those of its detectors' findings that are stored (the earlier attempt wrote its detections before
 * the item), so that a retry publishes what the failed attempt may not have: at least once.
 */
async function replayItem<E>(
  batch: ItemWrite<E>,
  runtime: OperatorRuntime<E>,
  item: StoredItem,
  contributions: Array<Accepted<E>>,
) {
  const updates = runtime.replay?.(item, batch.ctx) ?? [];
  const ctx = batch.detecting;
  const found =
    ctx && batch.watched.has(runtime.name) ? await runDetectors(batch.compiled, ctx, updates, contributions) : [];
  // Only what is stored: a detection the failed attempt did not make (a baseline that changed since)
  // would be written after its item, against the rule that keeps detections first.
  const reported: Detection[] = [];
  for (const d of found) {
    const stored = await ctx?.detection(d.detector, d.ts, d.detectionId);
    if (stored) reported.push(stored);
  }
  if (ctx && contributions.length > 0) {
    // Detectors whose detections carry their event's time: what is stored at the batch's events' times.
    let from = Number.POSITIVE_INFINITY;
    let to = Number.NEGATIVE_INFINITY;
    for (const c of contributions) {
      from = Math.min(from, c.ts);
      to = Math.max(to, c.ts);
    }
    const ids = new Set(reported.map((d) => `${d.detector}\u0000${d.detectionId}`));
    for (const detector of batch.compiled.definition.detectors ?? []) {
      if (!detector.atEventTime || detector.on !== runtime.name) continue;
      for (const update of updates) {
        for (const stored of await ctx.detectionsBetween(detector.name, update.key, from, to)) {
          const id = `${stored.detector}\u0000${stored.detectionId}`;
          if (ids.has(id)) continue;
          ids.add(id);
          reported.push(stored);
        }
      }
    }
  }
  for (const update of updates) batch.updates.push(update);
  for (const detection of reported) batch.detections.push(detection);
}

/** The contributions an item has not folded yet: the array itself when that is all of them. */
function freshOf<E>(contributions: Array<Accepted<E>>, positions: Record<string, string> = {}): Array<Accepted<E>> {
  for (const c of contributions) {
    if (!isFresh(c, positions)) return contributions.filter((f) => isFresh(f, positions));
  }
  return contributions;
}

function isSorted<E>(inputs: Array<EngineInput<E>>): boolean {
  for (let i = 1; i < inputs.length; i++) {
    if (byPartitionPosition(inputs[i - 1] as EngineInput<E>, inputs[i] as EngineInput<E>) > 0) return false;
  }
  return true;
}

function nextItem<E>(
  key: ItemKey,
  current: StoredItem | undefined,
  applied: { body: Record<string, Json>; closeAt?: number; expiresAt?: number },
  fresh: Array<Accepted<E>>,
): StoredItem {
  const positions = { ...current?.positions };
  for (const c of fresh) if ((positions[c.partition] ?? '') < c.position) positions[c.partition] = c.position;
  const item: StoredItem = {
    pk: key.pk,
    sk: key.sk,
    version: (current?.version ?? 0) + 1,
    positions,
    body: applied.body,
  };
  if (applied.closeAt !== undefined) item.closeAt = applied.closeAt;
  if (applied.expiresAt !== undefined) item.expiresAt = applied.expiresAt;
  const pending = current?.body[TICK_OUTBOX] as unknown as TickOutbox | undefined;
  if (pending && !(TICK_OUTBOX in applied.body)) {
    // A tick closed this item and its finals are not out yet (a session key active again): they stay
    // in it, and it stays due, until a tick publishes them; then it gets the close time computed here.
    item.body = { ...applied.body, [TICK_OUTBOX]: { ...pending, closeAt: item.closeAt ?? null } as unknown as Json };
    if (current?.closeAt !== undefined) item.closeAt = current.closeAt;
  }
  return item;
}

/** The body field where a closed item keeps the finals it has yet to publish: the item is its own outbox. */
export const TICK_OUTBOX = '@tickOutbox';

/** What a tick closed and has yet to see published, with the close time the item gets once it is. */
interface TickOutbox {
  updates: Update[];
  detections: Detection[];
  outputs: OutputItem[];
  closeAt: number | null;
}

/**
 * Closes what is due at `now` (windows past end + lateness, sessions of quiet keys); returns the finals.
 * In three steps, so that a final goes out at least once and never stale:
 * 1. each due item is closed, conditionally on the version listed, with its finals kept in it (the
 *    outbox) and its `closeAt` kept, so it stays due: from then on a batch finds it closed (a window
 *    takes no more events: they are late), and a batch that wrote it first wins (its final, with that
 *    batch's events, comes at the next tick);
 * 2. the finals' outputs and sink writes are written, then `beforeCommit` gets them all (where the
 *    tick publishes);
 * 3. the outbox is emptied and the item gets its next `closeAt` (none for a closed window).
 * A tick that fails after step 1 leaves its items due with their outboxes: the next tick writes and
 * publishes those finals again, as they were, and ends them.
 */
export async function tick<E>(
  compiled: CompiledPipeline<E>,
  store: EngineStore,
  options: SinkPorts & {
    now: number;
    limit?: number;
    beforeCommit?: (finals: { updates: Update[]; detections: Detection[] }) => Promise<void>;
  },
): Promise<{ updates: Update[]; detections: Detection[]; closed: number; outputsWritten: number; sinkWrites: number }> {
  const { now, limit = 1000 } = options;
  const { pipeline, allowedLatenessMs } = compiled.definition;
  const ctx: ApplyContext = { now, allowedLatenessMs };
  checkSinkTarget(compiled, options);
  const due = await store.due(pipeline, now, limit);
  const detecting = detectorContext(compiled, store, now);
  const sinking = sinkingOf(compiled, options, now, detecting);
  const closing: { item: StoredItem; operator: string; outbox: TickOutbox }[] = [];
  await forEachLimited(due, WRITE_CONCURRENCY, async (item) => {
    const operator = operatorOfPk(pipeline, item.pk);
    const pending = item.body[TICK_OUTBOX] as unknown as TickOutbox | undefined;
    // An earlier tick closed it and failed before its finals were out.
    if (pending) return void closing.push({ item, operator, outbox: pending });
    const applied = compiled.runtimes.get(operator)?.close?.(item, ctx);
    if (!applied) return;
    const found = await runDetectors(compiled, detecting, applied.updates);
    const outbox: TickOutbox = {
      updates: applied.updates,
      detections: found,
      outputs: [...applied.outputs, ...found.map((d) => detectionOutput(pipeline, d))],
      closeAt: applied.closeAt ?? null,
    };
    const closed: StoredItem = {
      ...item,
      version: item.version + 1,
      body: { ...applied.body, [TICK_OUTBOX]: outbox as unknown as Json },
    };
    // A batch that wrote the item since it was listed wins; the next tick closes what it wrote.
    if (await store.put(closed, item.version)) closing.push({ item: closed, operator, outbox });
  });
  let outputsWritten = 0;
  let sinkWrites = 0;
  await forEachLimited(closing, WRITE_CONCURRENCY, async ({ operator, outbox }) => {
    // Awaited before adding, as in writeItem: the items are written concurrently (`x += await`
    // would add to the value `x` had before the await).
    if (outbox.outputs.length > 0) {
      const written = await store.putOutputs(outbox.outputs);
      outputsWritten += written;
    }
    if (sinking) {
      const written = await writeSinks(sinking, operator, outbox.updates, []);
      sinkWrites += written;
    }
  });
  const updates = closing.flatMap((c) => c.outbox.updates);
  const detections = closing.flatMap((c) => c.outbox.detections);
  await options.beforeCommit?.({ updates, detections });
  await forEachLimited(closing, WRITE_CONCURRENCY, async ({ item, outbox }) => {
    const { [TICK_OUTBOX]: _sent, ...body } = item.body;
    const { closeAt: _due, ...rest } = item;
    const next: StoredItem = {
      ...rest,
      version: item.version + 1,
      body,
      ...(outbox.closeAt === null ? {} : { closeAt: outbox.closeAt }),
    };
    // Lost only to a batch that wrote it since (a session key that became active again): its write
    // dropped the outbox and set its own close time.
    await store.put(next, item.version);
  });
  return { updates, detections, closed: closing.length, outputsWritten, sinkWrites };
}
