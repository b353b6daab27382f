/** The ReadModelStore on DynamoDB: conditional PutItems for windows, states and anomalies; batches for the rest. */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, batchWriteAll } from '../../../shared/dynamo/batch.js';
import { conditional, putIfAbsent, putIfVersion } from '../../../shared/dynamo/conditional.js';
import type { Anomaly, StopEta, VehicleState } from '../model.js';
import { anomalyDay, anomalyKey, lateEventSortKey } from './keys.js';
import type { LateEvent, ReadModelStore, StoredWindow, WindowRef } from './ports.js';
import { FOLDED_AT_UNKNOWN_POSITION, routeWindowPk, windowKey } from './windows.js';

export interface DynamoTables {
  vehicleState: string;
  windows: string;
  anomalies: string;
  etas: string;
  lateEvents: string;
}

export class DynamoStore implements ReadModelStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: DynamoTables,
  ) {}

  async getVehicleStates(vehicleIds: string[]) {
    const items = await batchGetAll(
      this.client,
      this.tables.vehicleState,
      vehicleIds.map((vehicleId) => ({ vehicleId })),
    );
    return new Map(items.map((item) => [item['vehicleId'] as string, item as unknown as VehicleState]));
  }

  async getWindows(refs: WindowRef[]) {
    const keys = [...new Map(refs.map((r) => [windowKey(r), { pk: r.pk, windowStart: r.windowStart }])).values()];
    const items = (await batchGetAll(this.client, this.tables.windows, keys)) as unknown as EngineWindowRow[];
    return new Map(items.map((item) => [windowKey(item), fromEngineRow(item)]));
  }

  putWindow(window: StoredWindow, expectedVersion: number | undefined) {
    return putIfVersion(
      this.client,
      this.tables.windows,
      window as unknown as Record<string, unknown>,
      expectedVersion,
    );
  }

  async queryRouteWindows(routeId: string, from: number, to: number) {
    const items: StoredWindow[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tables.windows,
          KeyConditionExpression: 'pk = :pk AND windowStart BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': routeWindowPk(routeId), ':from': from, ':to': to },
          ExclusiveStartKey: cursor,
        }),
      );
      items.push(...((page.Items ?? []) as StoredWindow[]));
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return items;
  }

  putVehicleState(state: VehicleState) {
    return conditional(
      this.client.send(
        new PutCommand({
          TableName: this.tables.vehicleState,
          Item: state,
          ConditionExpression: 'attribute_not_exists(vehicleId) OR #ts < :ts',
          ExpressionAttributeNames: { '#ts': 'ts' },
          ExpressionAttributeValues: { ':ts': state.ts },
        }),
      ),
    );
  }

  async findAnomalies(anomalies: Anomaly[]) {
    const keys = [...new Map(anomalies.map((a) => [a.anomalyId, anomalyKey(a)])).values()];
    const items = await batchGetAll(this.client, this.tables.anomalies, keys);
    return new Set(items.map((item) => item['anomalyId'] as string));
  }

  putAnomaly(anomaly: Anomaly) {
    const row = { ...anomalyKey(anomaly), day: anomalyDay(anomaly.windowStart), ...anomaly };
    return putIfAbsent(this.client, this.tables.anomalies, row);
  }

  async writeEtas(puts: StopEta[], deletes: Array<{ stopId: string; vehicleId: string }>) {
    await batchWriteAll(this.client, this.tables.etas, [
      ...deletes.map((Key) => ({ DeleteRequest: { Key } })),
      ...puts.map((Item) => ({ PutRequest: { Item: Item as unknown as Record<string, unknown> } })),
    ]);
  }

  async putLateEvents(events: LateEvent[]) {
    // Keyed by vehicle and event id, so a redelivered late event overwrites itself instead of counting twice.
    const unique = new Map(events.map((e) => [lateEventSortKey(e), e]));
    await batchWriteAll(
      this.client,
      this.tables.lateEvents,
      [...unique.values()].map((e) => ({
        PutRequest: { Item: { ...e, sk: lateEventSortKey(e) } as Record<string, unknown> },
      })),
    );
  }
}

/** A `WindowsTable` row, which the engine (pipelines/transit/engine/window-rows.ts) may have written. */
type EngineWindowRow = StoredWindow & { agg?: { eventIds?: string[] } };

/**
 * A window row as `processBatch` folds into it, for a stack going back from the engine to `batch`: the
 * engine's aggregate state is dropped (`processBatch` would write it back unchanged, stale), and a
 * vehicle window it wrote, which keeps its fixes' ids in that state rather than in `eventIds`, gets
 * them as `eventIds` at no known position: a copy of one of them is a duplicate, not counted again, and
 * a record the window holds its partition beyond is a redelivery (an engine attempt that wrote the
 * vehicle window and failed before the route window), folded where it is not yet.
 */
export function fromEngineRow(row: EngineWindowRow): StoredWindow {
  if (!row.agg) return row;
  const { agg, ...window } = row;
  if (window.entityType !== 'vehicle' || window.eventIds) return window;
  return {
    ...window,
    eventIds: Object.fromEntries((agg.eventIds ?? []).map((id) => [id, FOLDED_AT_UNKNOWN_POSITION])),
  };
}
