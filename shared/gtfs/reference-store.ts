/**
 * ReferenceTable access: the bulk writer used by `npm run load-gtfs`, and the small typed readers
 * the processor and API use. Item layout: docs/contracts.md.
 */
import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../aws-clients.js';
import { tableNames } from '../config.js';
import type { ShapePoint } from '../geo.js';
import type { StopOnShape } from './parse-feed.js';
import type { ReferenceItem, RouteListItem, ShapeItem, TripItem } from './reference-items.js';

export type { StopOnShape };

/** One shape of a route: points with cumulative distance and the stops along it. */
export interface ShapeReference {
  points: ShapePoint[];
  stops: StopOnShape[];
}

/** Everything the processor needs to place a vehicle of a route: its shapes by shape id. */
export interface RouteReference {
  routeId: string;
  shapes: Map<string, ShapeReference>;
}

/** A trip's route, shape and direction. */
export type TripReference = Omit<TripItem, 'pk' | 'sk'>;

/** One entry of the route list. */
export type RouteSummary = Omit<RouteListItem, 'pk' | 'sk'>;

/** Table and client to use; both default to the runtime's (`REFERENCE_TABLE`, the shared document client). */
export interface ReferenceStoreOptions {
  tableName?: string;
  client?: DynamoDBDocumentClient;
}

/** Some items stayed unprocessed after every retry (sustained throttling). */
export class UnprocessedItemsError extends Error {
  override name = 'UnprocessedItemsError';
}

export interface WriteOptions extends ReferenceStoreOptions {
  /** Attempts per batch of 25, including the first. @default 8 */
  maxAttempts?: number;
  /** Base delay of the exponential backoff in ms. @default 50 */
  baseDelayMs?: number;
  /** Batches written concurrently. @default 4 */
  concurrency?: number;
  /** Called after each batch with the running total. */
  onProgress?: (written: number, total: number) => void;
}

const BATCH_SIZE = 25;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const clientOf = (o: ReferenceStoreOptions) => o.client ?? dynamoDocumentClient();
const tableOf = (o: ReferenceStoreOptions) => o.tableName ?? tableNames.reference;

/**
 * Writes items with BatchWriteItem, 25 per request, retrying UnprocessedItems with exponential
 * backoff and full jitter. Items with the same key are deduplicated (last wins), because one batch
 * may not contain the same key twice.
 */
export async function writeReferenceItems(items: ReferenceItem[], options: WriteOptions = {}): Promise<number> {
  const client = clientOf(options);
  const tableName = tableOf(options);
  const maxAttempts = options.maxAttempts ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 50;
  const unique = [...new Map(items.map((item) => [`${item.pk}\u0000${item.sk}`, item])).values()];
  const batches: ReferenceItem[][] = [];
  for (let i = 0; i < unique.length; i += BATCH_SIZE) batches.push(unique.slice(i, i + BATCH_SIZE));

  let written = 0;
  const writeBatch = async (batch: ReferenceItem[]) => {
    let requests = batch.map((item) => ({ PutRequest: { Item: item as unknown as Record<string, unknown> } }));
    for (let attempt = 1; requests.length > 0; attempt++) {
      if (attempt > maxAttempts) {
        throw new UnprocessedItemsError(`${requests.length} items still unprocessed after ${maxAttempts} attempts`);
      }
      if (attempt > 1) await sleep(Math.random() * baseDelayMs * 2 ** (attempt - 1));
      const out: BatchWriteCommandOutput = await client.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
      );
      const left = out.UnprocessedItems?.[tableName] ?? [];
      written += requests.length - left.length;
      requests = left as typeof requests;
    }
    options.onProgress?.(written, unique.length);
  };

  let next = 0;
  const worker = async () => {
    while (next < batches.length) await writeBatch(batches[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return written;
}

/** All shapes of a route, or undefined when the route has none loaded. */
export async function loadRouteReference(
  routeId: string,
  options: ReferenceStoreOptions = {},
): Promise<RouteReference | undefined> {
  const client = clientOf(options);
  const shapes = new Map<string, ShapeReference>();
  let startKey: Record<string, unknown> | undefined;
  // Shape items can be hundreds of KB, so a route may span several 1 MB query pages.
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableOf(options),
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :shape)',
        ExpressionAttributeValues: { ':pk': `ROUTE#${routeId}`, ':shape': 'SHAPE#' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of (page.Items ?? []) as ShapeItem[]) {
      shapes.set(item.shapeId, { points: item.points, stops: item.stops });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return shapes.size === 0 ? undefined : { routeId, shapes };
}

/** A trip's route and shape, or undefined for an unknown trip. */
export async function loadTrip(
  tripId: string,
  options: ReferenceStoreOptions = {},
): Promise<TripReference | undefined> {
  const out = await clientOf(options).send(
    new GetCommand({ TableName: tableOf(options), Key: { pk: `TRIP#${tripId}`, sk: 'META' } }),
  );
  if (!out.Item) return undefined;
  const { tripId: id, routeId, shapeId, directionId } = out.Item as TripItem;
  return { tripId: id, routeId, shapeId, directionId };
}

/** Every route, ordered by route id. */
export async function listRoutes(options: ReferenceStoreOptions = {}): Promise<RouteSummary[]> {
  const client = clientOf(options);
  const routes: RouteSummary[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableOf(options),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'ROUTES' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of (page.Items ?? []) as RouteListItem[]) {
      routes.push({
        routeId: item.routeId,
        shortName: item.shortName,
        longName: item.longName,
        routeType: item.routeType,
      });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return routes;
}
