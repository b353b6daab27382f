/** Conditional writes as the read-model stores make them: false when the condition failed, never an error. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

/** Runs a conditional write; false when the condition failed. */
export async function conditional(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * Puts an item unless one with its key exists (a write-once output: a late event, an anomaly). False
 * when one does. `keyAttribute` is any attribute of the table's key.
 */
export function putIfAbsent(
  client: DynamoDBDocumentClient,
  table: string,
  item: Record<string, unknown>,
  keyAttribute = 'pk',
): Promise<boolean> {
  return conditional(
    client.send(
      new PutCommand({
        TableName: table,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#key)',
        ExpressionAttributeNames: { '#key': keyAttribute },
      }),
    ),
  );
}

/**
 * Puts an item if the stored one has `version = expectedVersion`, or, with `expectedVersion`
 * undefined, if there is none (optimistic locking). False when another writer got there first.
 */
export function putIfVersion(
  client: DynamoDBDocumentClient,
  table: string,
  item: Record<string, unknown>,
  expectedVersion: number | undefined,
): Promise<boolean> {
  return conditional(
    client.send(
      new PutCommand({
        TableName: table,
        Item: item,
        ...(expectedVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': expectedVersion },
            }),
      }),
    ),
  );
}
