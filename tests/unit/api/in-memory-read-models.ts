/** An in-memory `ReadModels` with DynamoDB's ordering and key-based pagination, for router tests. */

import type { StopEta, VehicleState, WindowAggregate } from '../../../pipelines/transit/model.js';
import { type DynamoKey, routePk, ts13 } from '../../../pipelines/transit/queries/keys.js';
import type { KeyPage, PageRequest, ReadModels, StopMeta } from '../../../pipelines/transit/queries/read-models.js';
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

/** DynamoDB's answer to an ExclusiveStartKey outside the query's key condition. */
export class StartKeyOutsideQueryError extends Error {
  override name = 'ValidationException';
  constructor() {
    super('The provided starting key is outside query boundaries based on provided conditions');
  }
}

/**
 * Pages `sorted` like DynamoDB: resume after the position of `startKey` (which need not be an item's key),
 * return a lastKey only when items remain. `isAfter(item, startKey)` says whether an item lies past it in
 * the query's order.
 */
function paginate<T>(
  sorted: T[],
  keyOf: (item: T) => DynamoKey,
  page: PageRequest,
  isAfter: (item: T, startKey: DynamoKey) => boolean,
): KeyPage<T> {
  const startKey = page.startKey;
  const start = startKey ? sorted.findIndex((item) => isAfter(item, startKey)) : 0;
  const rest = start < 0 ? [] : sorted.slice(start);
  const items = rest.slice(0, page.limit);
  const last = items.at(-1);
  return page.limit < rest.length && last ? { items, lastKey: keyOf(last) } : { items };
}

/** Compares strings as the `<` operator does, the order the fake's `isAfter` checks use. */
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Throws as DynamoDB does unless `inside` holds for a given start key. */
function checkStartKey(page: PageRequest, inside: (startKey: DynamoKey) => boolean): void {
  if (page.startKey && !inside(page.startKey)) throw new StartKeyOutsideQueryError();
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
        .sort((a, b) => byCodeUnits(a.vehicleId, b.vehicleId));
      checkStartKey(page, (k) => k.routeId === routeId);
      return paginate(
        sorted,
        (v) => ({ vehicleId: v.vehicleId, routeId: v.routeId }),
        page,
        (v, k) => v.vehicleId > String(k.vehicleId),
      );
    },
    async routeWindows(routeId, { from, to }, page) {
      calls.push('routeWindows');
      const sorted = (data.windows ?? [])
        .filter((w) => w.pk === routePk(routeId) && w.windowStart >= from && w.windowStart <= to)
        .sort((a, b) => a.windowStart - b.windowStart);
      checkStartKey(
        page,
        (k) => k.pk === routePk(routeId) && Number(k.windowStart) >= from && Number(k.windowStart) <= to,
      );
      return paginate(
        sorted,
        (w) => ({ pk: w.pk, windowStart: w.windowStart }),
        page,
        (w, k) => w.windowStart > Number(k.windowStart),
      );
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
        .sort((a, b) => byCodeUnits(b.sk, a.sk));
      checkStartKey(page, (k) => k.pk === routePk(routeId) && String(k.sk) >= ts13(filter.since));
      return paginate(
        sorted,
        (a) => ({ pk: a.pk, sk: a.sk }),
        page,
        (a, k) => a.sk < String(k.sk),
      );
    },
    async anomaliesOnDay(day, filter, page) {
      calls.push(`anomaliesOnDay:${day}`);
      const sorted = (data.anomalies ?? [])
        .filter((a) => a.day === day && a.sk >= ts13(filter.since) && (!filter.type || a.type === filter.type))
        .sort((a, b) => byCodeUnits(b.sk, a.sk) || byCodeUnits(a.pk, b.pk));
      checkStartKey(page, (k) => k.day === day && String(k.sk) >= ts13(filter.since));
      return paginate(
        sorted,
        (a) => ({ pk: a.pk, sk: a.sk, day: a.day }),
        page,
        (a, k) => a.sk < String(k.sk) || (a.sk === String(k.sk) && a.pk > String(k.pk)),
      );
    },
    async ping() {
      calls.push('ping');
      if (fake.failPing) throw new Error('connect ECONNREFUSED 127.0.0.1:8000');
    },
  };
  return fake;
}
