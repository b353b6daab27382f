/**
 * The ingest endpoint's steps, for transit's `POST /v1/events` and every pipeline's
 * `POST /v1/<pipeline>/events`: parse the body, accept the valid events and dead-letter the rest,
 * count both, and answer with the contract's 202 / 207 / 400 / 413 / 503.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { DeadLetterSink } from '../events/dead-letters.js';
import { logger, metrics } from '../observability.js';
import {
  acceptEvents,
  type EventContract,
  type EventWriter,
  IngestRequestError,
  parseIngestBody,
} from './accept-events.js';
import { ingestErrorResponse, ingestResultResponse } from './ingest-response.js';

export interface IngestPorts<E> {
  contract: EventContract<E>;
  writer: EventWriter<E>;
  deadLetters: DeadLetterSink;
}

export function createIngestHandler<E>(ports: IngestPorts<E>) {
  return async (event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): Promise<APIGatewayProxyResult> => {
    try {
      const events = parseIngestBody(event.body, event.isBase64Encoded);
      const result = await acceptEvents(events, ports, ports.contract);
      metrics.addMetric('EventsAccepted', MetricUnit.Count, result.accepted);
      metrics.addMetric('EventsRejected', MetricUnit.Count, result.rejected);
      return ingestResultResponse(result);
    } catch (error) {
      if (!(error instanceof IngestRequestError)) logger.error('ingest failed', { error });
      return ingestErrorResponse(error);
    }
  };
}
