/**
 * An in-memory ReadModelStore with the same conditional semantics as the DynamoDB one. It serves the
 * unit tests and the benchmark, and counts requests the way DynamoDB bills them: a write request per
 * item written or deleted (PutItem, or one per item in a BatchWriteItem; a conditional write that fails
 * is billed too), a read request per BatchGetItem of up to 100 keys and per Query page.
 *
 * It copies nothing: a put freezes the caller's item itself, deeply, and stores it; a read hands out
 * that frozen item. So neither a caller mutating an item it got back nor one mutating an item after
 * putting it can change what the store holds: in strict mode (every ES module) such a write throws a
 * TypeError, which also catches processor code that mutates what it read instead of copying it.
 * DynamoDB copies by serialising; deep-cloning every item here instead (`structuredClone` on every read
 * and write) made the benchmark measure the clone rather than the processor.
 */
import type { Anomaly, StopEta, VehicleState } from '../model.js';
import { routePk } from '../queries/keys.js';
import { anomalyKey, lateEventSortKey } from './keys.js';
import type { LateEvent, ReadModelStore, StoredWindow, WindowRef } from './ports.js';
import { routeWindowPk, windowKey } from './windows.js';

/** Keys per BatchGetItem request (DynamoDB's limit, as `batchGetAll` chunks them). */
const BATCH_GET_KEYS = 100;

/**
 * Freezes an item and every object and array inside it, in place, and returns it. Items are JSON-like
 * trees (no cycles, no buffers), as DynamoDB items are.
 */
function deepFreeze<T>(item: T): T {
  if (typeof item !== 'object' || item === null) return item;
  Object.freeze(item);
  for (const value of Object.values(item)) if (typeof value === 'object' && value !== null) deepFreeze(value);
  return item;
}

/** BatchGetItem requests for `keys` distinct keys (none for none: `batchGetAll` sends nothing). */
const batchGetRequests = (keys: number) => Math.ceil(keys / BATCH_GET_KEYS);

export class MemoryStore implements ReadModelStore {
  private readonly stateItems = new Map<string, VehicleState>();
  private readonly windowItems = new Map<string, StoredWindow>();
  private readonly anomalyItems = new Map<string, Anomaly>();
  private readonly etaItems = new Map<string, StopEta>();
  private readonly lateEventItems = new Map<string, LateEvent>();
  private readonly windowStarts = new Map<string, Set<number>>();
  /** Write requests (items written or deleted), conditional ones included whether or not they succeeded. */
  writeRequests = 0;
  /** The same requests by read model. */
  readonly writesByModel = { windows: 0, states: 0, anomalies: 0, etas: 0, lateEvents: 0 };
  /** Read requests: one per BatchGetItem of up to 100 keys, one per Query page. */
  readRequests = 0;
  /** The same requests by read model. */
  readonly readsByModel = { windows: 0, states: 0, anomalies: 0 };
  conditionalFailures = 0;
  /** Makes the next N window writes lose a race, as if another writer got there first. */
  injectWindowConflicts = 0;

  /** Stored vehicle states by vehicle id (frozen). */
  get states(): ReadonlyMap<string, VehicleState> {
    return this.stateItems;
  }
  /** Stored windows by `windowKey` (frozen). */
  get windows(): ReadonlyMap<string, StoredWindow> {
    return this.windowItems;
  }
  /** Stored anomalies by key (frozen). */
  get anomalies(): ReadonlyMap<string, Anomaly> {
    return this.anomalyItems;
  }
  /** Stored ETAs by `stopId|vehicleId` (frozen). */
  get etas(): ReadonlyMap<string, StopEta> {
    return this.etaItems;
  }
  /** Stored late events by key (frozen). */
  get lateEvents(): ReadonlyMap<string, LateEvent> {
    return this.lateEventItems;
  }

  async getVehicleStates(vehicleIds: string[]) {
    this.countReads('states', batchGetRequests(new Set(vehicleIds).size));
    const found = new Map<string, VehicleState>();
    for (const id of vehicleIds) {
      const state = this.stateItems.get(id);
      if (state) found.set(id, state);
    }
    return found;
  }

  async getWindows(refs: WindowRef[]) {
    const found = new Map<string, StoredWindow>();
    const keys = new Set<string>();
    for (const ref of refs) {
      const key = windowKey(ref);
      keys.add(key);
      const item = this.windowItems.get(key);
      if (item) found.set(key, item);
    }
    this.countReads('windows', batchGetRequests(keys.size));
    return found;
  }

  async putWindow(window: StoredWindow, expectedVersion: number | undefined) {
    this.countWrites('windows', 1);
    const key = windowKey(window);
    const current = this.windowItems.get(key);
    if (this.injectWindowConflicts > 0 || current?.version !== expectedVersion) {
      if (this.injectWindowConflicts > 0) this.injectWindowConflicts--;
      this.conditionalFailures++;
      return false;
    }
    this.windowItems.set(key, deepFreeze(window));
    const starts = this.windowStarts.get(window.pk) ?? new Set<number>();
    starts.add(window.windowStart);
    this.windowStarts.set(window.pk, starts);
    return true;
  }

  async queryRouteWindows(routeId: string, from: number, to: number) {
    // Like a DynamoDB Query: one partition, a range of sort keys (not a scan of every window). One page:
    // the processor asks for a handful of windows, far below the 1 MB a page holds.
    this.countReads('windows', 1);
    const pk = routeWindowPk(routeId);
    const found: StoredWindow[] = [];
    for (const start of this.windowStarts.get(pk) ?? []) {
      if (start >= from && start <= to) found.push(this.windowItems.get(`${pk}|${start}`)!);
    }
    return found.sort((a, b) => a.windowStart - b.windowStart);
  }

  async putVehicleState(state: VehicleState) {
    this.countWrites('states', 1);
    const current = this.stateItems.get(state.vehicleId);
    if (current && current.ts >= state.ts) {
      this.conditionalFailures++;
      return false;
    }
    this.stateItems.set(state.vehicleId, deepFreeze(state));
    return true;
  }

  async findAnomalies(anomalies: Anomaly[]) {
    this.countReads('anomalies', batchGetRequests(new Set(anomalies.map((a) => a.anomalyId)).size));
    return new Set(anomalies.filter((a) => this.anomalyItems.has(this.anomalyId(a))).map((a) => a.anomalyId));
  }

  async putAnomaly(anomaly: Anomaly) {
    this.countWrites('anomalies', 1);
    const id = this.anomalyId(anomaly);
    if (this.anomalyItems.has(id)) {
      this.conditionalFailures++;
      return false;
    }
    this.anomalyItems.set(id, deepFreeze(anomaly));
    return true;
  }

  async writeEtas(puts: StopEta[], deletes: Array<{ stopId: string; vehicleId: string }>) {
    this.countWrites('etas', puts.length + deletes.length);
    for (const d of deletes) this.etaItems.delete(`${d.stopId}|${d.vehicleId}`);
    for (const eta of puts) this.etaItems.set(`${eta.stopId}|${eta.vehicleId}`, deepFreeze(eta));
  }

  async putLateEvents(events: LateEvent[]) {
    this.countWrites('lateEvents', events.length);
    for (const e of events) this.lateEventItems.set(`${routePk(e.routeId)}|${lateEventSortKey(e)}`, deepFreeze(e));
  }

  private countWrites(model: keyof MemoryStore['writesByModel'], requests: number) {
    this.writeRequests += requests;
    this.writesByModel[model] += requests;
  }

  private countReads(model: keyof MemoryStore['readsByModel'], requests: number) {
    this.readRequests += requests;
    this.readsByModel[model] += requests;
  }

  private anomalyId(anomaly: Anomaly) {
    const { pk, sk } = anomalyKey(anomaly);
    return `${pk}|${sk}`;
  }
}
