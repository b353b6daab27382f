/**
 * The engine's store for transit (docs/transit-on-engine.md, step 8), so far for its windows, vehicle
 * states and late events: route and vehicle windows are rows of transit's existing `WindowsTable`
 * (`window-rows.ts`), under the same version condition today's processor writes them with; vehicle
 * states are rows of its `VehicleStateTable` (`state-rows.ts`); late records are rows of its
 * `LateEventsTable`; detections are also rows of its `AnomaliesTable`; every other item and output
 * (entity items first, detections as the engine reads them back) goes to the engine's own store,
 * a table of the engine's layout beside transit's. Transit's tables keep their logical ids and key
 * schemas, and its readers keep reading them.
 *
 * At the cut-over, a vehicle today's processor knows has no entity item yet: the first read of it
 * seeds one from the vehicle's state and windows, so a copy of an event folded before the move is
 * still a duplicate and lateness is still judged from the vehicle's newest fix.
 */
import { type DynamoDBDocumentClient, PutCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { forEachLimited } from '../../../shared/concurrency.js';
import { batchGetAll } from '../../../shared/dynamo/batch.js';
import { conditional, putIfAbsent, putIfVersion } from '../../../shared/dynamo/conditional.js';
import type { Detection } from '../../../shared/engine/detectors.js';
import { operatorOfPk } from '../../../shared/engine/operators/operator.js';
import { type LateRecord, seededEntityItem } from '../../../shared/engine/run-batch.js';
import {
  type EngineStore,
  type ItemKey,
  itemKey,
  type OutputItem,
  type OutputRange,
  type StoredItem,
  windowStartOfSk,
} from '../../../shared/engine/store.js';
import type { Anomaly, VehiclePosition, VehicleState } from '../model.js';
import { anomalyDay, anomalyKey, lateEventSortKey } from '../processing/keys.js';
import type { StoredWindow } from '../processing/ports.js';
import { vehicleWindowPk, windowKey } from '../processing/windows.js';
import { TRANSIT_PIPELINE } from './definition.js';
import { isStateKey, type StateRow, stateItem, stateRow, stateRowKey } from './state-rows.js';
import { type WindowRow, windowItem, windowRow, windowRowKey } from './window-rows.js';
import { ROUTE_WINDOWS, VEHICLE_WINDOWS } from './windows.js';

const WINDOW_OPERATORS: ReadonlySet<string> = new Set([ROUTE_WINDOWS, VEHICLE_WINDOWS]);
const isWindow = (pk: string) =>
  pk.startsWith(`${TRANSIT_PIPELINE}#`) && WINDOW_OPERATORS.has(operatorOfPk(TRANSIT_PIPELINE, pk));

/** Where transit's tables are, and what the adapter needs to know of the definition. */
export interface TransitTablesOptions {
  client: DynamoDBDocumentClient;
  /** Transit's `WindowsTable`. */
  windowsTable: string;
  /** Transit's `VehicleStateTable`: a vehicle's state `ts` is today's processor's watermark for it. */
  vehicleStateTable: string;
  /** Transit's `LateEventsTable`: the route metrics count its rows per window. */
  lateEventsTable: string;
  /** The engine's store for everything that is not one of transit's windows. */
  rest: EngineStore;
  /** Transit's `AnomaliesTable`: detections become its rows (`anomalyOf`). */
  anomaliesTable: string;
  /** The anomaly a detection stands for, `detectedAt` its processing time; undefined for a detection that is none. */
  anomalyOf: (detection: Detection, detectedAt: string) => Anomaly | undefined;
  /** The compiled definition's horizon (ms): how far back entity items remember event ids. */
  horizonMs: number;
  /** Stamps a row's `updatedAt`, as today's processor does. */
  clock?: () => number;
}

const ENTITY_PK = `${TRANSIT_PIPELINE}#@entity#`;
const LATE_PK = `${TRANSIT_PIPELINE}#@late#`;
const DETECTION_PK = `${TRANSIT_PIPELINE}#@detect#`;
const WRITE_CONCURRENCY = 16;

/**
 * Today's `LateEventsTable` rows of an engine late record: one per route window it missed, late by the
 * vehicle's watermark past the window's end (the engine measures from the event's time), with the fix
 * as validated (docs/transit-on-engine.md, difference 3).
 */
export function lateEventRows(record: LateRecord<VehiclePosition>, receivedAt: string): Array<Record<string, unknown>> {
  const watermark = record.ts + record.lateByMs;
  return record.missed
    .filter((m) => m.operator === ROUTE_WINDOWS)
    .map((m) => {
      const row = { routeId: m.key, windowStart: m.start, eventId: record.eventId, vehicleId: record.entity };
      return {
        ...row,
        sk: lateEventSortKey(row),
        ts: record.ts,
        lateByMs: watermark - m.end,
        event: record.event,
        receivedAt,
      };
    });
}

/** The `WindowsTable` key of the vehicle window a late record missed, if it names one. */
function missedVehicleWindow(record: LateRecord): { pk: string; windowStart: number } | undefined {
  const missed = record.missed.find((m) => m.operator === VEHICLE_WINDOWS);
  return missed && { pk: vehicleWindowPk(missed.key), windowStart: missed.start };
}

export class TransitTablesStore implements EngineStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly rest: EngineStore;
  private readonly clock: () => number;

  constructor(private readonly options: TransitTablesOptions) {
    this.client = options.client;
    this.rest = options.rest;
    this.clock = options.clock ?? Date.now;
  }

  async get(keys: ItemKey[]) {
    const windows = keys.filter((k) => isWindow(k.pk));
    const states = keys.filter((k) => isStateKey(k.pk));
    const others = keys.filter((k) => !isWindow(k.pk) && !isStateKey(k.pk));
    const rowKeys = [...new Map(windows.map((k) => [itemKey(k), windowRowKey(k)])).values()];
    const stateKeys = [...new Map(states.map((k) => [k.pk, stateRowKey(k.pk)])).values()];
    const consistentRead = true;
    const [rows, stateRows, rest] = await Promise.all([
      rowKeys.length > 0 ? batchGetAll(this.client, this.options.windowsTable, rowKeys, { consistentRead }) : [],
      stateKeys.length > 0
        ? batchGetAll(this.client, this.options.vehicleStateTable, stateKeys, { consistentRead })
        : [],
      others.length > 0 ? this.rest.get(others) : new Map<string, StoredItem>(),
    ]);
    for (const row of rows) {
      const item = windowItem(row as unknown as WindowRow | StoredWindow);
      rest.set(itemKey(item), item);
    }
    for (const row of stateRows) {
      const item = stateItem(row as unknown as StateRow | VehicleState);
      rest.set(itemKey(item), item);
    }
    const unseeded = others.filter((k) => k.pk.startsWith(ENTITY_PK) && !rest.has(itemKey(k)));
    for (const seeded of await this.seedEntities(unseeded.map((k) => k.pk.slice(ENTITY_PK.length)))) {
      rest.set(itemKey(seeded), seeded);
    }
    return rest;
  }

  /**
   * Entity items for vehicles today's processor knows and the engine does not yet: the state's `ts` as
   * the watermark, and the event ids of the vehicle's windows within the horizon (seededEntityItem),
   * written where none exists yet. A vehicle with no state is new to both, and gets nothing.
   */
  private async seedEntities(vehicleIds: string[]): Promise<StoredItem[]> {
    if (vehicleIds.length === 0) return [];
    const states = await batchGetAll(
      this.client,
      this.options.vehicleStateTable,
      vehicleIds.map((vehicleId) => ({ vehicleId })),
      { consistentRead: true },
    );
    const seeds: StoredItem[] = [];
    // Only rows today's processor wrote: a row with a version is the engine's own (a new vehicle whose
    // first attempt wrote its state and failed before its entity commit), and seeding from it would
    // make the rest of that batch late.
    const legacy = states.filter((state) => state['version'] === undefined);
    await forEachLimited(legacy, WRITE_CONCURRENCY, async (state) => {
      const vehicleId = state['vehicleId'] as string;
      const watermark = state['ts'] as number;
      const windows = await this.vehicleWindows(vehicleId, watermark - this.options.horizonMs);
      const seed = seededEntityItem(TRANSIT_PIPELINE, vehicleId, {
        watermark,
        events: windows.flatMap((w) =>
          Object.keys(w.eventIds ?? {}).map((eventId) => ({ eventId, from: w.windowStart, to: w.windowEnd })),
        ),
      });
      // Lost to a concurrent batch of the same vehicle: its item is the one to use.
      if (await this.rest.put(seed, undefined)) seeds.push(seed);
      else seeds.push(...(await this.rest.get([seed])).values());
    });
    return seeds;
  }

  /** The rows of a vehicle's windows that end after `since`, as today's processor wrote them (with `eventIds`). */
  private async vehicleWindows(vehicleId: string, since: number): Promise<StoredWindow[]> {
    // A window is no longer than the horizon, so one that ends after `since` starts after `since - horizon`.
    const from = since - this.options.horizonMs;
    const rows = await this.windowRows(vehicleWindowPk(vehicleId), from, Number.MAX_SAFE_INTEGER);
    return (rows as StoredWindow[]).filter((w) => w.windowEnd > since);
  }

  /** Every row of `pk` with a window start in [from, to], read consistently, page after page. */
  private async windowRows(pk: string, from: number, to: number): Promise<Array<WindowRow | StoredWindow>> {
    const rows: Array<WindowRow | StoredWindow> = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.options.windowsTable,
        KeyConditionExpression: 'pk = :pk AND windowStart BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) rows.push(...((page.Items ?? []) as Array<WindowRow | StoredWindow>));
    return rows;
  }

  put(item: StoredItem, expectedVersion: number | undefined) {
    if (isStateKey(item.pk)) return this.putState(item, expectedVersion);
    if (!isWindow(item.pk)) return this.rest.put(item, expectedVersion);
    const row = windowRow(item, new Date(this.clock()).toISOString());
    const table = this.options.windowsTable;
    return putIfVersion(this.client, table, row as unknown as Record<string, unknown>, expectedVersion);
  }

  /**
   * A state row under the version condition; a row today's processor wrote has no version (it read as
   * version 0), so it is overwritten only while it still has none.
   */
  private putState(item: StoredItem, expectedVersion: number | undefined) {
    const condition =
      expectedVersion === undefined
        ? { ConditionExpression: 'attribute_not_exists(vehicleId)' }
        : expectedVersion === 0
          ? {
              ConditionExpression: 'attribute_exists(vehicleId) AND attribute_not_exists(#version)',
              ExpressionAttributeNames: { '#version': 'version' },
            }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': expectedVersion },
            };
    const put = new PutCommand({ TableName: this.options.vehicleStateTable, Item: stateRow(item), ...condition });
    return conditional(this.client.send(put));
  }

  async query(pk: string, from: string, to: string) {
    if (!isWindow(pk)) return this.rest.query(pk, from, to);
    const { pk: rowPk } = windowRowKey({ pk, sk: from });
    if (!Number.isFinite(windowStartOfSk(from)) || !Number.isFinite(windowStartOfSk(to))) {
      throw new RangeError(`a window query's bounds are window sort keys, got ${from} and ${to}`);
    }
    return (await this.windowRows(rowPk, windowStartOfSk(from), windowStartOfSk(to))).map(windowItem);
  }

  /** Transit's windows close by the watermark and are never due: only the engine's own items can be. */
  due(pipeline: string, before: number, limit: number) {
    return this.rest.due(pipeline, before, limit);
  }

  /**
   * Late records become `LateEventsTable` rows, one per route window the event missed, as today's
   * processor writes them (route, window, vehicle, event id, the fix; late by the time past the window's
   * end), each written once, except copies of folded fixes (`unlessFolded`); every other output goes to
   * the engine's store.
   */
  async putOutputs(outputs: OutputItem[]) {
    const late = outputs.filter((o) => o.pk.startsWith(LATE_PK));
    const others = outputs.filter((o) => !o.pk.startsWith(LATE_PK));
    const receivedAt = new Date(this.clock()).toISOString();
    // Anomaly rows first: the engine reads its detections back from its own store, and takes one found
    // there as written, so a failure in between must leave the row, not only the engine's copy.
    await this.putAnomalies(
      others.filter((o) => o.pk.startsWith(DETECTION_PK)),
      receivedAt,
    );
    let written = others.length > 0 ? await this.rest.putOutputs(others) : 0;
    const records = await this.unlessFolded(late.map((o) => o.body as unknown as LateRecord<VehiclePosition>));
    await forEachLimited(records, WRITE_CONCURRENCY, async (record) => {
      const rows = lateEventRows(record, receivedAt);
      let any = false;
      for (const row of rows) {
        if (await putIfAbsent(this.client, this.options.lateEventsTable, row, 'routeId')) any = true;
      }
      if (any) written++;
    });
    return written;
  }

  /**
   * The late records transit keeps. An expired record is older than the vehicle's memory of event ids,
   * so the engine could not tell it from a copy of a fix it folded. Today's processor can, by its
   * vehicle window's ids, and skips such a copy as a duplicate, so it is left out here too
   * (docs/transit-on-engine.md, difference 1). The record's vehicle window is one it missed, so the
   * batch did not load it: one consistent read of those windows, only for a batch with expired records.
   */
  private async unlessFolded(records: Array<LateRecord<VehiclePosition>>) {
    const missed = records.map((record) => (record.expired ? missedVehicleWindow(record) : undefined));
    const keys = new Map<string, { pk: string; windowStart: number }>();
    for (const key of missed) if (key) keys.set(windowKey(key), key);
    if (keys.size === 0) return records;
    const rows = await batchGetAll(this.client, this.options.windowsTable, [...keys.values()], {
      consistentRead: true,
    });
    const folded = new Map(
      rows.map((row) => {
        const item = windowItem(row as unknown as WindowRow | StoredWindow);
        const ids = (item.body.agg as { eventIds?: string[] }).eventIds ?? [];
        return [windowKey(row as { pk: string; windowStart: number }), new Set(ids)];
      }),
    );
    return records.filter((record, i) => {
      const key = missed[i];
      return !key || !folded.get(windowKey(key))?.has(record.eventId);
    });
  }

  /** Each detection that is an anomaly as today's `AnomaliesTable` row, written once. */
  private async putAnomalies(detections: OutputItem[], detectedAt: string) {
    await forEachLimited(detections, WRITE_CONCURRENCY, async (output) => {
      const anomaly = this.options.anomalyOf(output.body as unknown as Detection, detectedAt);
      if (!anomaly) return;
      const row = { ...anomalyKey(anomaly), day: anomalyDay(anomaly.windowStart), ...anomaly };
      await putIfAbsent(this.client, this.options.anomaliesTable, row);
    });
  }

  queryOutputs(pk: string, range: OutputRange) {
    return this.rest.queryOutputs(pk, range);
  }
}
