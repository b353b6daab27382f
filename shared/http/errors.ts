/**
 * Errors the read API raises. They carry no status code: `responses.ts` maps them to HTTP at the edge,
 * so the query and validation code stays free of transport concerns.
 */

/** A request parameter is missing or malformed; `parameter` names it for the client. */
export class BadRequestError extends Error {
  override name = 'BadRequestError';
  constructor(
    readonly parameter: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The addressed entity (vehicle, stop, route) does not exist. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** No route matches the request's resource and method. */
export class RouteNotFoundError extends Error {
  override name = 'RouteNotFoundError';
}

/** A dependency (DynamoDB) cannot be reached; wraps the cause, which is logged but never returned. */
export class DependencyUnavailableError extends Error {
  override name = 'DependencyUnavailableError';
}
