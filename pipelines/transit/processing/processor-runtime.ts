/**
 * What every processor handler (Kinesis, Kafka) shares: the processing core's AWS dependencies,
 * built once per container from the environment, and the batch metrics they publish.
 */
import { dynamoDocumentClient, kinesisClient, sqsClient } from '../../../shared/aws-clients.js';
import { queueUrls, streamNames } from '../../../shared/config.js';
import { emptyPipelineStats, type PipelineBatchStats } from '../../../shared/engine/process-records.js';
import { SqsDeadLetterSink } from '../../../shared/events/dead-letters.js';
import type { SourceRecord } from '../../../shared/events/source-records.js';
import { publishCounters } from '../../../shared/observability.js';
import { processingSettings, transitProcessorCore, transitTables } from '../config.js';
import { processTransitRecords, type TransitEngine, transitEngine } from '../engine/transit-pipeline.js';
import { ROUTE_WINDOWS, VEHICLE_WINDOWS } from '../engine/windows.js';
import { DynamoReferenceSource, KinesisPublisher } from './aws-adapters.js';
import { DynamoStore } from './dynamo-store.js';
import { type BatchStats, emptyBatchStats, type ProcessorDeps, processBatch } from './process-batch.js';

/** The core a processor runs (`TRANSIT_PROCESSOR`), with its dependencies. */
export type TransitProcessor = { core: 'batch'; deps: ProcessorDeps } | { core: 'engine'; engine: TransitEngine };

/** The processing core's dependencies on DynamoDB, Kinesis and SQS, from the function's environment. */
export function processorDeps(): TransitProcessor {
  const dynamo = dynamoDocumentClient();
  const publisher = new KinesisPublisher(kinesisClient(), streamNames.output);
  const deadLetters = new SqsDeadLetterSink(sqsClient(), queueUrls.deadLetter);
  const settings = processingSettings();
  if (transitProcessorCore() === 'engine') {
    // Every table, each read through its getter (a missing variable names itself).
    const tables = { ...transitTables };
    return { core: 'engine', engine: transitEngine({ client: dynamo, tables, settings, publisher, deadLetters }) };
  }
  return {
    core: 'batch',
    deps: {
      store: new DynamoStore(dynamo, {
        vehicleState: transitTables.vehicleState,
        windows: transitTables.windows,
        anomalies: transitTables.anomalies,
        etas: transitTables.etas,
        lateEvents: transitTables.lateEvents,
      }),
      reference: new DynamoReferenceSource(dynamo, transitTables.reference),
      publisher,
      deadLetters,
      settings,
    },
  };
}

const METRICS: Array<[keyof BatchStats, string]> = [
  ['folded', 'EventsProcessed'],
  ['redelivered', 'EventsRedelivered'],
  ['rejected', 'EventsRejected'],
  ['duplicates', 'DuplicatesSkipped'],
  ['late', 'LateEvents'],
  ['windowsWritten', 'WindowsWritten'],
  ['anomalies', 'AnomaliesDetected'],
  ['etasWritten', 'EtasWritten'],
  ['conditionalRetries', 'ConditionalRetries'],
];

/**
 * Runs the core on a batch and publishes its counters as metrics, also when it throws: what a failed
 * attempt folded is counted then, and its retry counts it as redelivered.
 */
export function processAndRecord(records: SourceRecord[], processor: TransitProcessor, source: 'kinesis' | 'kafka') {
  if (processor.core === 'engine') {
    const stats = emptyPipelineStats();
    return recorded(() => processTransitRecords(records, processor.engine, stats), source, {
      done: () => transitCountersOf(stats),
      committed: () => ({ folded: stats.accepted, redelivered: stats.redelivered }),
    });
  }
  const stats = emptyBatchStats();
  return recorded(() => processBatch(records, processor.deps, stats), source, {
    done: () => stats,
    committed: () => ({ folded: stats.folded, redelivered: stats.redelivered }),
  });
}

/**
 * Runs one attempt and records its counters: all of them when it succeeds; when it throws, only what it
 * committed (its retry sees those as redelivered), because its dead letters, late events and duplicates
 * are counted again by the retry.
 */
async function recorded<T>(
  run: () => Promise<T>,
  source: 'kinesis' | 'kafka',
  counters: { done: () => BatchStats; committed: () => Pick<BatchStats, 'folded' | 'redelivered'> },
): Promise<T> {
  try {
    const outcome = await run();
    recordBatch(counters.done(), source);
    return outcome;
  } catch (error) {
    recordBatch({ ...emptyBatchStats(), ...counters.committed() }, source);
    throw error;
  }
}

/**
 * Transit's counters of an engine batch, under the names `processBatch` publishes. `WindowsWritten`
 * counts the route and vehicle windows written, as `processBatch` does; `EtasWritten` counts ETA puts
 * and deletes, and `AnomaliesDetected` counts what the batch reports, which on a retry includes the
 * anomalies its failed attempt stored (processBatch counts its writes).
 */
export function transitCountersOf(stats: PipelineBatchStats): BatchStats {
  return {
    ...emptyBatchStats(),
    // processBatch's folded events are those in their windows: accepted ones that were not late (an
    // expired one is late but was never counted as accepted).
    folded: stats.accepted - (stats.late - stats.expired),
    redelivered: stats.redelivered,
    rejected: stats.rejected,
    duplicates: stats.duplicates,
    late: stats.late,
    windowsWritten:
      (stats.itemsWrittenByOperator[ROUTE_WINDOWS] ?? 0) + (stats.itemsWrittenByOperator[VEHICLE_WINDOWS] ?? 0),
    anomalies: stats.detections,
    etasWritten: stats.sinkWrites,
    conditionalRetries: stats.conditionalRetries,
  };
}

/** Publishes a batch's counters as metrics and logs them. */
export function recordBatch(stats: BatchStats, source: 'kinesis' | 'kafka'): void {
  publishCounters(METRICS, stats, { source });
}
