/** Factories for WebSocket tests: route events, output-stream Kinesis events, a fake management client. */
import type { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { OutputRecord } from '../../pipelines/transit/model.js';
import type { WebSocketEvent } from '../../shared/websocket/connection-routes.js';

/** A WebSocket route event; `body` objects are sent as JSON. */
export function wsEvent(routeKey: string, connectionId = 'conn-1', body?: unknown): WebSocketEvent {
  return {
    requestContext: { routeKey, connectionId },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** A `$connect` REQUEST authorizer event with the given query parameters and headers. */
export function wsAuthorizerEvent(query?: Record<string, string>, headers?: Record<string, string>) {
  return {
    methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/$connect',
    queryStringParameters: query ?? null,
    headers: headers ?? null,
  };
}

/** A Kinesis record of the output stream; a string is sent as-is (for malformed records). */
export function outputStreamRecord(payload: OutputRecord | string, sequenceNumber = '1'): KinesisStreamRecord {
  const data = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return {
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/OutputStream',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/broadcaster',
    awsRegion: 'eu-west-1',
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'p',
      sequenceNumber,
      approximateArrivalTimestamp: 1_741_089_600,
      data: Buffer.from(data, 'utf8').toString('base64'),
    },
  };
}

/** A Kinesis event of output-stream records, numbered 1, 2, ... */
export function outputStreamEvent(payloads: (OutputRecord | string)[]): KinesisStreamEvent {
  return { Records: payloads.map((p, i) => outputStreamRecord(p, String(i + 1))) };
}

/** An error shaped like the SDK's GoneException (HTTP 410). */
export function goneError(): Error {
  return Object.assign(new Error('Gone'), { name: 'GoneException', $metadata: { httpStatusCode: 410 } });
}

/** A management client that records posts and fails for the connections it is told to. */
export function fakeManagementClient(failures: Record<string, () => Error> = {}) {
  const posts: { connectionId: string; message: unknown }[] = [];
  return {
    posts,
    failures,
    async send(command: PostToConnectionCommand): Promise<unknown> {
      const connectionId = command.input.ConnectionId ?? '';
      const fail = failures[connectionId];
      if (fail) throw fail();
      const data = command.input.Data;
      const text = typeof data === 'string' ? data : Buffer.from(data as Uint8Array).toString('utf8');
      posts.push({ connectionId, message: JSON.parse(text) });
      return {};
    },
  };
}
