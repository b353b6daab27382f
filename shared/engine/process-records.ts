/**
 * A pipeline's processor: source records in, dead letters for what is not a valid event, the batch
 * runner for the rest, and the resulting updates and detections published on their topics. Every
 * source (Kinesis, Kafka) and the tick come through here.
 */

import type { DeadLetterSink } from '../events/dead-letters.js';
import type { ValidationOptions } from '../events/event-validator.js';
import type { DecodedCandidate, SourceRecord } from '../events/source-records.js';
import { triageRecords } from '../events/triage.js';
import { type PipelineDefinition, type TopicMessage, topicMessages } from './pipeline.js';
import { type CompiledPipeline, compile, type EngineStats, emptyEngineStats, runBatch, tick } from './run-batch.js';
import type { EngineStore } from './store.js';

export interface PipelinePorts {
  store: EngineStore;
  deadLetters: DeadLetterSink;
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
export interface RunnablePipeline<E> {
  definition: PipelineDefinition<E>;
  compiled: CompiledPipeline<E>;
  decode: (record: SourceRecord) => DecodedCandidate[];
}

export function runnable<E>(
  definition: PipelineDefinition<E>,
  decode: (record: SourceRecord) => DecodedCandidate[],
): RunnablePipeline<E> {
  const compiled = compile({
    pipeline: definition.description.name,
    allowedLatenessMs: definition.allowedLatenessMs,
    operators: definition.operators,
    ...(definition.detectors ? { detectors: definition.detectors } : {}),
  });
  return { definition, compiled, decode };
}

/**
 * Processes one batch of records. Throws when a write fails (the source retries the batch, which is
 * safe); returns the records to report failed because their dead letters could not be sent.
 */
export async function processRecords<E>(
  pipeline: RunnablePipeline<E>,
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
  const inputs = valid.map(({ event, record, position }) => ({
    event,
    eventId: binding.id(event),
    ts: binding.time(event),
    entity: binding.entity(event),
    stream: binding.stream?.(event) ?? definition.description.name,
    partition: record.partition,
    position,
  }));
  const result = await runBatch(compiled, inputs, ports.store, { now }, stats);
  stats.detections += result.detections.length;
  const messages = topicMessages(definition, result.updates, result.detections);
  if (messages.length > 0) await ports.publish(messages);
  stats.published += messages.length;
  return { failedItemIdentifiers, stats };
}

/** The scheduled tick: closes what is due, runs detectors on the finals and publishes them. */
export async function runTick<E>(pipeline: RunnablePipeline<E>, ports: PipelinePorts) {
  const now = (ports.clock ?? Date.now)();
  const result = await tick(pipeline.compiled, ports.store, { now });
  const messages = topicMessages(pipeline.definition, result.updates, result.detections);
  if (messages.length > 0) await ports.publish(messages);
  return { closed: result.closed, detections: result.detections.length, published: messages.length };
}
