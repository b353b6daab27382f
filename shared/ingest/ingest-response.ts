/**
 * The answers of `POST /v1/events` (docs/openapi.yaml): an ingest result or a failure as a status and a JSON
 * body. Kept apart from the Lambda wiring so that tests can check every answer against the document.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { json } from '../http/responses.js';
import { IngestRequestError, type IngestResult } from './accept-events.js';

/** 202 when every event was accepted, 400 when none was, 207 with the rejections otherwise. */
export function ingestResultResponse(result: IngestResult): APIGatewayProxyResult {
  if (result.rejected === 0) return json(202, result);
  if (result.accepted === 0) return json(400, { error: 'BadRequest', message: 'no event was accepted', ...result });
  return json(207, result);
}

/**
 * 400 or 413 for a request that cannot be taken as a whole; 503 for anything else, with no details (the
 * caller logs the cause): nothing was accepted and the client should retry.
 */
export function ingestErrorResponse(error: unknown): APIGatewayProxyResult {
  if (error instanceof IngestRequestError) {
    return json(error.statusCode, {
      error: error.statusCode === 413 ? 'PayloadTooLarge' : 'BadRequest',
      message: error.message,
    });
  }
  return json(503, { error: 'ServiceUnavailable', message: 'events could not be stored; retry the request' });
}
