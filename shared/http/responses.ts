/**
 * Response shaping: JSON bodies, CORS, and the one place errors become status codes.
 * A 5xx never carries internal details; its cause is logged by the caller instead.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { BadRequestError, DependencyUnavailableError, NotFoundError, RouteNotFoundError } from './errors.js';

const HEADERS = { 'content-type': 'application/json', 'access-control-allow-origin': '*' } as const;

/** The body of every error response. */
export interface ErrorBody {
  error: string;
  message: string;
  /** The request parameter at fault, on 400s. */
  parameter?: string;
}

/** A JSON response with the API's standard headers. */
export function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { ...HEADERS }, body: JSON.stringify(body) };
}

/** The internal-error body every 5xx returns, whatever went wrong. */
export const INTERNAL_ERROR: ErrorBody = { error: 'InternalError', message: 'internal error' };

/** Maps an error to its response. Unknown errors are 500s. */
export function errorResponse(error: unknown): APIGatewayProxyResult {
  if (error instanceof BadRequestError) {
    return json(400, { error: 'BadRequest', message: error.message, parameter: error.parameter } satisfies ErrorBody);
  }
  if (error instanceof NotFoundError || error instanceof RouteNotFoundError) {
    return json(404, { error: 'NotFound', message: error.message } satisfies ErrorBody);
  }
  if (error instanceof DependencyUnavailableError) return json(503, INTERNAL_ERROR);
  return json(500, INTERNAL_ERROR);
}
