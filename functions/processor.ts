/**
 * Kinesis event source on the input stream. The whole batch is folded at once (one write per key and
 * window), so Powertools' per-record BatchProcessor does not fit; the partial batch response names the
 * records whose dead letters could not be sent, and any other failure fails the batch for a retry.
 */
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { processAndRecord, processorDeps } from '../pipelines/transit/processing/processor-runtime.js';
import { kinesisSourceRecords } from '../shared/events/source-records.js';
import { withPowertools } from '../shared/lambda.js';

const deps = processorDeps();

export const handler = withPowertools(async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
  const { failedItemIdentifiers } = await processAndRecord(kinesisSourceRecords(event.Records), deps, 'kinesis');
  return { batchItemFailures: failedItemIdentifiers.map((itemIdentifier) => ({ itemIdentifier })) };
});
