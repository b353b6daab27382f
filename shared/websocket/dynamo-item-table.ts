/** `ItemTable` over DynamoDB: batched writes with retry of unprocessed items, paginated partition reads. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionItem, ItemTable } from './connection-store.js';

/** BatchWriteItem's per-request cap. */
const BATCH_SIZE = 25;
const MAX_ATTEMPTS = 5;

/** Thrown when DynamoDB keeps returning unprocessed items after every retry. */
export class UnprocessedItemsError extends Error {
  override name = 'UnprocessedItemsError';
}

type WriteRequest =
  | { PutRequest: { Item: ConnectionItem } }
  | { DeleteRequest: { Key: Pick<ConnectionItem, 'pk' | 'sk'> } };

/**
 * Creates the DynamoDB item table. `table` may be a getter, so a missing table variable fails the first
 * request with its name rather than the module import.
 */
export function createDynamoItemTable(client: DynamoDBDocumentClient, table: string | (() => string)): ItemTable {
  const name = typeof table === 'string' ? () => table : table;

  async function write(requests: WriteRequest[]): Promise<void> {
    const tableName = name();
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < requests.length; i += BATCH_SIZE) chunks.push(requests.slice(i, i + BATCH_SIZE));
    await Promise.all(
      chunks.map(async (chunk) => {
        let pending = chunk;
        for (let attempt = 1; pending.length > 0; attempt++) {
          if (attempt > MAX_ATTEMPTS) throw new UnprocessedItemsError(`${pending.length} writes still unprocessed`);
          // Unprocessed items mean throttling: back off before asking again.
          if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
          const out = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
          pending = (out.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
        }
      }),
    );
  }

  return {
    putAll(items) {
      return write(uniqueByKey(items).map((Item) => ({ PutRequest: { Item } })));
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
