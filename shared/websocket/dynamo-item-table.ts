/** `ItemTable` over DynamoDB: batched writes (shared `batchWriteAll`), paginated partition reads. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll, type WriteRequest } from '../dynamo/batch.js';
import type { ConnectionItem, ItemTable } from './connection-store.js';

const MAX_ATTEMPTS = 5;

export { UnprocessedItemsError } from '../dynamo/batch.js';

/**
 * Creates the DynamoDB item table. `table` may be a getter, so a missing table variable fails the first
 * request with its name rather than the module import.
 */
export function createDynamoItemTable(client: DynamoDBDocumentClient, table: string | (() => string)): ItemTable {
  const name = typeof table === 'string' ? () => table : table;

  async function write(requests: WriteRequest[]): Promise<void> {
    await batchWriteAll(client, name(), requests, { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 50 });
  }

  return {
    putAll(items) {
      return write(uniqueByKey(items).map((item) => ({ PutRequest: { Item: { ...item } } })));
    },

    deleteAll(keys) {
      return write(uniqueByKey(keys).map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } })));
    },

    async partition(pk) {
      const items: ConnectionItem[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: name(),
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...((out.Items ?? []) as ConnectionItem[]));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return items;
    },
  };
}

/** BatchWriteItem rejects a request that names the same key twice; the last one wins, as it would in sequence. */
function uniqueByKey<T extends Pick<ConnectionItem, 'pk' | 'sk'>>(items: readonly T[]): T[] {
  return [...new Map(items.map((item) => [`${item.pk}\u0000${item.sk}`, item])).values()];
}
