/**
 * ReferenceTable access: the bulk writer used by `npm run load-gtfs`, and the small typed readers
 * the processor and API use. Item layout: docs/contracts.md.
 *
 * A feed is replaced as a whole. A load writes the new feed's items under a new feed version (their
 * `pk` prefixed `FEED#<version>#`), then flips the one pointer item `FEED`/`CURRENT` to that version,
 * then deletes every item of other versions. Readers read the pointer, then the items of that version,
 * then the pointer again, and read again should it have moved meanwhile (the old version may be being
 * deleted): a reader during a load sees the old feed, complete, and after it the new one, never a mix.
 * A table without a pointer (loaded before versions existed) is read unprefixed.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../../../shared/aws-clients.js';
import { type BatchWriteOptions, batchWriteAll, type WriteRequest } from '../../../shared/dynamo/batch.js';
import { transitTables } from '../config.js';
import type { ShapePoint } from '../geo.js';
import type { StopOnShape } from './parse-feed.js';
import type { ReferenceItem, RouteListItem, RouteTripsItem, ShapeItem, StopItem, TripItem } from './reference-items.js';

export { UnprocessedItemsError } from '../../../shared/dynamo/batch.js';
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

/** A stop's reference item without its keys. */
export type StopReference = Omit<StopItem, 'pk' | 'sk'>;

/** The key of the pointer item naming the feed version readers use. */
export const FEED_POINTER_KEY = { pk: 'FEED', sk: 'CURRENT' } as const;

/** The pointer item: `{ pk: 'FEED', sk: 'CURRENT', version, previousVersion?, loadedAt }`. */
export interface FeedPointer {
  version: string;
  previousVersion?: string;
  loadedAt: string;
}

/** The stored partition key of a reference item of `version` (unprefixed for a table without versions). */
const FEED_PREFIX = 'FEED#';
export const versionedPk = (version: string | undefined, pk: string) =>
  version === undefined ? pk : `${FEED_PREFIX}${version}#${pk}`;

/** Another load switched the feed while this one was writing; this load's items were removed again. */
export class FeedSwitchConflictError extends Error {
  override name = 'FeedSwitchConflictError';
}

/** Table and client to use; both default to the runtime's (`REFERENCE_TABLE`, the shared document client). */
export interface ReferenceStoreOptions {
  tableName?: string;
  client?: DynamoDBDocumentClient;
}

/** Table and client plus the batch writer's retry and concurrency settings (`baseDelayMs` defaults to 50 here). */
export interface WriteOptions extends ReferenceStoreOptions, BatchWriteOptions {}

const clientOf = (o: ReferenceStoreOptions) => o.client ?? dynamoDocumentClient();
const tableOf = (o: ReferenceStoreOptions) => o.tableName ?? transitTables.reference;

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

/** The feed version readers use now, or undefined for a table loaded before versions existed. */
export async function currentFeedVersion(options: ReferenceStoreOptions = {}): Promise<string | undefined> {
  const out = await clientOf(options).send(
    new GetCommand({ TableName: tableOf(options), Key: FEED_POINTER_KEY, ConsistentRead: true }),
  );
  return (out.Item as FeedPointer | undefined)?.version;
}

/** How often a reader starts over when loads keep switching the feed under it. */
const MAX_READ_ATTEMPTS = 3;

/** Runs `read` against the current version, again while the pointer moved during it. */
async function readCurrent<T>(options: ReferenceStoreOptions, read: (version: string | undefined) => Promise<T>) {
  let version = await currentFeedVersion(options);
  for (let attempt = 1; ; attempt++) {
    const result = await read(version);
    const after = await currentFeedVersion(options);
    if (after === version || attempt >= MAX_READ_ATTEMPTS) return result;
    version = after;
  }
}

/** A new feed version id: the time, sortable, plus a random tail so two loads in one millisecond differ. */
export const newFeedVersion = (now = new Date()) =>
  `${now.toISOString().replace(/[-:.]/g, '')}-${Math.random().toString(36).slice(2, 6)}`;

/** What {@link replaceFeed} did. */
export interface FeedReplacement {
  version: string;
  previousVersion: string | undefined;
  written: number;
  /** Items of other versions (and unversioned ones) deleted after the switch. */
  deleted: number;
}

/** {@link WriteOptions} plus the version to write. */
export interface ReplaceFeedOptions extends WriteOptions {
  /** @default newFeedVersion() */
  version?: string;
}

/**
 * Replaces the whole feed: writes `items` under a new version, flips the pointer to it if no other load
 * flipped it meanwhile (else removes its own items and throws {@link FeedSwitchConflictError}), then
 * deletes every item of any other version.
 */
export async function replaceFeed(items: ReferenceItem[], options: ReplaceFeedOptions = {}): Promise<FeedReplacement> {
  const client = clientOf(options);
  const tableName = tableOf(options);
  const previousVersion = await currentFeedVersion(options);
  const version = options.version ?? newFeedVersion();
  const versioned = items.map((item) => ({ ...item, pk: versionedPk(version, item.pk), feedVersion: version }));
  const written = await writeReferenceItems(versioned as unknown as ReferenceItem[], options);
  const pointer: FeedPointer = {
    version,
    ...(previousVersion ? { previousVersion } : {}),
    loadedAt: new Date().toISOString(),
  };
  try {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...FEED_POINTER_KEY, ...pointer },
        ...(previousVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#version = :previous',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':previous': previousVersion },
            }),
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    await deleteItems(client, tableName, versioned, options);
    throw new FeedSwitchConflictError(
      `another load switched the reference feed while version ${version} was being written; nothing changed`,
      { cause: error },
    );
  }
  const stale = await itemsOlderThan(client, tableName, version);
  const deleted = await deleteItems(client, tableName, stale, options);
  return { version, previousVersion, written, deleted };
}

/**
 * Keys of the items of versions older than `version` and of items without a version; never the pointer,
 * and never those of a newer load that is writing or has switched meanwhile (versions sort by time).
 */
async function itemsOlderThan(client: DynamoDBDocumentClient, tableName: string, version: string) {
  const versionOf = (pk: string) =>
    pk.startsWith(FEED_PREFIX) ? pk.slice(FEED_PREFIX.length).split('#', 1)[0] : undefined;
  const keys: { pk: string; sk: string }[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: '#pk, #sk',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const { pk, sk } of (page.Items ?? []) as { pk: string; sk: string }[]) {
      if (pk === FEED_POINTER_KEY.pk && sk === FEED_POINTER_KEY.sk) continue;
      const itemVersion = versionOf(pk);
      if (itemVersion === undefined || itemVersion < version) keys.push({ pk, sk });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return keys;
}

async function deleteItems(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: { pk: string; sk: string }[],
  options: BatchWriteOptions,
): Promise<number> {
  const requests = [...new Map(items.map(({ pk, sk }) => [`${pk}\u0000${sk}`, { pk, sk }])).values()].map(
    (Key): WriteRequest => ({ DeleteRequest: { Key } }),
  );
  return batchWriteAll(client, tableName, requests, { baseDelayMs: 50, ...options });
}

/** All shapes of a route, or undefined when the route has none loaded. */
export async function loadRouteReference(
  routeId: string,
  options: ReferenceStoreOptions = {},
): Promise<RouteReference | undefined> {
  const client = clientOf(options);
  const shapes = await readCurrent(options, async (version) => {
    const found = new Map<string, ShapeReference>();
    let startKey: Record<string, unknown> | undefined;
    // Shape items can be hundreds of KB, so a route may span several 1 MB query pages.
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableOf(options),
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :shape)',
          ExpressionAttributeValues: { ':pk': versionedPk(version, `ROUTE#${routeId}`), ':shape': 'SHAPE#' },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of (page.Items ?? []) as ShapeItem[]) {
        found.set(item.shapeId, { points: item.points, stops: item.stops });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  });
  return shapes.size === 0 ? undefined : { routeId, shapes };
}

/** A route's shapes with their ids, and the shape of each trip running on one of them. */
export interface RoutePlacementReference {
  routeId: string;
  shapes: Array<ShapeReference & { shapeId: string }>;
  tripShapeIds: Record<string, string>;
}

/**
 * A route's whole partition in one query (pages included): its shapes and its trips items. Undefined
 * when the route has no shapes loaded. A feed loaded before trips items existed gives no trip shape ids.
 */
export async function loadRoutePlacement(
  routeId: string,
  options: ReferenceStoreOptions = {},
): Promise<RoutePlacementReference | undefined> {
  const client = clientOf(options);
  const route = await readCurrent(options, async (version) => {
    const found: RoutePlacementReference = { routeId, shapes: [], tripShapeIds: {} };
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableOf(options),
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': versionedPk(version, `ROUTE#${routeId}`) },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of (page.Items ?? []) as Array<ShapeItem | RouteTripsItem>) {
        if (item.sk.startsWith('SHAPE#')) {
          const { shapeId, points, stops } = item as ShapeItem;
          found.shapes.push({ shapeId, points, stops });
        } else if (item.sk.startsWith('TRIPS#'))
          Object.assign(found.tripShapeIds, (item as RouteTripsItem).tripShapeIds);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  });
  return route.shapes.length === 0 ? undefined : route;
}

/** A trip's route and shape, or undefined for an unknown trip. */
export async function loadTrip(
  tripId: string,
  options: ReferenceStoreOptions = {},
): Promise<TripReference | undefined> {
  const item = await readCurrent(options, (version) => getItem(options, versionedPk(version, `TRIP#${tripId}`)));
  if (!item) return undefined;
  const { tripId: id, routeId, shapeId, directionId } = item as unknown as TripItem;
  return { tripId: id, routeId, shapeId, directionId };
}

/** A stop's reference item, or undefined for an unknown stop. */
export async function loadStop(
  stopId: string,
  options: ReferenceStoreOptions = {},
): Promise<StopReference | undefined> {
  const item = await readCurrent(options, (version) => getItem(options, versionedPk(version, `STOP#${stopId}`)));
  if (!item) return undefined;
  const { stopId: id, name, lat, lon, routeIds } = item as unknown as StopItem;
  return { stopId: id, name, lat, lon, routeIds };
}

async function getItem(options: ReferenceStoreOptions, pk: string) {
  const out = await clientOf(options).send(new GetCommand({ TableName: tableOf(options), Key: { pk, sk: 'META' } }));
  return out.Item;
}

/** Every route, ordered by route id. */
export async function listRoutes(options: ReferenceStoreOptions = {}): Promise<RouteSummary[]> {
  const client = clientOf(options);
  return readCurrent(options, async (version) => {
    const routes: RouteSummary[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableOf(options),
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': versionedPk(version, 'ROUTES') },
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
  });
}
