/**
 * A pipeline's processor: source records in, dead letters for what is not a valid event, the batch
 * runner for the rest, and the resulting updates and detections published on their topics. Every
 * source (Kinesis, Kafka) and the tick come through here.
 */

import type { DeadLetterMessage, DeadLetterSink } from '../events/dead-letters.js';
import type { ValidationOptions } from '../events/event-validator.js';
import type { DecodedCandidate, SourceRecord } from '../events/source-records.js';
import { triageRecords, type ValidEvent } from '../events/triage.js';
import type { Detection } from './detectors.js';
import type { Accepted, EngineInput, Update } from './operators/operator.js';
import { type PipelineDefinition, type TopicMessage, topicMessages } from './pipeline.js';
import { enrichEvents, type ReferenceData, type ReferenceSource } from './reference.js';
import {
  type BatchEnricher,
  type CompiledPipeline,
  compile,
  type EngineStats,
  emptyEngineStats,
  runBatch,
  type SinkPorts,
  tick,
} from './run-batch.js';
import type { SinkTarget } from './sinks.js';
import type { EngineStore } from './store.js';

export interface PipelinePorts {
  store: EngineStore;
  deadLetters: DeadLetterSink;
  /** Where the definition's `reference` data is read from; required when it declares some. */
  references?: ReferenceSource;
  /** Where the definition's `sinks` write; required when it declares some. */
  sinks?: SinkTarget;
  /** Sends topic messages towards the WebSocket clients (at least once). */
  publish(messages: TopicMessage[]): Promise<void>;
  clock?: () => number;
}

/** Counters of one batch: the engine's, plus what triage rejected. */
export interface PipelineBatchStats extends EngineStats {
  records: number;
  rejected: number;
  detections: number;
  published: number;
}

export const emptyPipelineStats = (): PipelineBatchStats => ({
  ...emptyEngineStats(),
  records: 0,
  rejected: 0,
  detections: 0,
  published: 0,
});

/** A definition ready to run: checked and compiled once per container. */
export interface RunnablePipeline<E, V = E> {
  definition: PipelineDefinition<E, V>;
  compiled: CompiledPipeline<E>;
  decode: (record: SourceRecord) => DecodedCandidate[];
}

/** Dead letters of an enrichment could not all be sent: the batch fails before anything is written. */
export class DeadLetterSendError extends Error {
  override name = 'DeadLetterSendError';
}

/** The pipeline declares reference data, but its ports have no source for it. */
export class MissingReferenceSourceError extends Error {
  override name = 'MissingReferenceSourceError';
}

export function runnable<E, V>(
  definition: PipelineDefinition<E, V>,
  decode: (record: SourceRecord) => DecodedCandidate[],
): RunnablePipeline<E, V> {
  const compiled = compile({
    pipeline: definition.description.name,
    allowedLatenessMs: definition.allowedLatenessMs,
    operators: definition.operators,
    ...(definition.detectors ? { detectors: definition.detectors } : {}),
    ...(definition.sinks ? { sinks: definition.sinks } : {}),
  });
  return { definition, compiled, decode };
}

/**
 * Processes one batch of records. Throws when a write fails (the source retries the batch, which is
 * safe); returns the records to report failed because their dead letters could not be sent.
 */
export async function processRecords<E, V>(
  pipeline: RunnablePipeline<E, V>,
  records: SourceRecord[],
  ports: PipelinePorts,
  stats: PipelineBatchStats = emptyPipelineStats(),
): Promise<{ failedItemIdentifiers: string[]; stats: PipelineBatchStats }> {
  const { definition, compiled } = pipeline;
  const now = (ports.clock ?? Date.now)();
  const options: ValidationOptions = { maxClockSkewMs: definition.maxClockSkewMs };
  stats.records += records.length;

  const { valid, dead } = triageRecords(
    records,
    pipeline.decode,
    (value) => definition.event.validator.validate(value, options, now),
    new Date(now).toISOString(),
  );
  stats.rejected += dead.length;
  const unsent = dead.length > 0 ? await ports.deadLetters.send(dead) : [];
  const failedItemIdentifiers = [...new Set(unsent.map((m) => m.record?.itemIdentifier ?? ''))].filter(Boolean);

  const { event: binding } = definition;
  const inputs = valid.map(
    ({ event, record, position }): EngineInput<V> => ({
      event,
      eventId: binding.id(event),
      ts: binding.time(event),
      entity: binding.entity(event),
      stream: binding.stream?.(event) ?? definition.description.name,
      partition: record.partition,
      position,
    }),
  );
  const { reference } = definition;
  // Published before the entities commit: a failed publish fails the attempt, whose retry replays.
  const publishing = publisher(definition, ports);
  const sinkPorts = { ...sinkPortsOf(definition, ports), beforeCommit: publishing.beforeCommit };
  const result = reference
    ? await runBatch(
        compiled,
        inputs,
        ports.store,
        {
          now,
          ...sinkPorts,
          enrich: referenceEnricher(definition, reference, valid, ports, new Date(now).toISOString()),
        },
        stats,
      )
    : // Without reference data the operators' events are the validated ones (PipelineDefinition says so).
      await runBatch(compiled, inputs as unknown as Array<EngineInput<E>>, ports.store, { now, ...sinkPorts }, stats);
  stats.detections += result.detections.length;
  stats.published += publishing.published;
  return { failedItemIdentifiers, stats };
}

/**
 * The batch's enrichment step: one load of the accepted events' references, and a dead letter for each
 * event whose required reference is missing, sent before anything is written. Throws when the load
 * fails or a dead letter cannot be sent, so the batch is retried rather than an event lost.
 */
function referenceEnricher<E, V>(
  definition: PipelineDefinition<E, V>,
  // biome-ignore lint/suspicious/noExplicitAny: each reference has its own item type
  reference: ReferenceData<V, E, any>,
  valid: Array<ValidEvent<V>>,
  ports: PipelinePorts,
  receivedAt: string,
): BatchEnricher<V, E> {
  const source = ports.references;
  if (!source) {
    throw new MissingReferenceSourceError(
      `pipeline ${definition.description.name} reads reference data "${reference.name}" but was given no reference source`,
    );
  }
  return async (accepted: ReadonlyArray<Accepted<V>>) => {
    const { events, missing } = await enrichEvents(
      reference,
      source,
      accepted.map((c) => c.event),
    );
    if (missing.length === 0) return events;
    const records = new Map(valid.map((v) => [`${v.record.partition}\u0000${v.position}`, v.record]));
    const letters = missing.map(({ index, reason, error }): DeadLetterMessage => {
      const c = accepted[index] as Accepted<V>;
      const record = records.get(`${c.partition}\u0000${c.position}`);
      return {
        source: 'processor',
        reason: `event ${c.eventId}: ${reason}`,
        errors: [error],
        eventId: c.eventId,
        record: { partition: c.partition, position: c.position, itemIdentifier: record?.itemIdentifier ?? '' },
        payload: c.event,
        receivedAt,
      };
    });
    const unsent = await ports.deadLetters.send(letters);
    if (unsent.length > 0) {
      throw new DeadLetterSendError(
        `${unsent.length} of ${letters.length} dead letters for missing ${reference.name} references could not be sent`,
      );
    }
    return events;
  };
}

/**
 * The sinks' target and their reference reader, from the ports: only for a definition with sinks, so a
 * function without them (the tick) needs no target and reads no reference source (handlers' ports read
 * their tables' names from the environment when asked).
 */
function sinkPortsOf<E, V>(definition: PipelineDefinition<E, V>, ports: PipelinePorts): SinkPorts {
  if (!definition.sinks?.length) return {};
  const { reference } = definition;
  const source = reference && ports.references;
  return {
    ...(ports.sinks ? { sinks: ports.sinks } : {}),
    ...(reference && source ? { reference: referenceReader(reference, source) } : {}),
  };
}

/**
 * One reference as a sink reads it (`SinkContext.reference`): loaded through the enrichment's source
 * (so its cache) and read as the enrichment reads it; undefined when missing or unusable (a `read`
 * that throws, as the enrichment takes it). A failed load throws, failing the batch.
 */
function referenceReader<V, E, R>(reference: ReferenceData<V, E, R>, source: ReferenceSource) {
  return async (key: string): Promise<R | undefined> => {
    const item = (await source.load([key])).get(key);
    if (!item) return undefined;
    try {
      return reference.read(item, key);
    } catch {
      return undefined;
    }
  };
}

/**
 * The scheduled tick: closes what is due, runs detectors on the finals and publishes them from the
 * closed items' outboxes, so a failed publish leaves them for the next tick (`tick`: at least once).
 */
export async function runTick<E, V>(pipeline: RunnablePipeline<E, V>, ports: PipelinePorts) {
  const now = (ports.clock ?? Date.now)();
  const publishing = publisher(pipeline.definition, ports);
  const result = await tick(pipeline.compiled, ports.store, {
    now,
    ...sinkPortsOf(pipeline.definition, ports),
    beforeCommit: publishing.beforeCommit,
  });
  return { closed: result.closed, detections: result.detections.length, published: publishing.published };
}

/** Publishes what an attempt reports, as its `beforeCommit`, and counts the messages it sent. */
function publisher<E, V>(definition: PipelineDefinition<E, V>, ports: Pick<PipelinePorts, 'publish'>) {
  const publishing = {
    published: 0,
    async beforeCommit({ updates, detections }: { updates: Update[]; detections: Detection[] }) {
      const messages = topicMessages(definition, updates, detections);
      if (messages.length > 0) await ports.publish(messages);
      publishing.published = messages.length;
    },
  };
  return publishing;
}
