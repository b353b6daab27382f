/** `POST /v1/events`: validate, put valid events on the input stream, dead-letter the rest. */
import { kinesisClient, sqsClient } from '../shared/aws-clients.js';
import { eventTimeSettings, queueUrls, streamNames } from '../shared/config.js';
import { vehiclePositionContract } from '../shared/ingest/accept-events.js';
import { createIngestHandler } from '../shared/ingest/ingest-handler.js';
import { withPowertools } from '../shared/lambda.js';
import type { VehiclePosition } from '../shared/model.js';
import { KinesisEventWriter, SqsDeadLetterSink } from '../shared/processing/aws-adapters.js';

const ingest = createIngestHandler({
  contract: vehiclePositionContract(eventTimeSettings()),
  writer: new KinesisEventWriter<VehiclePosition>(kinesisClient(), streamNames.input, (e) => e.vehicleId),
  deadLetters: new SqsDeadLetterSink(sqsClient(), queueUrls.deadLetter),
});

export const handler = withPowertools(ingest);
