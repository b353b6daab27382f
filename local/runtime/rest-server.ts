/** Serves the template's REST API methods over HTTP, the way API Gateway's Lambda proxy integration does. */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { InvokeResult } from './function-host.js';
import { listen } from './listen.js';
import type { RestRoutePlan } from './plan.js';
import { authorizeRestRequest } from './rest-authorization.js';
import {
  BAD_GATEWAY,
  buildRestEvent,
  type HttpResponse,
  jsonResponse,
  matchRoute,
  type RouteMatch,
  translateProxyResult,
} from './rest-routes.js';

/** API Gateway's payload limit. */
export const MAX_REST_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** API Gateway's integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

/**
 * What API Gateway (REST) answers for a path or method it has no resource for. It is a 403, not a 404:
 * without a matching method API Gateway assumes an unsigned call to an IAM-protected one.
 */
export const MISSING_ROUTE: HttpResponse = jsonResponse(
  403,
  { message: 'Missing Authentication Token' },
  { 'x-amzn-errortype': ['MissingAuthenticationTokenException'] },
);

/** API Gateway's answer to a missing or wrong API key. */
export const FORBIDDEN: HttpResponse = jsonResponse(
  403,
  { message: 'Forbidden' },
  { 'x-amzn-errortype': ['ForbiddenException'] },
);

/** Options of {@link startRestServer}. */
export interface RestServerOptions {
  host?: string;
  /** @default 0 (ephemeral) */
  port?: number;
  routes: readonly RestRoutePlan[];
  /** Invokes a function by logical id. */
  invoke: (functionLogicalId: string, event: unknown) => Promise<InvokeResult>;
  /** The one accepted `x-api-key` value. */
  apiKey: string;
  /** The credentials `AWS_IAM` methods accept SigV4 signatures of. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** False while the stack is still starting: every request then gets {@link NOT_READY}. @default always ready */
  isReady?: () => boolean;
  log?: (message: string) => void;
}

/** Seconds a client is told to wait (`Retry-After`) while the stack starts. */
export const RETRY_AFTER_SECONDS = 1;

/** The answer while the stack is starting: 503 with `Retry-After`, as a service that is not up yet answers. */
export const NOT_READY: HttpResponse = jsonResponse(
  503,
  { message: 'The local stack is starting; retry shortly', retryAfterSeconds: RETRY_AFTER_SECONDS },
  { 'retry-after': [String(RETRY_AFTER_SECONDS)] },
);

/** A running REST server. */
export interface RestServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

class PayloadTooLargeError extends Error {
  override name = 'PayloadTooLargeError';
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_REST_PAYLOAD_BYTES) throw new PayloadTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REST_PAYLOAD_BYTES) throw new PayloadTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function write(res: ServerResponse, response: HttpResponse, requestId: string): void {
  res.statusCode = response.statusCode;
  for (const [name, values] of Object.entries(response.headers)) res.setHeader(name, values);
  res.setHeader('x-amzn-requestid', requestId);
  res.setHeader('content-length', response.body.length);
  res.end(response.body);
}

/** Starts the REST server. */
export async function startRestServer(options: RestServerOptions): Promise<RestServer> {
  const host = options.host ?? '127.0.0.1';
  let domainName = host;

  const answer = async (
    req: IncomingMessage,
    match: RouteMatch | undefined,
    requestId: string,
  ): Promise<HttpResponse> => {
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) return jsonResponse(413, { message: 'Request Too Long' });
      throw error;
    }
    if (options.isReady && !options.isReady()) return NOT_READY;
    if (!match) return MISSING_ROUTE;
    const { route } = match;
    // API Gateway's order: the method's authorization (IAM, Cognito), then its API key.
    const authorization = await authorizeRestRequest(
      route,
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
      options.credentials,
    );
    if (!authorization.ok) return authorization.response;
    if (route.apiKeyRequired && req.headers['x-api-key'] !== options.apiKey) return FORBIDDEN;
    if (route.target.kind === 'mock') {
      const headers = Object.fromEntries(Object.entries(route.target.headers).map(([k, v]) => [k.toLowerCase(), [v]]));
      return { statusCode: route.target.statusCode, headers, body: Buffer.alloc(0) };
    }
    const event = buildRestEvent(match, {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      rawHeaders: req.rawHeaders,
      body,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      requestId,
      apiId: route.restApiLogicalId,
      domainName,
      now: new Date(),
    });
    authorization.apply(event);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), INTEGRATION_TIMEOUT_MS);
    });
    const result = await Promise.race([options.invoke(route.target.functionLogicalId, event), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') return jsonResponse(504, { message: 'Endpoint request timed out' });
    if (!result.ok) {
      options.log?.(`${route.httpMethod} ${route.path}: ${result.errorType}: ${result.errorMessage}`);
      return BAD_GATEWAY;
    }
    const response = translateProxyResult(result.value);
    if (response === BAD_GATEWAY) options.log?.(`${route.httpMethod} ${route.path}: malformed Lambda proxy response`);
    return response;
  };

  const server: Server = createServer((req, res) => {
    const requestId = randomUUID();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const match = matchRoute(options.routes, req.method ?? 'GET', path);
    answer(req, match, requestId).then(
      (response) => write(res, response, requestId),
      (error: unknown) => {
        options.log?.(`REST ${req.method} ${path}: ${(error as Error).stack ?? String(error)}`);
        write(res, BAD_GATEWAY, requestId);
      },
    );
  });
  const port = await listen(server, options.port ?? 0, host);
  domainName = `${host}:${port}`;
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
