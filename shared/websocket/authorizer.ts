/**
 * The WebSocket API's `$connect` authorizer (a REQUEST Lambda authorizer, docs/contracts.md, WebSocket
 * authentication). It does not hold the key itself: it hands the `token` query parameter to API Gateway
 * as the usage identifier key, and API Gateway accepts the connection only if that is an API key of a
 * usage plan of the stage. The function's own check is the browser's `Origin` against the allowed list.
 */
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

/** What API Gateway reads from a WebSocket (REST-format) Lambda authorizer. */
export interface AuthorizerResponse {
  principalId: string;
  policyDocument: {
    Version: '2012-10-17';
    Statement: { Action: 'execute-api:Invoke'; Effect: 'Allow' | 'Deny'; Resource: string }[];
  };
  /** API Gateway checks this against the stage's usage plans (`$context.authorizer.usageIdentifierKey`). */
  usageIdentifierKey?: string;
  /** Visible to `$connect` as `requestContext.authorizer.*`. */
  context?: Record<string, string>;
}

/** The event fields the authorizer reads; tests build just this. */
export type WebSocketAuthorizerEvent = Pick<APIGatewayRequestAuthorizerEvent, 'methodArn'> & {
  headers?: Record<string, string | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
};

/** Thrown for a request without a token; API Gateway answers 401 to an authorizer error `Unauthorized`. */
export class UnauthorizedError extends Error {
  override name = 'UnauthorizedError';
  constructor() {
    // API Gateway matches this exact message.
    super('Unauthorized');
  }
}

/** The query parameter browsers put the key in (they cannot set headers on a WebSocket). */
export const TOKEN_QUERY_PARAMETER = 'token';

/**
 * Parses `WS_ALLOWED_ORIGINS`: a comma-separated list of origins (`https://maps.example.com`), or `*` for any.
 * Unset means any.
 */
export function parseAllowedOrigins(raw: string | undefined): readonly string[] | '*' {
  const list = (raw ?? '*')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  return list.length === 0 || list.includes('*') ? '*' : list;
}

function header(headers: WebSocketAuthorizerEvent['headers'], name: string): string | undefined {
  return Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];
}

/**
 * Allows a `$connect` that carries a token and, when it comes from a browser (has an `Origin`), an allowed
 * origin; denies any other origin. Clients without an `Origin` (servers, wscat) are not browsers and have
 * no cross-site risk; the key is their authentication.
 * @throws UnauthorizedError without a token.
 */
export function authorizeConnect(
  event: WebSocketAuthorizerEvent,
  allowedOrigins: readonly string[] | '*',
): AuthorizerResponse {
  const token = event.queryStringParameters?.[TOKEN_QUERY_PARAMETER];
  if (!token) throw new UnauthorizedError();
  const origin = header(event.headers, 'origin');
  const allowed = allowedOrigins === '*' || origin === undefined || allowedOrigins.includes(origin);
  return {
    principalId: 'subscriber',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: allowed ? 'Allow' : 'Deny', Resource: event.methodArn }],
    },
    ...(allowed ? { usageIdentifierKey: token } : {}),
    context: { origin: origin ?? '' },
  };
}
