/**
 * The engine's store on DynamoDB: one table per pipeline, keyed `pk` (S) / `sk` (S), holding operator
 * items (versioned, conditional PutItem), entity items and write-once outputs (PutItem with
 * `attribute_not_exists`). Open windows and sessions carry `dueShard` and `closeAt`, the keys of the
 * sparse `due` index the tick queries; items that expire carry `ttl` (epoch seconds) for DynamoDB's
 * TTL sweep, while reads go by `expiresAt` because the sweep runs late (and not at all offline).
 */
import { type DynamoDBDocumentClient, paginateQuery, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { forEachLimited } from '../concurrency.js';
import { batchGetAll } from '../dynamo/batch.js';
import { putIfAbsent, putIfVersion } from '../dynamo/conditional.js';
import {
  type EngineStore,
  type ItemKey,
  itemKey,
  type OutputItem,
  type OutputRange,
  type StoredItem,
} from './store.js';

/** The index of open windows and sessions by when they are due. */
export const DUE_INDEX = 'due';
/** Expired items are left for this long before the TTL sweep may delete them (reads ignore them already). */
const TTL_GRACE_SECONDS = 86_400;
const OUTPUT_CONCURRENCY = 16;

/** The item as stored: the engine's fields plus the index and TTL attributes derived from them. */
function toRow(item: StoredItem, pipeline: string): Record<string, unknown> {
  return {
    ...item,
    ...(item.closeAt === undefined ? {} : { dueShard: pipeline }),
    ...(item.expiresAt === undefined ? {} : { ttl: Math.ceil(item.expiresAt / 1000) + TTL_GRACE_SECONDS }),
  };
}

function fromRow(row: Record<string, unknown>): StoredItem {
  const { dueShard: _due, ttl: _ttl, ...item } = row;
  return item as unknown as StoredItem;
}

export class DynamoEngineStore implements EngineStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    /** The pipeline whose open items the `due` index shards by. */
    private readonly pipeline: string,
  ) {}

  async get(keys: ItemKey[]) {
    const unique = [...new Map(keys.map((k) => [itemKey(k), { pk: k.pk, sk: k.sk }])).values()];
    const rows = await batchGetAll(this.client, this.table, unique, { consistentRead: true });
    return new Map(rows.map((row) => [itemKey(row as unknown as ItemKey), fromRow(row)]));
  }

  put(item: StoredItem, expectedVersion: number | undefined) {
    return putIfVersion(this.client, this.table, toRow(item, this.pipeline), expectedVersion);
  }

  async query(pk: string, from: string, to: string) {
    const items: StoredItem[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []).map(fromRow));
    return items;
  }

  async due(pipeline: string, before: number, limit: number) {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'dueShard = :shard AND closeAt <= :before',
        ExpressionAttributeValues: { ':shard': pipeline, ':before': before },
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map(fromRow);
  }

  async putOutputs(outputs: OutputItem[]) {
    let written = 0;
    await forEachLimited(outputs, OUTPUT_CONCURRENCY, async (output) => {
      if (await putIfAbsent(this.client, this.table, output as unknown as Record<string, unknown>)) written++;
    });
    return written;
  }

  async queryOutputs(pk: string, { from, to, limit, descending = false, after, consistent = false }: OutputRange) {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
        ScanIndexForward: !descending,
        Limit: limit,
        ...(consistent ? { ConsistentRead: true } : {}),
        ...(after === undefined ? {} : { ExclusiveStartKey: { pk, sk: after } }),
      }),
    );
    return (page.Items ?? []) as OutputItem[];
  }
}
