/**
 * The engine's store for transit (docs/transit-on-engine.md, step 8), so far for its windows: route and
 * vehicle windows are rows of transit's existing `WindowsTable` (`window-rows.ts`), under the same
 * version condition today's processor writes them with; every other item and output (entity items,
 * late records) goes to the engine's own store, a table of the engine's layout beside transit's.
 * Transit's tables keep their logical ids and key schemas, and its readers keep reading them.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from '../../../shared/dynamo/batch.js';
import { putIfVersion } from '../../../shared/dynamo/conditional.js';
import { operatorOfPk } from '../../../shared/engine/operators/operator.js';
import {
  type EngineStore,
  type ItemKey,
  itemKey,
  type OutputItem,
  type OutputRange,
  type StoredItem,
  windowStartOfSk,
} from '../../../shared/engine/store.js';
import type { StoredWindow } from '../processing/ports.js';
import { TRANSIT_PIPELINE } from './definition.js';
import { type WindowRow, windowItem, windowRow, windowRowKey } from './window-rows.js';
import { ROUTE_WINDOWS, VEHICLE_WINDOWS } from './windows.js';

const WINDOW_OPERATORS: ReadonlySet<string> = new Set([ROUTE_WINDOWS, VEHICLE_WINDOWS]);
const isWindow = (pk: string) =>
  pk.startsWith(`${TRANSIT_PIPELINE}#`) && WINDOW_OPERATORS.has(operatorOfPk(TRANSIT_PIPELINE, pk));

export class TransitTablesStore implements EngineStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    /** Transit's `WindowsTable`. */
    private readonly windowsTable: string,
    /** The engine's store for everything that is not one of transit's windows. */
    private readonly rest: EngineStore,
    /** Stamps a row's `updatedAt`, as today's processor does. */
    private readonly clock: () => number = Date.now,
  ) {}

  async get(keys: ItemKey[]) {
    const windows = keys.filter((k) => isWindow(k.pk));
    const others = keys.filter((k) => !isWindow(k.pk));
    const rowKeys = [...new Map(windows.map((k) => [itemKey(k), windowRowKey(k)])).values()];
    const [rows, rest] = await Promise.all([
      rowKeys.length > 0 ? batchGetAll(this.client, this.windowsTable, rowKeys, { consistentRead: true }) : [],
      others.length > 0 ? this.rest.get(others) : new Map<string, StoredItem>(),
    ]);
    for (const row of rows) {
      const item = windowItem(row as unknown as WindowRow | StoredWindow);
      rest.set(itemKey(item), item);
    }
    return rest;
  }

  put(item: StoredItem, expectedVersion: number | undefined) {
    if (!isWindow(item.pk)) return this.rest.put(item, expectedVersion);
    const row = windowRow(item, new Date(this.clock()).toISOString());
    return putIfVersion(this.client, this.windowsTable, row as unknown as Record<string, unknown>, expectedVersion);
  }

  async query(pk: string, from: string, to: string) {
    if (!isWindow(pk)) return this.rest.query(pk, from, to);
    const { pk: rowPk } = windowRowKey({ pk, sk: from });
    if (!Number.isFinite(windowStartOfSk(from)) || !Number.isFinite(windowStartOfSk(to))) {
      throw new RangeError(`a window query's bounds are window sort keys, got ${from} and ${to}`);
    }
    const items: StoredItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.windowsTable,
          KeyConditionExpression: 'pk = :pk AND windowStart BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': rowPk, ':from': windowStartOfSk(from), ':to': windowStartOfSk(to) },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []).map((row) => windowItem(row as unknown as WindowRow | StoredWindow)));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Transit's windows close by the watermark and are never due: only the engine's own items can be. */
  due(pipeline: string, before: number, limit: number) {
    return this.rest.due(pipeline, before, limit);
  }

  putOutputs(outputs: OutputItem[]) {
    return this.rest.putOutputs(outputs);
  }

  queryOutputs(pk: string, range: OutputRange) {
    return this.rest.queryOutputs(pk, range);
  }
}
