/**
 * Connections and subscriptions in ConnectionsTable (docs/contracts.md):
 * `CONN#<id>`/`META`, `TOPIC#<topic>`/`<id>` and the mirror `CONN#<id>`/`TOPIC#<topic>` that lets a
 * disconnect find every subscription of a connection without a scan.
 */

/** A ConnectionsTable item. */
export interface ConnectionItem {
  pk: string;
  sk: string;
  connectedAt?: string;
  expiresAt?: number;
}

/** The few table operations the store needs; `dynamo-item-table.ts` implements them over DynamoDB. */
export interface ItemTable {
  putAll(items: readonly ConnectionItem[]): Promise<void>;
  deleteAll(keys: readonly Pick<ConnectionItem, 'pk' | 'sk'>[]): Promise<void>;
  /** Every item of a partition. */
  partition(pk: string): Promise<ConnectionItem[]>;
}

/** API Gateway closes a WebSocket after 2 hours, so nothing about a connection is worth keeping longer. */
export const CONNECTION_TTL_SECONDS = 2 * 3600;

export const connectionPk = (connectionId: string): string => `CONN#${connectionId}`;
export const topicPk = (topic: string): string => `TOPIC#${topic}`;

/** Connection bookkeeping for the WebSocket routes and the broadcaster. */
export interface ConnectionStore {
  connect(connectionId: string): Promise<void>;
  subscribe(connectionId: string, topics: readonly string[]): Promise<void>;
  unsubscribe(connectionId: string, topics: readonly string[]): Promise<void>;
  /** The topics a connection is subscribed to (read from its mirror items, one query). */
  topicsOf(connectionId: string): Promise<string[]>;
  /** Deletes every item of the connection: its META, its subscriptions and their mirrors. */
  disconnect(connectionId: string): Promise<void>;
  /** The connections subscribed to a topic, without those whose item has expired but not yet been swept. */
  subscribers(topic: string): Promise<string[]>;
}

/** Creates the store over `table`; `now` is epoch ms. */
export function createConnectionStore(table: ItemTable, now: () => number = Date.now): ConnectionStore {
  const expiresAt = () => Math.floor(now() / 1000) + CONNECTION_TTL_SECONDS;
  const subscriptionKeys = (connectionId: string, topic: string) => [
    { pk: topicPk(topic), sk: connectionId },
    { pk: connectionPk(connectionId), sk: topicPk(topic) },
  ];

  return {
    connect(connectionId) {
      return table.putAll([
        {
          pk: connectionPk(connectionId),
          sk: 'META',
          connectedAt: new Date(now()).toISOString(),
          expiresAt: expiresAt(),
        },
      ]);
    },

    subscribe(connectionId, topics) {
      // The mirror carries the TTL too, so a connection whose $disconnect never ran leaves nothing behind.
      const ttl = expiresAt();
      return table.putAll(
        topics.flatMap((topic) => subscriptionKeys(connectionId, topic).map((key) => ({ ...key, expiresAt: ttl }))),
      );
    },

    unsubscribe(connectionId, topics) {
      return table.deleteAll(topics.flatMap((topic) => subscriptionKeys(connectionId, topic)));
    },

    async topicsOf(connectionId) {
      const items = await table.partition(connectionPk(connectionId));
      return items.filter((item) => item.sk.startsWith('TOPIC#')).map((item) => item.sk.slice('TOPIC#'.length));
    },

    async disconnect(connectionId) {
      const items = await table.partition(connectionPk(connectionId));
      const subscriptions = items
        .filter((item) => item.sk.startsWith('TOPIC#'))
        .map((item) => ({ pk: item.sk, sk: connectionId }));
      await table.deleteAll([...subscriptions, ...items.map(({ pk, sk }) => ({ pk, sk }))]);
    },

    async subscribers(topic) {
      const nowSeconds = now() / 1000;
      const items = await table.partition(topicPk(topic));
      return items
        .filter((item) => item.expiresAt === undefined || item.expiresAt >= nowSeconds)
        .map((item) => item.sk);
    },
  };
}
