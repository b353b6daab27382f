/**
 * The REST edge: picks the route for an API Gateway proxy event (payload v1) by `resource` and `httpMethod`,
 * runs it, and turns its result or error into a JSON response. Everything below it is transport-free.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { decodePathId } from '../ids.js';
import { BadRequestError, RouteNotFoundError } from './errors.js';
import { errorResponse, json } from './responses.js';
import type { RouteDefinition } from './route-definition.js';

/** Where the router reports 5xx causes (the Powertools logger in production). */
export interface ErrorLog {
  error(message: string, ...extra: unknown[]): void;
}

/** The route table and what its handlers need (a pipeline's read models, its clock). */
export type RouterOptions<D> = D & {
  log: ErrorLog;
  routes: readonly RouteDefinition<D>[];
};

/** The subset of a proxy event the router reads; tests build just this. */
export type RouterEvent = Pick<
  APIGatewayProxyEvent,
  'resource' | 'httpMethod' | 'pathParameters' | 'queryStringParameters'
>;

/** Path parameters as ids: percent-decoded, a malformed one a 400 naming it. */
function decodedPath(params: RouterEvent['pathParameters']): RouterEvent['pathParameters'] {
  if (!params) return params;
  const decoded: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(params)) {
    const id = value === undefined ? undefined : decodePathId(value);
    if (value !== undefined && id === undefined)
      throw new BadRequestError(name, `${name} is not valid percent-encoding`);
    decoded[name] = id;
  }
  return decoded;
}

/** Creates the request handler for the read API. */
export function createRouter<D>(options: RouterOptions<D>): (event: RouterEvent) => Promise<APIGatewayProxyResult> {
  const table = new Map(options.routes.map((r) => [`${r.method} ${r.resource}`, r]));
  return async (event) => {
    const route = table.get(`${event.httpMethod} ${event.resource}`);
    try {
      if (!route) throw new RouteNotFoundError(`no route for ${event.httpMethod} ${event.resource}`);
      const result = await route.handle({ ...event, pathParameters: decodedPath(event.pathParameters) }, options);
      return json(result.statusCode, result.body);
    } catch (error) {
      const response = errorResponse(error);
      if (response.statusCode >= 500) options.log.error('request failed', { resource: event.resource, error });
      return response;
    }
  };
}
