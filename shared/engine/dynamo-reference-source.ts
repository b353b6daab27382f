/**
 * Reference data on DynamoDB: a table keyed by the string `pk`, one item per reference, read with
 * BatchGetItem (100 keys a request, unprocessed keys retried with backoff). Each Lambda container keeps
 * what it read, found or not, for a short TTL: a batch then reads only the keys it has not seen lately,
 * at the cost of staleness (an item changed or added in the table is seen by a container within `ttlMs`).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from '../dynamo/batch.js';
import { type CachedReferenceOptions, CachedReferenceSource } from './cached-reference-source.js';
import type { ReferenceItem } from './reference.js';

/** Options of a {@link DynamoReferenceSource}. */
export type DynamoReferenceSourceOptions = CachedReferenceOptions;

export class DynamoReferenceSource extends CachedReferenceSource {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoReferenceSourceOptions = {},
  ) {
    super(options);
  }

  protected async read(keys: string[]): Promise<Map<string, ReferenceItem>> {
    // Eventually consistent: reference data changes rarely, and the cache is staler than any replica.
    const rows = await batchGetAll(
      this.client,
      this.tableName,
      keys.map((pk) => ({ pk })),
    );
    const byKey = new Map<string, ReferenceItem>();
    for (const { pk, ...item } of rows) byKey.set(String(pk), item);
    return byKey;
  }
}
