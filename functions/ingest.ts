/** `POST /v1/events`: validate, put valid events on the input stream, dead-letter the rest. */

import { vehiclePositionContract } from '../pipelines/transit/events/validate.js';
import type { VehiclePosition } from '../pipelines/transit/model.js';
import { kinesisClient, sqsClient } from '../shared/aws-clients.js';
import { eventTimeSettings, queueUrls, streamNames } from '../shared/config.js';
import { SqsDeadLetterSink } from '../shared/events/dead-letters.js';
import { createIngestHandler } from '../shared/ingest/ingest-handler.js';
import { withPowertools } from '../shared/lambda.js';
import { KinesisEventWriter } from '../shared/streams/kinesis-writer.js';

const ingest = createIngestHandler({
  contract: vehiclePositionContract(eventTimeSettings()),
  writer: new KinesisEventWriter<VehiclePosition>(kinesisClient(), streamNames.input, (e) => e.vehicleId),
  deadLetters: new SqsDeadLetterSink(sqsClient(), queueUrls.deadLetter),
});

export const handler = withPowertools(ingest);
