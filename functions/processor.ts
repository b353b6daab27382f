/**
 * Kinesis event source on the input stream. The whole batch is folded at once (one write per key and
 * window), so Powertools' per-record BatchProcessor does not fit; the partial batch response names the
 * records whose dead letters could not be sent, and any other failure fails the batch for a retry.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { dynamoDocumentClient, kinesisClient, sqsClient } from '../shared/aws-clients.js';
import { processingSettings, queueUrls, streamNames, tableNames } from '../shared/config.js';
import { kinesisSourceRecords } from '../shared/events/source-records.js';
import { withPowertools } from '../shared/lambda.js';
import { logger, metrics } from '../shared/observability.js';
import { DynamoReferenceSource, KinesisPublisher, SqsDeadLetterSink } from '../shared/processing/aws-adapters.js';
import { DynamoStore } from '../shared/processing/dynamo-store.js';
import { type BatchStats, processBatch } from '../shared/processing/process-batch.js';

const dynamo = dynamoDocumentClient();
const deps = {
  store: new DynamoStore(dynamo, {
    vehicleState: tableNames.vehicleState,
    windows: tableNames.windows,
    anomalies: tableNames.anomalies,
    etas: tableNames.etas,
    lateEvents: tableNames.lateEvents,
  }),
  reference: new DynamoReferenceSource(dynamo, tableNames.reference),
  publisher: new KinesisPublisher(kinesisClient(), streamNames.output),
  deadLetters: new SqsDeadLetterSink(sqsClient(), queueUrls.deadLetter),
  settings: processingSettings(),
};

const METRICS: Array<[keyof BatchStats, string]> = [
  ['folded', 'EventsProcessed'],
  ['rejected', 'EventsRejected'],
  ['duplicates', 'DuplicatesSkipped'],
  ['late', 'LateEvents'],
  ['windowsWritten', 'WindowsWritten'],
  ['anomalies', 'AnomaliesDetected'],
  ['etasWritten', 'EtasWritten'],
  ['conditionalRetries', 'ConditionalRetries'],
];

export const handler = withPowertools(async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
  const { failedItemIdentifiers, stats } = await processBatch(kinesisSourceRecords(event.Records), deps);
  for (const [stat, name] of METRICS) metrics.addMetric(name, MetricUnit.Count, stats[stat]);
  logger.info('batch processed', { ...stats });
  return { batchItemFailures: failedItemIdentifiers.map((itemIdentifier) => ({ itemIdentifier })) };
});
