/**
 * An in-memory stand-in for a DynamoDB document client over one `pk`/`sk` table, for unit tests of the
 * reference store: Get, Put (with `attribute_not_exists(pk)` or `#name = :value` conditions), Query
 * (`pk = :pk`, optionally `AND begins_with(sk, :prefix)`), Scan and BatchWrite, with small pages so
 * pagination is exercised. Anything else throws, so a test never passes on an expression it ignored.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';

type Item = Record<string, unknown> & { pk: string; sk: string };
type Command = { input: Record<string, unknown> };

export interface MemoryDocumentClient {
  client: DynamoDBDocumentClient;
  /** The table's items by `pk\0sk`. */
  items: Map<string, Item>;
  /** Called before each command is answered (a test may act in the middle of a load). */
  onSend?: (command: Command) => Promise<void> | void;
}

const keyOf = (key: { pk: unknown; sk: unknown }) => `${String(key.pk)}\u0000${String(key.sk)}`;
const PAGE = 2;

/** Items sorted by key, one page from after `startKey`. */
function page(items: Item[], startKey: Record<string, unknown> | undefined) {
  const sorted = items.sort((a, b) => a.pk.localeCompare(b.pk) || a.sk.localeCompare(b.sk));
  const from = startKey ? sorted.findIndex((item) => keyOf(item) === keyOf(startKey as Item)) + 1 : 0;
  const slice = sorted.slice(from, from + PAGE);
  const last = slice.at(-1);
  return {
    Items: slice.map((item) => structuredClone(item)),
    ...(from + PAGE < sorted.length && last ? { LastEvaluatedKey: { pk: last.pk, sk: last.sk } } : {}),
  };
}

function checkCondition(input: Record<string, unknown>, existing: Item | undefined) {
  const condition = input.ConditionExpression as string | undefined;
  if (condition === undefined) return;
  let ok: boolean;
  const equals = /^(#\w+) = (:\w+)$/.exec(condition);
  if (condition === 'attribute_not_exists(pk)') ok = existing === undefined;
  else if (equals) {
    const name = (input.ExpressionAttributeNames as Record<string, string>)[equals[1]!]!;
    ok = existing?.[name] === (input.ExpressionAttributeValues as Record<string, unknown>)[equals[2]!];
  } else throw new Error(`memory client: unsupported condition ${condition}`);
  if (!ok) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

export function memoryDocumentClient(): MemoryDocumentClient {
  const items = new Map<string, Item>();
  const self: MemoryDocumentClient = {
    items,
    client: {
      send: async (command: Command) => {
        await self.onSend?.(command);
        const input = command.input;
        if (command instanceof GetCommand) {
          const item = items.get(keyOf(input.Key as Item));
          return item ? { Item: structuredClone(item) } : {};
        }
        if (command instanceof PutCommand) {
          const item = input.Item as Item;
          checkCondition(input, items.get(keyOf(item)));
          items.set(keyOf(item), structuredClone(item));
          return {};
        }
        if (command instanceof QueryCommand) {
          const values = input.ExpressionAttributeValues as Record<string, string>;
          const prefixed = input.KeyConditionExpression === 'pk = :pk AND begins_with(sk, :shape)';
          if (!prefixed && input.KeyConditionExpression !== 'pk = :pk') {
            throw new Error(`memory client: unsupported key condition ${String(input.KeyConditionExpression)}`);
          }
          const matching = [...items.values()].filter(
            (item) => item.pk === values[':pk'] && (!prefixed || item.sk.startsWith(values[':shape']!)),
          );
          return page(matching, input.ExclusiveStartKey as Record<string, unknown> | undefined);
        }
        if (command instanceof ScanCommand) {
          return page([...items.values()], input.ExclusiveStartKey as Record<string, unknown> | undefined);
        }
        if (command instanceof BatchWriteCommand) {
          for (const requests of Object.values(input.RequestItems as Record<string, unknown[]>)) {
            for (const request of requests as Array<{
              PutRequest?: { Item: Item };
              DeleteRequest?: { Key: Item };
            }>) {
              if (request.PutRequest)
                items.set(keyOf(request.PutRequest.Item), structuredClone(request.PutRequest.Item));
              if (request.DeleteRequest) items.delete(keyOf(request.DeleteRequest.Key));
            }
          }
          return {};
        }
        throw new Error(`memory client: unsupported command ${command.constructor.name}`);
      },
    } as unknown as DynamoDBDocumentClient,
  };
  return self;
}
