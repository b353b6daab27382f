/**
 * The WebSocket API's routes. Each returns its response (the route has a `$default` route response), so
 * a client sees `{"type":"subscribed",...}` or `{"type":"error","message":...}` for every message it sends.
 */
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import type { ConnectionStore } from './connection-store.js';
import { InvalidTopicError, parseTopic } from './topic-forms.js';

/** A WebSocket route's result: a status and, for messages, the JSON reply. */
export interface WebSocketRouteResult {
  statusCode: number;
  body?: string;
}

/** The subset of a WebSocket event the routes read; tests build just this. */
export type WebSocketEvent = Pick<APIGatewayProxyWebsocketEventV2, 'body' | 'isBase64Encoded'> & {
  requestContext: Pick<APIGatewayProxyWebsocketEventV2['requestContext'], 'routeKey' | 'connectionId'>;
};

/** Thrown for a client message that cannot be acted on; the message is safe to send back. */
export class BadMessageError extends Error {
  override name = 'BadMessageError';
}

/** How many topics one message may name: bounds the writes a single message causes. */
export const MAX_TOPICS_PER_MESSAGE = 20;

/**
 * How many topics one connection may hold at once: bounds the items a connection keeps in the table and
 * the fan-out one client can ask of the broadcaster. Checked before writing, so two messages of the same
 * connection handled at the same instant may pass it together by at most one message's topics.
 */
export const MAX_TOPICS_PER_CONNECTION = 50;

const ACTIONS = ['subscribe', 'unsubscribe'] as const;
type Action = (typeof ACTIONS)[number];

const reply = (statusCode: number, body: unknown): WebSocketRouteResult => ({ statusCode, body: JSON.stringify(body) });

/** Handles one WebSocket event by its route key. */
export async function handleWebSocketEvent(
  event: WebSocketEvent,
  store: ConnectionStore,
  /** The topic forms the stack's pipelines publish (`vehicles`, `sensor:{sensorId}`). */
  topicForms: readonly string[],
): Promise<WebSocketRouteResult> {
  const { routeKey, connectionId } = event.requestContext;
  switch (routeKey) {
    case '$connect':
      await store.connect(connectionId);
      return { statusCode: 200 };
    case '$disconnect':
      await store.disconnect(connectionId);
      return { statusCode: 200 };
    case 'subscribe':
    case 'unsubscribe':
      return handleMessage(routeKey, event, connectionId, store, topicForms);
    default:
      return reply(400, {
        type: 'error',
        message: `unknown action: send {"action": "subscribe" | "unsubscribe", "topic": "<topic>"}; allowed actions are ${ACTIONS.join(', ')}`,
      });
  }
}

async function handleMessage(
  action: Action,
  event: WebSocketEvent,
  connectionId: string,
  store: ConnectionStore,
  topicForms: readonly string[],
): Promise<WebSocketRouteResult> {
  let topics: string[];
  let many: boolean;
  try {
    ({ topics, many } = parseTopics(event, topicForms));
  } catch (error) {
    if (error instanceof BadMessageError || error instanceof InvalidTopicError) {
      return reply(400, { type: 'error', message: error.message });
    }
    throw error;
  }
  if (action === 'subscribe') {
    const held = new Set(await store.topicsOf(connectionId));
    const added = topics.filter((topic) => !held.has(topic));
    if (held.size + added.length > MAX_TOPICS_PER_CONNECTION) {
      return reply(400, {
        type: 'error',
        message: `a connection may subscribe to at most ${MAX_TOPICS_PER_CONNECTION} topics: it holds ${held.size}, this message adds ${added.length}; unsubscribe from some first`,
      });
    }
    await store.subscribe(connectionId, topics);
  } else {
    await store.unsubscribe(connectionId, topics);
  }
  const type = action === 'subscribe' ? 'subscribed' : 'unsubscribed';
  // One topic in, the contract's `{type, topic}` out; a `topics` list is answered with the list.
  return reply(200, many ? { type, topics } : { type, topic: topics[0] });
}

/** The topics a `{"action", "topic"}` or `{"action", "topics": [...]}` message names, validated and deduplicated. */
export function parseTopics(
  event: Pick<WebSocketEvent, 'body' | 'isBase64Encoded'>,
  topicForms: readonly string[],
): {
  topics: string[];
  many: boolean;
} {
  const raw = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  let message: unknown;
  try {
    message = JSON.parse(raw ?? '');
  } catch {
    throw new BadMessageError('message must be JSON like {"action": "subscribe", "topic": "<topic>"}');
  }
  if (typeof message !== 'object' || message === null) throw new BadMessageError('message must be a JSON object');
  const { topic, topics } = message as { topic?: unknown; topics?: unknown };
  if (topics !== undefined) {
    if (!Array.isArray(topics) || topics.length === 0 || topics.length > MAX_TOPICS_PER_MESSAGE) {
      throw new BadMessageError(`topics must be a list of 1 to ${MAX_TOPICS_PER_MESSAGE} topics`);
    }
    const parse = (value: unknown) => parseTopic(value, topicForms);
    const list = topics.map(parse);
    if (topic !== undefined) list.unshift(parse(topic));
    return { topics: [...new Set(list)], many: true };
  }
  if (topic === undefined) throw new BadMessageError('message must name a "topic" or "topics"');
  return { topics: [parseTopic(topic, topicForms)], many: false };
}
