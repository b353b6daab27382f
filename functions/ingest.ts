/** `POST /v1/events`: validate, put valid events on the input stream, dead-letter the rest. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { kinesisClient, sqsClient } from '../shared/aws-clients.js';
import { eventTimeSettings, queueUrls, streamNames } from '../shared/config.js';
import { acceptEvents, IngestRequestError, parseIngestBody } from '../shared/ingest/accept-events.js';
import { ingestErrorResponse, ingestResultResponse } from '../shared/ingest/ingest-response.js';
import { withPowertools } from '../shared/lambda.js';
import { logger, metrics } from '../shared/observability.js';
import { putRecordsReliably, SqsDeadLetterSink } from '../shared/processing/aws-adapters.js';

const kinesis = kinesisClient();
const inputStream = streamNames.input;
const validation = eventTimeSettings();
const ports = {
  writer: {
    write: (events: { vehicleId: string }[]) =>
      putRecordsReliably(
        kinesis,
        inputStream,
        events.map((e) => ({ data: Buffer.from(JSON.stringify(e)), partitionKey: e.vehicleId })),
      ),
  },
  deadLetters: new SqsDeadLetterSink(sqsClient(), queueUrls.deadLetter),
};

export const handler = withPowertools(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    const events = parseIngestBody(event.body, event.isBase64Encoded);
    const result = await acceptEvents(events, ports, validation);
    metrics.addMetric('EventsAccepted', MetricUnit.Count, result.accepted);
    metrics.addMetric('EventsRejected', MetricUnit.Count, result.rejected);
    return ingestResultResponse(result);
  } catch (error) {
    if (!(error instanceof IngestRequestError)) logger.error('ingest failed', { error });
    return ingestErrorResponse(error);
  }
});
