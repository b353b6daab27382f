/**
 * ReferenceTable access: the bulk writer used by `npm run load-gtfs`, and the small typed readers
 * the processor and API use. Item layout: docs/contracts.md.
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../aws-clients.js';
import { tableNames } from '../config.js';
import { type BatchWriteOptions, batchWriteAll } from '../dynamo/batch.js';
import type { ShapePoint } from '../geo.js';
import type { StopOnShape } from './parse-feed.js';
import type { ReferenceItem, RouteListItem, ShapeItem, TripItem } from './reference-items.js';

export { UnprocessedItemsError } from '../dynamo/batch.js';
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

/** Table and client plus the batch writer's retry and concurrency settings (`baseDelayMs` defaults to 50 here). */
export interface WriteOptions extends ReferenceStoreOptions, BatchWriteOptions {}

const clientOf = (o: ReferenceStoreOptions) => o.client ?? dynamoDocumentClient();
const tableOf = (o: ReferenceStoreOptions) => o.tableName ?? tableNames.reference;

/**
 * Writes items with BatchWriteItem (see `batchWriteAll`). Items with the same key are deduplicated
 * (last wins), because one batch may not contain the same key twice.
 */
export async function writeReferenceItems(items: ReferenceItem[], options: WriteOptions = {}): Promise<number> {
  const unique = [...new Map(items.map((item) => [`${item.pk}\u0000${item.sk}`, item])).values()];
  return batchWriteAll(
    clientOf(options),
    tableOf(options),
    unique.map((item) => ({ PutRequest: { Item: item as unknown as Record<string, unknown> } })),
    { baseDelayMs: 50, ...options },
  );
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
