/**
 * MSK event source on the `vehicle.position.v1` topic: the same processing core as the Kinesis
 * processor behind a Kafka adapter. Bad records go to the DLQ like on Kinesis; when a record's dead
 * letter cannot be sent, the whole batch fails and is retried (re-folding a batch counts nothing twice,
 * see docs/exactly-once.md), because the Kafka partial-batch response is not used.
 */
import type { MSKEvent } from 'aws-lambda';
import { processAndRecord, processorDeps } from '../pipelines/transit/processing/processor-runtime.js';
import { kafkaSourceRecords } from '../shared/events/source-records.js';
import { withPowertools } from '../shared/lambda.js';

const deps = processorDeps();

/** Some records of a Kafka batch could not be handled; the event source retries the batch. */
export class KafkaBatchError extends Error {
  override name = 'KafkaBatchError';
}

export const handler = withPowertools(async (event: MSKEvent): Promise<void> => {
  const { failedItemIdentifiers } = await processAndRecord(kafkaSourceRecords(event), deps, 'kafka');
  if (failedItemIdentifiers.length > 0) {
    throw new KafkaBatchError(`dead letters could not be sent for ${failedItemIdentifiers.join(', ')}`);
  }
});
