/** `ReadModels` over the DynamoDB tables of docs/contracts.md. */
import type { DynamoDBDocumentClient, QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { loadStop } from '../gtfs/reference-store.js';
import type { Anomaly, StopEta, VehicleState, WindowAggregate } from '../model.js';
import type { DynamoKey } from './keys.js';
import { routePk, ts13 } from './keys.js';
import type { AnomalyFilter, KeyPage, PageRequest, ReadModels } from './read-models.js';

/** The table names the read models live in. */
export interface ReadModelTables {
  vehicleState: string;
  windows: string;
  anomalies: string;
  etas: string;
  reference: string;
  lateEvents: string;
}

/** Creates the DynamoDB-backed read models. */
export function createDynamoReadModels(client: DynamoDBDocumentClient, tables: ReadModelTables): ReadModels {
  /**
   * Queries until `limit` items are collected or the partition is exhausted. A single Query may return
   * fewer items than asked for (FilterExpression applies after Limit; 1 MB pages), and a short page with
   * a token would make clients page through empty responses.
   */
  async function collect<T>(input: QueryCommandInput, page: PageRequest): Promise<KeyPage<T>> {
    const items: T[] = [];
    let startKey: DynamoKey | undefined = page.startKey;
    do {
      const out = await client.send(
        new QueryCommand({ ...input, Limit: page.limit - items.length, ExclusiveStartKey: startKey }),
      );
      items.push(...((out.Items ?? []) as T[]));
      startKey = out.LastEvaluatedKey as DynamoKey | undefined;
    } while (startKey && items.length < page.limit);
    return startKey ? { items, lastKey: startKey } : { items };
  }

  function anomalyQuery(filter: AnomalyFilter): Pick<QueryCommandInput, 'FilterExpression'> & {
    names: Record<string, string>;
    values: Record<string, unknown>;
  } {
    const names: Record<string, string> = { '#sk': 'sk' };
    const values: Record<string, unknown> = { ':since': ts13(filter.since) };
    if (!filter.type) return { names, values };
    names['#type'] = 'type';
    values[':type'] = filter.type;
    return { FilterExpression: '#type = :type', names, values };
  }

  return {
    async getVehicle(vehicleId) {
      const out = await client.send(new GetCommand({ TableName: tables.vehicleState, Key: { vehicleId } }));
      return out.Item as VehicleState | undefined;
    },

    vehiclesOnRoute(routeId, page) {
      return collect<VehicleState>(
        {
          TableName: tables.vehicleState,
          IndexName: 'byRoute',
          KeyConditionExpression: 'routeId = :routeId',
          ExpressionAttributeValues: { ':routeId': routeId },
        },
        page,
      );
    },

    routeWindows(routeId, range, page) {
      return collect<WindowAggregate>(
        {
          TableName: tables.windows,
          KeyConditionExpression: 'pk = :pk AND windowStart BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': routePk(routeId), ':from': range.from, ':to': range.to },
        },
        page,
      );
    },

    async lateEventCounts(routeId, fromWindowStart, toWindowStart) {
      // Select COUNT cannot group, so one keys-only query over the whole range is grouped here:
      // one round trip (per 1 MB) instead of one COUNT query per window.
      const counts = new Map<number, number>();
      let startKey: DynamoKey | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tables.lateEvents,
            KeyConditionExpression: 'routeId = :routeId AND #sk BETWEEN :lo AND :hi',
            ProjectionExpression: '#sk',
            ExpressionAttributeNames: { '#sk': 'sk' },
            // '$' sorts right after '#', so the upper bound takes every `<toWindowStart>#<eventId>`.
            ExpressionAttributeValues: {
              ':routeId': routeId,
              ':lo': `${ts13(fromWindowStart)}#`,
              ':hi': `${ts13(toWindowStart)}$`,
            },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of out.Items ?? []) {
          const windowStart = Number(String(item.sk).slice(0, 13));
          counts.set(windowStart, (counts.get(windowStart) ?? 0) + 1);
        }
        startKey = out.LastEvaluatedKey as DynamoKey | undefined;
      } while (startKey);
      return counts;
    },

    async getStop(stopId) {
      // Through the reference feed's current version (see pipelines/transit/gtfs/reference-store.ts).
      return loadStop(stopId, { client, tableName: tables.reference });
    },

    async stopEtas(stopId) {
      // A stop has one item per approaching vehicle: a handful, so reading the partition whole is fine.
      const items: StopEta[] = [];
      let startKey: DynamoKey | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tables.etas,
            KeyConditionExpression: 'stopId = :stopId',
            ExpressionAttributeValues: { ':stopId': stopId },
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...((out.Items ?? []) as StopEta[]));
        startKey = out.LastEvaluatedKey as DynamoKey | undefined;
      } while (startKey);
      return items;
    },

    anomaliesOnRoute(routeId, filter, page) {
      const { FilterExpression, names, values } = anomalyQuery(filter);
      return collect<Anomaly>(
        {
          TableName: tables.anomalies,
          KeyConditionExpression: 'pk = :pk AND #sk >= :since',
          FilterExpression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...values, ':pk': routePk(routeId) },
          ScanIndexForward: false,
        },
        page,
      );
    },

    anomaliesOnDay(day, filter, page) {
      const { FilterExpression, names, values } = anomalyQuery(filter);
      return collect<Anomaly>(
        {
          TableName: tables.anomalies,
          IndexName: 'byDay',
          KeyConditionExpression: '#day = :day AND #sk >= :since',
          FilterExpression,
          ExpressionAttributeNames: { ...names, '#day': 'day' },
          ExpressionAttributeValues: { ...values, ':day': day },
          ScanIndexForward: false,
        },
        page,
      );
    },

    async ping() {
      // GetItem of a key that need not exist: proves reachability and credentials without DescribeTable rights.
      await client.send(new GetCommand({ TableName: tables.reference, Key: { pk: 'HEALTH', sk: 'CHECK' } }));
    },
  };
}
