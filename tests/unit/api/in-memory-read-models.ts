/** An in-memory `ReadModels` with DynamoDB's ordering and key-based pagination, for router tests. */

import type { StopEta, VehicleState, WindowAggregate } from '../../../shared/model.js';
import { type DynamoKey, routePk, ts13 } from '../../../shared/queries/keys.js';
import type { KeyPage, PageRequest, ReadModels, StopMeta } from '../../../shared/queries/read-models.js';
import type { StoredAnomaly } from '../../helpers/api-events.js';

export interface InMemoryData {
  vehicles?: VehicleState[];
  windows?: WindowAggregate[];
  /** Late events as `{ routeId, sk: <windowStart13>#<eventId> }`. */
  lateEvents?: { routeId: string; sk: string }[];
  stops?: StopMeta[];
  etas?: StopEta[];
  anomalies?: StoredAnomaly[];
}

/** Pages `sorted` like DynamoDB: resume after `startKey`, return a lastKey only when items remain. */
function paginate<T>(sorted: T[], keyOf: (item: T) => DynamoKey, page: PageRequest): KeyPage<T> {
  const same = (a: DynamoKey, b: DynamoKey) =>
    JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  const start = page.startKey ? sorted.findIndex((item) => same(keyOf(item), page.startKey!)) + 1 : 0;
  const items = sorted.slice(start, start + page.limit);
  const last = items.at(-1);
  return start + page.limit < sorted.length && last ? { items, lastKey: keyOf(last) } : { items };
}

/** The fake, plus a log of calls so tests can assert on how often the store was hit. */
export function inMemoryReadModels(data: InMemoryData = {}): ReadModels & { calls: string[]; failPing?: boolean } {
  const calls: string[] = [];
  const fake: ReadModels & { calls: string[]; failPing?: boolean } = {
    calls,
    async getVehicle(vehicleId) {
      calls.push('getVehicle');
      return data.vehicles?.find((v) => v.vehicleId === vehicleId);
    },
    async vehiclesOnRoute(routeId, page) {
      calls.push('vehiclesOnRoute');
      const sorted = (data.vehicles ?? [])
        .filter((v) => v.routeId === routeId)
        .sort((a, b) => a.vehicleId.localeCompare(b.vehicleId));
      return paginate(sorted, (v) => ({ vehicleId: v.vehicleId, routeId: v.routeId }), page);
    },
    async routeWindows(routeId, { from, to }, page) {
      calls.push('routeWindows');
      const sorted = (data.windows ?? [])
        .filter((w) => w.pk === routePk(routeId) && w.windowStart >= from && w.windowStart <= to)
        .sort((a, b) => a.windowStart - b.windowStart);
      return paginate(sorted, (w) => ({ pk: w.pk, windowStart: w.windowStart }), page);
    },
    async lateEventCounts(routeId, fromWindowStart, toWindowStart) {
      calls.push('lateEventCounts');
      const counts = new Map<number, number>();
      for (const late of data.lateEvents ?? []) {
        if (late.routeId !== routeId || late.sk < `${ts13(fromWindowStart)}#` || late.sk > `${ts13(toWindowStart)}$`)
          continue;
        const windowStart = Number(late.sk.slice(0, 13));
        counts.set(windowStart, (counts.get(windowStart) ?? 0) + 1);
      }
      return counts;
    },
    async getStop(stopId) {
      calls.push('getStop');
      return data.stops?.find((s) => s.stopId === stopId);
    },
    async stopEtas(stopId) {
      calls.push('stopEtas');
      return (data.etas ?? []).filter((e) => e.stopId === stopId);
    },
    async anomaliesOnRoute(routeId, filter, page) {
      calls.push('anomaliesOnRoute');
      const sorted = (data.anomalies ?? [])
        .filter(
          (a) => a.pk === routePk(routeId) && a.sk >= ts13(filter.since) && (!filter.type || a.type === filter.type),
        )
        .sort((a, b) => b.sk.localeCompare(a.sk));
      return paginate(sorted, (a) => ({ pk: a.pk, sk: a.sk }), page);
    },
    async anomaliesOnDay(day, filter, page) {
      calls.push(`anomaliesOnDay:${day}`);
      const sorted = (data.anomalies ?? [])
        .filter((a) => a.day === day && a.sk >= ts13(filter.since) && (!filter.type || a.type === filter.type))
        .sort((a, b) => b.sk.localeCompare(a.sk));
      return paginate(sorted, (a) => ({ pk: a.pk, sk: a.sk, day: a.day }), page);
    },
    async ping() {
      calls.push('ping');
      if (fake.failPing) throw new Error('connect ECONNREFUSED 127.0.0.1:8000');
    },
  };
  return fake;
}
