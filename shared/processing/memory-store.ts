/**
 * An in-memory ReadModelStore with the same conditional semantics as the DynamoDB one. It serves the
 * unit tests and the benchmark, and counts write requests the way DynamoDB bills them (one per
 * PutItem/UpdateItem/DeleteItem, one per item in a BatchWriteItem).
 */
import type { Anomaly, StopEta, VehicleState } from '../model.js';
import { routePk } from '../queries/keys.js';
import { anomalyKey, lateEventSortKey } from './keys.js';
import type { LateEvent, ReadModelStore, StoredWindow, WindowRef } from './ports.js';
import { routeWindowPk, windowKey } from './windows.js';

const clone = <T>(value: T): T => structuredClone(value);

export class MemoryStore implements ReadModelStore {
  readonly states = new Map<string, VehicleState>();
  readonly windows = new Map<string, StoredWindow>();
  readonly anomalies = new Map<string, Anomaly>();
  readonly etas = new Map<string, StopEta>();
  readonly lateEvents = new Map<string, LateEvent>();
  private readonly windowStarts = new Map<string, Set<number>>();
  /** Write requests (items written or deleted), conditional ones included whether or not they succeeded. */
  writeRequests = 0;
  /** The same requests by read model. */
  readonly writesByModel = { windows: 0, states: 0, anomalies: 0, etas: 0, lateEvents: 0 };
  conditionalFailures = 0;
  /** Makes the next N window writes lose a race, as if another writer got there first. */
  injectWindowConflicts = 0;

  async getVehicleStates(vehicleIds: string[]) {
    const found = new Map<string, VehicleState>();
    for (const id of vehicleIds) {
      const state = this.states.get(id);
      if (state) found.set(id, clone(state));
    }
    return found;
  }

  async getWindows(refs: WindowRef[]) {
    const found = new Map<string, StoredWindow>();
    for (const ref of refs) {
      const item = this.windows.get(windowKey(ref));
      if (item) found.set(windowKey(ref), clone(item));
    }
    return found;
  }

  async putWindow(window: StoredWindow, expectedVersion: number | undefined) {
    this.count('windows', 1);
    const key = windowKey(window);
    const current = this.windows.get(key);
    if (this.injectWindowConflicts > 0 || current?.version !== expectedVersion) {
      if (this.injectWindowConflicts > 0) this.injectWindowConflicts--;
      this.conditionalFailures++;
      return false;
    }
    this.windows.set(key, clone(window));
    const starts = this.windowStarts.get(window.pk) ?? new Set<number>();
    starts.add(window.windowStart);
    this.windowStarts.set(window.pk, starts);
    return true;
  }

  async queryRouteWindows(routeId: string, from: number, to: number) {
    // Like a DynamoDB Query: one partition, a range of sort keys (not a scan of every window).
    const found: StoredWindow[] = [];
    for (const start of this.windowStarts.get(routeWindowPk(routeId)) ?? []) {
      if (start >= from && start <= to) found.push(clone(this.windows.get(`${routeWindowPk(routeId)}|${start}`)!));
    }
    return found.sort((a, b) => a.windowStart - b.windowStart);
  }

  async putVehicleState(state: VehicleState) {
    this.count('states', 1);
    const current = this.states.get(state.vehicleId);
    if (current && current.ts >= state.ts) {
      this.conditionalFailures++;
      return false;
    }
    this.states.set(state.vehicleId, clone(state));
    return true;
  }

  async findAnomalies(anomalies: Anomaly[]) {
    return new Set(anomalies.filter((a) => this.anomalies.has(this.anomalyId(a))).map((a) => a.anomalyId));
  }

  async putAnomaly(anomaly: Anomaly) {
    this.count('anomalies', 1);
    const id = this.anomalyId(anomaly);
    if (this.anomalies.has(id)) {
      this.conditionalFailures++;
      return false;
    }
    this.anomalies.set(id, clone(anomaly));
    return true;
  }

  async writeEtas(puts: StopEta[], deletes: Array<{ stopId: string; vehicleId: string }>) {
    this.count('etas', puts.length + deletes.length);
    for (const d of deletes) this.etas.delete(`${d.stopId}|${d.vehicleId}`);
    for (const eta of puts) this.etas.set(`${eta.stopId}|${eta.vehicleId}`, clone(eta));
  }

  async putLateEvents(events: LateEvent[]) {
    this.count('lateEvents', events.length);
    for (const e of events) this.lateEvents.set(`${routePk(e.routeId)}|${lateEventSortKey(e)}`, clone(e));
  }

  private count(model: keyof MemoryStore['writesByModel'], requests: number) {
    this.writeRequests += requests;
    this.writesByModel[model] += requests;
  }

  private anomalyId(anomaly: Anomaly) {
    const { pk, sk } = anomalyKey(anomaly);
    return `${pk}|${sk}`;
  }
}
