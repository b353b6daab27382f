// The local WebSocket server alone, over loopback, with stub functions: no client frame, however malformed,
// may take the process down (it runs REST, the emulators and the broker too).
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { emulatorClientConfig, LOCAL_CREDENTIALS } from '../../local/runtime/emulators.js';
import type { InvokeResult } from '../../local/runtime/function-host.js';
import type { WebSocketApiPlan } from '../../local/runtime/plan.js';
import {
  type LocalWebSocketServer,
  MAX_WEBSOCKET_MESSAGE_BYTES,
  startWebSocketServer,
} from '../../local/runtime/ws-server.js';

const API: WebSocketApiPlan = {
  logicalId: 'WsApi',
  routeSelectionExpression: '$request.body.action',
  apiKeySelectionExpression: '$request.header.x-api-key',
  stageName: 'prod',
  routes: [
    {
      routeLogicalId: 'Connect',
      routeKey: '$connect',
      functionLogicalId: 'Fn',
      returnResponse: false,
      apiKeyRequired: false,
    },
    {
      routeLogicalId: 'Default',
      routeKey: '$default',
      functionLogicalId: 'Fn',
      returnResponse: true,
      apiKeyRequired: false,
    },
  ],
};

/** Echoes a message's body back; answers 200 to everything else, `$connect` after a pause. */
async function echo(_id: string, event: unknown): Promise<InvokeResult> {
  const { body, requestContext } = event as { body?: string; requestContext: { routeKey: string } };
  if (requestContext.routeKey === '$connect') await sleep(100);
  return { ok: true, requestId: 'r', value: { statusCode: 200, body: body ?? '' } } as InvokeResult;
}

let server: LocalWebSocketServer;
const logged: string[] = [];

beforeAll(async () => {
  server = await startWebSocketServer({
    api: API,
    invoke: echo,
    apiKey: 'k',
    credentials: LOCAL_CREDENTIALS,
    log: (message) => logged.push(message),
  });
});

afterAll(async () => {
  await server?.close();
});

const open = (url: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });

const closed = (socket: WebSocket) => new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

/** A second client still gets its echo: the server survived. */
async function expectServing(url: string): Promise<void> {
  const socket = await open(url);
  const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
  socket.send('still here');
  expect(await reply).toBe('still here');
  socket.close();
}

/** A masked, final text frame (RFC 6455, section 5.2) with a payload shorter than 126 bytes. */
function maskedTextFrame(payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

describe('local WebSocket server', () => {
  it('closes a connection that sends a message over the size limit with 1009 and keeps serving', async () => {
    const socket = await open(server.url);
    socket.on('error', () => undefined);
    const code = closed(socket);

    socket.send('x'.repeat(MAX_WEBSOCKET_MESSAGE_BYTES + 1));

    expect(await code).toBe(1009);
    await expectServing(server.url);
    expect(logged.some((line) => line.includes('Max payload size exceeded'))).toBe(true);
  });

  it('closes a connection that sends invalid UTF-8 in a text frame with 1007 and keeps serving', async () => {
    const { port } = new URL(server.url);
    const raw = createConnection({ host: '127.0.0.1', port: Number(port) });
    const received: Buffer[] = [];
    raw.on('data', (chunk) => received.push(chunk));
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(
      [
        'GET / HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    );
    await new Promise<void>((resolve) => {
      const check = () => (Buffer.concat(received).includes('\r\n\r\n') ? resolve() : raw.once('data', check));
      check();
    });
    const handshakeLength = Buffer.concat(received).indexOf('\r\n\r\n') + 4;

    raw.write(maskedTextFrame(Buffer.from([0xc3, 0x28, 0xff])));
    await new Promise((resolve) => raw.once('close', resolve));

    // The server's close frame: opcode 0x8, then the status code.
    const frames = Buffer.concat(received).subarray(handshakeLength);
    expect(frames[0]).toBe(0x88);
    expect(frames.readUInt16BE(2)).toBe(1007);
    await expectServing(server.url);
  });

  it.each(['$connect', '$disconnect'])(
    'routes a message whose action is %s to $default, never to that route',
    async (action) => {
      const socket = await open(server.url);
      const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
      const body = JSON.stringify({ action });
      socket.send(body);

      expect(await reply).toBe(body);
      socket.close();
    },
  );

  it('survives a client that resets its connection while $connect runs', async () => {
    const { port } = new URL(server.url);
    const raw = createConnection({ host: '127.0.0.1', port: Number(port) });
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(
      `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    raw.resetAndDestroy();
    await sleep(200);

    await expectServing(server.url);
  });
});

describe('local WebSocket server with a $connect authorizer', () => {
  const AUTHORIZED: WebSocketApiPlan = {
    ...API,
    apiKeySelectionExpression: '$context.authorizer.usageIdentifierKey',
    routes: API.routes.map((route) =>
      route.routeKey === '$connect'
        ? {
            ...route,
            apiKeyRequired: true,
            authorizer: {
              logicalId: 'Authorizer',
              functionLogicalId: 'AuthFn',
              identitySource: ['route.request.querystring.token'],
            },
          }
        : route,
    ),
  };
  const calls: { fn: string; event: { requestContext: Record<string, unknown>; methodArn?: string } }[] = [];
  let guarded: LocalWebSocketServer;

  /** The stub authorizer: `unauthorized` throws as API Gateway expects, `deny` denies, anything else allows. */
  async function invoke(fn: string, event: unknown): Promise<InvokeResult> {
    calls.push({ fn, event: event as (typeof calls)[number]['event'] });
    if (fn !== 'AuthFn') return echo(fn, event);
    const { methodArn, queryStringParameters } = event as {
      methodArn: string;
      queryStringParameters: { token: string };
    };
    const { token } = queryStringParameters;
    if (token === 'unauthorized')
      return { ok: false, requestId: 'r', errorType: 'Error', errorMessage: 'Unauthorized' };
    const Effect = token === 'deny' ? 'Deny' : 'Allow';
    return {
      ok: true,
      requestId: 'r',
      value: {
        principalId: 'p1',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'execute-api:Invoke', Effect, Resource: methodArn }],
        },
        usageIdentifierKey: token,
        context: { who: 'tester' },
      },
    } as InvokeResult;
  }

  beforeAll(async () => {
    guarded = await startWebSocketServer({
      api: AUTHORIZED,
      invoke,
      apiKey: 'the-key',
      credentials: LOCAL_CREDENTIALS,
      log: () => undefined,
    });
  });

  afterAll(async () => {
    await guarded?.close();
  });

  const refusal = (url: string) =>
    new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('open', () => reject(new Error('connected')));
      socket.once('error', () => undefined);
    });

  it.each([
    ['no token', '', 401],
    ['a token the authorizer answers Unauthorized to', '?token=unauthorized', 401],
    ['a token the authorizer denies', '?token=deny', 403],
    ['a token that is not the API key', '?token=another-key', 403],
  ])('refuses a connection with %s (%s) before $connect runs', async (_case, query, status) => {
    calls.length = 0;

    expect(await refusal(`${guarded.url}/${query}`)).toBe(status);
    expect(calls.map((call) => call.fn)).not.toContain('Fn');
  });

  it('accepts the API key as token and gives $connect the authorizer context and the key', async () => {
    calls.length = 0;

    const socket = await open(`${guarded.url}/?token=the-key`);
    socket.close();

    const connect = calls.find((call) => call.fn === 'Fn')?.event.requestContext;
    expect(calls[0]?.event.methodArn).toMatch(/^arn:aws:execute-api:[^:]+:\d+:[^/]+\/prod\/\$connect$/);
    expect(connect?.authorizer).toEqual({ principalId: 'p1', who: 'tester' });
    expect(connect?.identity).toMatchObject({ apiKey: 'the-key' });
  });
});

describe('local WebSocket management API (@connections)', () => {
  /** A connected client and its id, found from the server's list. */
  async function connected() {
    const before = new Set(server.connections());
    const socket = await open(server.url);
    const id = server.connections().find((c) => !before.has(c)) ?? '';
    const inbox: string[] = [];
    socket.on('message', (data) => inbox.push(data.toString()));
    return { socket, id, inbox };
  }

  it.each([
    ['GET', undefined],
    ['POST', 'forged'],
    ['DELETE', undefined],
  ])('refuses an unsigned %s with 403 and leaves the connection alone', async (method, body) => {
    const { socket, id, inbox } = await connected();

    const response = await fetch(`${server.managementUrl}/@connections/${encodeURIComponent(id)}`, {
      method,
      ...(body ? { body } : {}),
    });

    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(socket.readyState).toBe(WebSocket.OPEN);
    expect(inbox).toEqual([]);
    socket.close();
  });

  it('refuses a request signed with another secret or another access key', async () => {
    const { socket, id } = await connected();
    const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
      new ApiGatewayManagementApiClient({ ...emulatorClientConfig(server.managementUrl), credentials, maxAttempts: 1 });

    const wrongSecret = client({ accessKeyId: LOCAL_CREDENTIALS.accessKeyId, secretAccessKey: 'guessed' });
    const wrongKey = client({ accessKeyId: 'someone-else', secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey });

    await expect(wrongSecret.send(new GetConnectionCommand({ ConnectionId: id }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
      name: 'InvalidSignatureException',
    });
    await expect(wrongKey.send(new DeleteConnectionCommand({ ConnectionId: id }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close();
  });

  it("serves the SDK's signed calls with the local credentials, as the broadcaster makes them", async () => {
    const { socket, id, inbox } = await connected();
    const client = new ApiGatewayManagementApiClient(emulatorClientConfig(server.managementUrl));
    const closedWith = closed(socket);

    const details = await client.send(new GetConnectionCommand({ ConnectionId: id }));
    await client.send(new PostToConnectionCommand({ ConnectionId: id, Data: JSON.stringify({ hello: 'signed' }) }));
    await vi.waitFor(() => expect(inbox).toEqual(['{"hello":"signed"}']));
    await client.send(new DeleteConnectionCommand({ ConnectionId: id }));

    expect(details.ConnectedAt).toBeInstanceOf(Date);
    expect(details.Identity?.SourceIp).toBe('127.0.0.1');
    expect(await closedWith).toBe(1000);
    client.destroy();
  });
});
