/**
 * The template's WebSocket API (API Gateway v2, WEBSOCKET) on one port: `$connect`/`$disconnect`/message
 * routes invoke their functions, and the management API (`/@connections/{id}`) lets functions push to
 * clients with the SDK's ApiGatewayManagementApiClient.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { InvokeResult } from './function-host.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, LOCAL_WEBSOCKET_API_ID } from './intrinsics.js';
import { listen } from './listen.js';
import { IDENTITY_SOURCE, type WebSocketApiPlan, type WebSocketRoutePlan } from './plan.js';
import { verifySigV4 } from './sigv4.js';

/** API Gateway's WebSocket message size limit. */
export const MAX_WEBSOCKET_MESSAGE_BYTES = 128 * 1024;

/** Options of {@link startWebSocketServer}. */
export interface WebSocketServerOptions {
  host?: string;
  /** @default 0 (ephemeral) */
  port?: number;
  api: WebSocketApiPlan;
  invoke: (functionLogicalId: string, event: unknown) => Promise<InvokeResult>;
  /** The one accepted API key, for routes with `ApiKeyRequired` (locally every API key is this one). */
  apiKey: string;
  /** The only credentials the management API accepts SigV4 signatures of (`execute-api`, the local region). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  log?: (message: string) => void;
}

/** A running WebSocket API. */
export interface LocalWebSocketServer {
  /** `ws://host:port` for clients. */
  url: string;
  /** `http://host:port`, the management endpoint. */
  managementUrl: string;
  port: number;
  /** Open connection ids. */
  connections(): string[];
  close(): Promise<void>;
}

interface Connection {
  id: string;
  socket: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  /** Messages of one connection are handled in order. */
  queue: Promise<void>;
}

const CONNECTION_ROUTES = new Set(['$connect', '$disconnect']);

/** Evaluates a route selection expression such as `$request.body.action` against a message body. */
export function selectRouteKey(expression: string, body: string): string | undefined {
  const match = /^\$request\.body\.(.+)$/.exec(expression);
  if (!match?.[1]) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  for (const key of match[1].split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'string' ? value : undefined;
}

/** API Gateway's connection ids look like `L0SM9cOFvHcCIhw=`. */
function newConnectionId(): string {
  return randomBytes(11).toString('base64').replace(/[+/]/g, 'x');
}

function headersOf(req: IncomingMessage) {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    const value = req.rawHeaders[i + 1] ?? '';
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  return { headers, multiValueHeaders };
}

/** What API Gateway decides before `$connect` runs: refuse with a status, or go on with the authorizer's output. */
export type ConnectDecision =
  | { ok: true; authorizer?: Record<string, unknown>; apiKey?: string }
  | { ok: false; status: 401 | 403 | 500; reason: string };

/** The value of one identity source (`route.request.querystring.token`, `route.request.header.Name`). */
function identityValue(source: string, query: Record<string, string>, req: IncomingMessage): string | undefined {
  const [, where, name = ''] = IDENTITY_SOURCE.exec(source) ?? [];
  const value = where === 'querystring' ? query[name] : req.headers[name.toLowerCase()];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Whether an IAM resource pattern (`*`, `?` wildcards) matches `arn`. */
function resourceMatches(pattern: unknown, arn: string): boolean {
  const patterns = Array.isArray(pattern) ? pattern : [pattern];
  return patterns.some((p) => {
    if (typeof p !== 'string') return false;
    const regex = p
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    return new RegExp(`^${regex}$`).test(arn);
  });
}

/** Allowed when a statement allows `execute-api:Invoke` on the method and none denies it (IAM's rule). */
export function policyAllows(policy: unknown, methodArn: string): boolean {
  const statements = (policy as { Statement?: unknown } | null)?.Statement;
  const list = (Array.isArray(statements) ? statements : [statements]) as {
    Effect?: string;
    Action?: unknown;
    Resource?: unknown;
  }[];
  const applies = (s: (typeof list)[number]) =>
    (Array.isArray(s.Action) ? s.Action : [s.Action]).some(
      (a) => a === 'execute-api:Invoke' || a === '*' || a === 'execute-api:*',
    ) && resourceMatches(s.Resource, methodArn);
  const relevant = list.filter((s) => s && typeof s === 'object' && applies(s));
  return relevant.some((s) => s.Effect === 'Allow') && !relevant.some((s) => s.Effect === 'Deny');
}

function statusOf(result: InvokeResult): number {
  if (!result.ok) return 500;
  const status = Number((result.value as { statusCode?: unknown } | null)?.statusCode ?? 200);
  return Number.isInteger(status) ? status : 500;
}

/** Starts the WebSocket API and its management endpoint. */
export async function startWebSocketServer(options: WebSocketServerOptions): Promise<LocalWebSocketServer> {
  const { api } = options;
  const host = options.host ?? '127.0.0.1';
  const routes = new Map<string, WebSocketRoutePlan>(api.routes.map((r) => [r.routeKey, r]));
  const connections = new Map<string, Connection>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES });
  wss.on('error', (error) => options.log?.(`WebSocket server: ${error.message}`));
  wss.on('wsClientError', (error, socket) => {
    options.log?.(`WebSocket handshake: ${error.message}`);
    socket.destroy();
  });
  let domainName = host;
  let closing = false;

  const requestContext = (
    connection: Pick<Connection, 'id' | 'connectedAt' | 'sourceIp' | 'userAgent'>,
    routeKey: string,
    eventType: string,
  ) => {
    const now = new Date();
    const requestId = randomUUID();
    return {
      routeKey,
      eventType,
      extendedRequestId: requestId,
      requestTime: now.toISOString(),
      messageDirection: 'IN',
      stage: api.stageName,
      connectedAt: connection.connectedAt,
      requestTimeEpoch: now.getTime(),
      identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
      requestId,
      domainName,
      connectionId: connection.id,
      apiId: LOCAL_WEBSOCKET_API_ID,
    };
  };

  const refuse = (socket: Duplex, status: number) => {
    const text = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Connection refused';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  /**
   * API Gateway's steps before `$connect`: every identity source present (else 401), the Lambda authorizer's
   * policy allowing the method (an `Unauthorized` error: 401; a deny: 403; any other failure: 500), then the
   * API key the API's `ApiKeySelectionExpression` selects (a wrong or missing one: 403).
   */
  const authorizeConnect = async (
    route: WebSocketRoutePlan,
    req: IncomingMessage,
    query: Record<string, string>,
    pending: Pick<Connection, 'id' | 'connectedAt' | 'sourceIp' | 'userAgent'>,
  ): Promise<ConnectDecision> => {
    let authorizer: Record<string, unknown> | undefined;
    let usageIdentifierKey: unknown;
    if (route.authorizer) {
      const missing = route.authorizer.identitySource.filter((source) => !identityValue(source, query, req));
      if (missing.length > 0) return { ok: false, status: 401, reason: `missing ${missing.join(', ')}` };
      const methodArn = `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${LOCAL_WEBSOCKET_API_ID}/${api.stageName}/${route.routeKey}`;
      const result = await options.invoke(route.authorizer.functionLogicalId, {
        type: 'REQUEST',
        methodArn,
        ...headersOf(req),
        queryStringParameters: query,
        multiValueQueryStringParameters: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])),
        stageVariables: {},
        requestContext: requestContext(pending, route.routeKey, 'CONNECT'),
      });
      if (!result.ok) {
        return result.errorMessage === 'Unauthorized'
          ? { ok: false, status: 401, reason: 'the authorizer answered Unauthorized' }
          : { ok: false, status: 500, reason: `authorizer ${result.errorType}: ${result.errorMessage}` };
      }
      const output = (result.value ?? {}) as {
        principalId?: unknown;
        policyDocument?: unknown;
        context?: Record<string, unknown>;
        usageIdentifierKey?: unknown;
      };
      if (!policyAllows(output.policyDocument, methodArn)) {
        return { ok: false, status: 403, reason: 'the authorizer policy does not allow the connection' };
      }
      authorizer = { ...(output.context ?? {}), principalId: output.principalId };
      usageIdentifierKey = output.usageIdentifierKey;
    }
    if (!route.apiKeyRequired) return { ok: true, ...(authorizer ? { authorizer } : {}) };
    const key =
      api.apiKeySelectionExpression === '$context.authorizer.usageIdentifierKey'
        ? usageIdentifierKey
        : req.headers['x-api-key'];
    if (key !== options.apiKey) return { ok: false, status: 403, reason: 'no valid API key' };
    return { ok: true, apiKey: key, ...(authorizer ? { authorizer } : {}) };
  };

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node drops its own error listener from a socket it hands to 'upgrade': a client resetting while
    // $connect runs would otherwise be an unhandled 'error' and end the whole process.
    socket.on('error', (error) => options.log?.(`WebSocket upgrade: ${error.message}`));
    const pending = {
      id: newConnectionId(),
      connectedAt: Date.now(),
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: req.headers['user-agent'] ?? '',
    };
    const route = routes.get('$connect');
    if (route) {
      const query = Object.fromEntries(new URL(req.url ?? '/', 'http://localhost').searchParams);
      const decision = await authorizeConnect(route, req, query, pending);
      if (!decision.ok) {
        options.log?.(`WebSocket $connect refused (${decision.status}): ${decision.reason}`);
        refuse(socket, decision.status);
        return;
      }
      const context = requestContext(pending, '$connect', 'CONNECT');
      const result = await options.invoke(route.functionLogicalId, {
        ...headersOf(req),
        queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
        requestContext: {
          ...context,
          ...(decision.authorizer ? { authorizer: decision.authorizer } : {}),
          identity: { ...context.identity, ...(decision.apiKey ? { apiKey: decision.apiKey } : {}) },
        },
        isBase64Encoded: false,
      });
      const status = statusOf(result);
      if (status < 200 || status > 299) {
        refuse(socket, status);
        return;
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection: Connection = { ...pending, socket: ws, lastActiveAt: Date.now(), queue: Promise.resolve() };
      connections.set(connection.id, connection);
      // A frame ws rejects (over maxPayload, invalid UTF-8, bad opcode) is an 'error' on this socket; ws has
      // already closed it with the matching code (1009, 1007, 1002), as API Gateway would. Log, never throw.
      ws.on('error', (error) => {
        const code = (error as { code?: string }).code;
        options.log?.(`WebSocket ${connection.id}: ${error.message}${code ? ` (${code})` : ''}`);
      });
      ws.on('message', (data, isBinary) => {
        connection.lastActiveAt = Date.now();
        const body = isBinary ? Buffer.from(data as Buffer).toString('base64') : data.toString();
        connection.queue = connection.queue.then(() => onMessage(connection, body, isBinary));
      });
      ws.on('close', (code, reason) => {
        connections.delete(connection.id);
        const disconnect = routes.get('$disconnect');
        if (!disconnect || closing) return;
        void options.invoke(disconnect.functionLogicalId, {
          headers: {},
          multiValueHeaders: {},
          requestContext: {
            ...requestContext(connection, '$disconnect', 'DISCONNECT'),
            disconnectStatusCode: code,
            disconnectReason: reason.toString(),
          },
          isBase64Encoded: false,
        });
      });
    });
  };

  const onMessage = async (connection: Connection, body: string, isBinary: boolean) => {
    const selected = selectRouteKey(api.routeSelectionExpression, body);
    // $connect and $disconnect belong to the connection's life, never to a message (a client sending
    // {"action":"$disconnect"} gets $default, as in API Gateway).
    const messageRoute = selected === undefined || CONNECTION_ROUTES.has(selected) ? undefined : routes.get(selected);
    const route = messageRoute ?? routes.get('$default');
    const context = requestContext(connection, route?.routeKey ?? '$default', 'MESSAGE');
    const reply = (payload: string) => {
      if (connection.socket.readyState === WebSocket.OPEN) connection.socket.send(payload);
    };
    if (!route) {
      reply(JSON.stringify({ message: 'Forbidden', connectionId: connection.id, requestId: context.requestId }));
      return;
    }
    const result = await options.invoke(route.functionLogicalId, {
      requestContext: { ...context, messageId: randomUUID() },
      body,
      isBase64Encoded: isBinary,
    });
    if (!result.ok) {
      options.log?.(`WebSocket ${route.routeKey}: ${result.errorType}: ${result.errorMessage}`);
      reply(
        JSON.stringify({ message: 'Internal server error', connectionId: connection.id, requestId: context.requestId }),
      );
      return;
    }
    const responseBody = (result.value as { body?: unknown } | null)?.body;
    if (route.returnResponse && typeof responseBody === 'string' && responseBody.length > 0) reply(responseBody);
  };

  const management = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const match = /\/@connections\/([^/]+)$/.exec(path);
    const send = (status: number, payload?: unknown, errorType?: string) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'x-amzn-requestid': randomUUID(),
        ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
      });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    if (!match?.[1]) {
      send(req.headers.upgrade ? 400 : 426, {
        message: 'Expected a WebSocket upgrade or /@connections/{connectionId}',
      });
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    // As in AWS, the management API takes only IAM-signed calls: no process may read, post to or close
    // another's connection without the credentials (the broadcaster's SDK client signs with them).
    const failure = await verifySigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) },
      { credentials: options.credentials, region: LOCAL_REGION, service: 'execute-api' },
    );
    if (failure) {
      send(403, { message: failure.message }, failure.errorType);
      return;
    }
    const connection = connections.get(decodeURIComponent(match[1]));
    if (!connection || connection.socket.readyState !== WebSocket.OPEN) {
      send(410, { message: null }, 'GoneException');
      return;
    }
    switch (req.method) {
      case 'POST': {
        const data = Buffer.concat(chunks);
        if (data.length > MAX_WEBSOCKET_MESSAGE_BYTES) {
          send(413, { message: 'Payload too large' }, 'PayloadTooLargeException');
          return;
        }
        connection.socket.send(data.toString('utf8'));
        send(200);
        return;
      }
      case 'GET':
        // The service's JSON names (camelCase), which the SDK maps to ConnectedAt, Identity, LastActiveAt.
        send(200, {
          connectedAt: new Date(connection.connectedAt).toISOString(),
          identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
          lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
        });
        return;
      case 'DELETE':
        connection.socket.close(1000, 'Going away');
        send(204);
        return;
      default:
        send(405, { message: `${req.method} is not supported on /@connections` });
    }
  };

  const server: Server = createServer((req, res) => {
    management(req, res).catch((error: unknown) => {
      options.log?.(`management API: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.on('clientError', (error, socket) => {
    options.log?.(`WebSocket HTTP: ${error.message}`);
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.on('error', (error) => options.log?.(`WebSocket server: ${error.message}`));
  server.on('upgrade', (req, socket, head) => {
    onUpgrade(req, socket, head).catch((error: unknown) => {
      options.log?.(`WebSocket $connect: ${(error as Error).message}`);
      socket.destroy();
    });
  });
  const port = await listen(server, options.port ?? 0, host);
  domainName = `${host}:${port}`;
  return {
    url: `ws://${host}:${port}`,
    managementUrl: `http://${host}:${port}`,
    port,
    connections: () => [...connections.keys()],
    close: async () => {
      closing = true;
      for (const connection of connections.values()) connection.socket.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
