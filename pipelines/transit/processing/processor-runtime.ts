/**
 * What every processor handler (Kinesis, Kafka) shares: the processing core's AWS dependencies,
 * built once per container from the environment, and the batch metrics they publish.
 */
import { dynamoDocumentClient, kinesisClient, sqsClient } from '../../../shared/aws-clients.js';
import { queueUrls, streamNames } from '../../../shared/config.js';
import { SqsDeadLetterSink } from '../../../shared/events/dead-letters.js';
import type { SourceRecord } from '../../../shared/events/source-records.js';
import { publishCounters } from '../../../shared/observability.js';
import { processingSettings, transitTables } from '../config.js';
import { DynamoReferenceSource, KinesisPublisher } from './aws-adapters.js';
import { DynamoStore } from './dynamo-store.js';
import { type BatchStats, emptyBatchStats, type ProcessorDeps, processBatch } from './process-batch.js';

/** The processing core's dependencies on DynamoDB, Kinesis and SQS, from the function's environment. */
export function processorDeps(): ProcessorDeps {
  const dynamo = dynamoDocumentClient();
  return {
    store: new DynamoStore(dynamo, {
      vehicleState: transitTables.vehicleState,
      windows: transitTables.windows,
      anomalies: transitTables.anomalies,
      etas: transitTables.etas,
      lateEvents: transitTables.lateEvents,
    }),
    reference: new DynamoReferenceSource(dynamo, transitTables.reference),
    publisher: new KinesisPublisher(kinesisClient(), streamNames.output),
    deadLetters: new SqsDeadLetterSink(sqsClient(), queueUrls.deadLetter),
    settings: processingSettings(),
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
export async function processAndRecord(records: SourceRecord[], deps: ProcessorDeps, source: 'kinesis' | 'kafka') {
  const stats = emptyBatchStats();
  try {
    const outcome = await processBatch(records, deps, stats);
    recordBatch(stats, source);
    return outcome;
  } catch (error) {
    // Only the folds of a failed attempt are final (its retry sees them as redelivered); its dead
    // letters, late events and duplicates are counted again by the retry, so they are counted there.
    recordBatch({ ...emptyBatchStats(), folded: stats.folded, redelivered: stats.redelivered }, source);
    throw error;
  }
}

/** Publishes a batch's counters as metrics and logs them. */
export function recordBatch(stats: BatchStats, source: 'kinesis' | 'kafka'): void {
  publishCounters(METRICS, stats, { source });
}
