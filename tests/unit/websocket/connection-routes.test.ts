import { describe, expect, it } from 'vitest';
import { TRANSIT_TOPIC_FORMS } from '../../../pipelines/transit/description.js';
import { handleWebSocketEvent, MAX_TOPICS_PER_CONNECTION } from '../../../shared/websocket/connection-routes.js';
import { createConnectionStore } from '../../../shared/websocket/connection-store.js';
import { wsEvent } from '../../helpers/ws-events.js';
import { inMemoryItemTable } from './in-memory-item-table.js';

const NOW = Date.parse('2025-03-04T12:00:00Z');
const EXPIRES = NOW / 1000 + 7200;

function setup() {
  const table = inMemoryItemTable();
  const store = createConnectionStore(table, () => NOW);
  const send = async (...args: Parameters<typeof wsEvent>) => {
    const result = await handleWebSocketEvent(wsEvent(...args), store, TRANSIT_TOPIC_FORMS);
    return { ...result, json: result.body === undefined ? undefined : JSON.parse(result.body) };
  };
  return { table, store, send };
}

describe('$connect', () => {
  it('stores the connection with a 2 hour expiry', async () => {
    const { table, send } = setup();

    const result = await send('$connect', 'c1');

    expect(result.statusCode).toBe(200);
    expect(table.items()).toEqual([
      { pk: 'CONN#c1', sk: 'META', connectedAt: '2025-03-04T12:00:00.000Z', expiresAt: EXPIRES },
    ]);
  });
});

describe('subscribe', () => {
  it('refuses a subscription past the per-connection limit, names the limit, and writes nothing', async () => {
    const { store, send } = setup();
    const topics = (from: number, count: number) => Array.from({ length: count }, (_, i) => `route:R${from + i}`);
    for (let from = 0; from < MAX_TOPICS_PER_CONNECTION; from += 20) {
      const count = Math.min(20, MAX_TOPICS_PER_CONNECTION - from);
      expect((await send('subscribe', 'c1', { action: 'subscribe', topics: topics(from, count) })).statusCode).toBe(
        200,
      );
    }

    const result = await send('subscribe', 'c1', { action: 'subscribe', topic: 'vehicles' });

    expect(result.statusCode).toBe(400);
    expect(result.json).toEqual({
      type: 'error',
      message: `a connection may subscribe to at most ${MAX_TOPICS_PER_CONNECTION} topics: it holds ${MAX_TOPICS_PER_CONNECTION}, this message adds 1; unsubscribe from some first`,
    });
    expect(await store.subscribers('vehicles')).toEqual([]);
    expect(await store.topicsOf('c1')).toHaveLength(MAX_TOPICS_PER_CONNECTION);
  });

  it('still accepts topics a full connection already holds, and new ones once it unsubscribed', async () => {
    const { store, send } = setup();
    const held = Array.from({ length: MAX_TOPICS_PER_CONNECTION }, (_, i) => `vehicle:V${i}`);
    await store.subscribe('c1', held);

    const again = await send('subscribe', 'c1', { action: 'subscribe', topic: 'vehicle:V0' });
    await send('unsubscribe', 'c1', { action: 'unsubscribe', topic: 'vehicle:V1' });
    const after = await send('subscribe', 'c1', { action: 'subscribe', topic: 'anomalies' });

    expect(again.statusCode).toBe(200);
    expect(after.json).toEqual({ type: 'subscribed', topic: 'anomalies' });
  });

  it('counts the limit per connection, not across connections', async () => {
    const { store, send } = setup();
    await store.subscribe(
      'c1',
      Array.from({ length: MAX_TOPICS_PER_CONNECTION }, (_, i) => `vehicle:V${i}`),
    );

    const result = await send('subscribe', 'c2', { action: 'subscribe', topic: 'vehicle:V0' });

    expect(result.statusCode).toBe(200);
  });

  it('writes the topic item and its mirror, and replies subscribed', async () => {
    const { table, send } = setup();

    const result = await send('subscribe', 'c1', { action: 'subscribe', topic: 'route:R1' });

    expect(result.statusCode).toBe(200);
    expect(result.json).toEqual({ type: 'subscribed', topic: 'route:R1' });
    expect(table.items()).toEqual([
      { pk: 'CONN#c1', sk: 'TOPIC#route:R1', expiresAt: EXPIRES },
      { pk: 'TOPIC#route:R1', sk: 'c1', expiresAt: EXPIRES },
    ]);
  });

  it('accepts a topics list and answers with the list', async () => {
    const { store, send } = setup();

    const result = await send('subscribe', 'c1', {
      action: 'subscribe',
      topics: ['vehicles', 'vehicle:V1', 'vehicles'],
    });

    expect(result.json).toEqual({ type: 'subscribed', topics: ['vehicles', 'vehicle:V1'] });
    expect(await store.subscribers('vehicles')).toEqual(['c1']);
    expect(await store.subscribers('vehicle:V1')).toEqual(['c1']);
  });

  it.each([
    ['an invalid topic', { action: 'subscribe', topic: 'route:bad#id' }, /invalid topic/],
    ['an unknown topic kind', { action: 'subscribe', topic: 'stops' }, /invalid topic/],
    ['no topic', { action: 'subscribe' }, /"topic" or "topics"/],
    ['an empty topics list', { action: 'subscribe', topics: [] }, /topics must be a list/],
    [
      'too many topics',
      { action: 'subscribe', topics: Array.from({ length: 21 }, (_, i) => `route:R${i}`) },
      /1 to 20/,
    ],
    ['one bad topic in a list', { action: 'subscribe', topics: ['vehicles', 'nope'] }, /invalid topic "nope"/],
    ['a body that is not JSON', '{"action": "subscribe", topic', /must be JSON/],
    ['a JSON body that is not an object', '"vehicles"', /JSON object/],
  ])('replies 400 with an error for %s and writes nothing', async (_case, body, message) => {
    const { table, send } = setup();

    const result = await send('subscribe', 'c1', body);

    expect(result.statusCode).toBe(400);
    expect(result.json.type).toBe('error');
    expect(result.json.message).toMatch(message);
    expect(table.items()).toEqual([]);
  });
});

describe('unsubscribe', () => {
  it('deletes the topic item and its mirror, and replies unsubscribed', async () => {
    const { table, send } = setup();
    await send('$connect', 'c1');
    await send('subscribe', 'c1', { action: 'subscribe', topics: ['route:R1', 'anomalies'] });

    const result = await send('unsubscribe', 'c1', { action: 'unsubscribe', topic: 'route:R1' });

    expect(result.json).toEqual({ type: 'unsubscribed', topic: 'route:R1' });
    expect(table.items().map((i) => `${i.pk}/${i.sk}`)).toEqual([
      'CONN#c1/META',
      'CONN#c1/TOPIC#anomalies',
      'TOPIC#anomalies/c1',
    ]);
  });

  it('replies 400 for an invalid topic', async () => {
    const { send } = setup();

    const result = await send('unsubscribe', 'c1', { action: 'unsubscribe', topic: 'route:' });

    expect(result.statusCode).toBe(400);
    expect(result.json.type).toBe('error');
  });
});

describe('$disconnect', () => {
  it('deletes every item of the connection and none of another', async () => {
    const { table, send } = setup();
    await send('$connect', 'c1');
    await send('$connect', 'c2');
    await send('subscribe', 'c1', { action: 'subscribe', topics: ['vehicles', 'route:R1'] });
    await send('subscribe', 'c2', { action: 'subscribe', topic: 'vehicles' });

    const result = await send('$disconnect', 'c1');

    expect(result.statusCode).toBe(200);
    expect(table.items().map((i) => `${i.pk}/${i.sk}`)).toEqual([
      'CONN#c2/META',
      'CONN#c2/TOPIC#vehicles',
      'TOPIC#vehicles/c2',
    ]);
  });
});

describe('$default', () => {
  it('replies 400 with an error naming the allowed actions', async () => {
    const { send } = setup();

    const result = await send('$default', 'c1', { action: 'publish', topic: 'vehicles' });

    expect(result.statusCode).toBe(400);
    expect(result.json.type).toBe('error');
    expect(result.json.message).toContain('subscribe, unsubscribe');
  });
});

describe('subscribers', () => {
  it('leaves out subscriptions that have expired but not been swept', async () => {
    const table = inMemoryItemTable([
      { pk: 'TOPIC#vehicles', sk: 'old', expiresAt: NOW / 1000 - 1 },
      { pk: 'TOPIC#vehicles', sk: 'live', expiresAt: NOW / 1000 + 60 },
    ]);

    const ids = await createConnectionStore(table, () => NOW).subscribers('vehicles');

    expect(ids).toEqual(['live']);
  });
});
