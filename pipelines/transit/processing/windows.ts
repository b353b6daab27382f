/** Tumbling event-time windows and the idempotent merge of a batch's contributions into a stored window. */
import type { WindowEntity } from '../model.js';
import type { StoredWindow, WindowRef } from './ports.js';

export const windowStartOf = (ts: number, sizeMs: number) => Math.floor(ts / sizeMs) * sizeMs;
export const windowKey = (ref: WindowRef) => `${ref.pk}|${ref.windowStart}`;
export const routeWindowPk = (routeId: string) => `ROUTE#${routeId}`;
export const vehicleWindowPk = (vehicleId: string) => `VEHICLE#${vehicleId}`;

/** One event's share of a window. */
export interface Contribution {
  eventId: string;
  vehicleId: string;
  partition: string;
  position: string;
  speedKmh: number;
}

export interface WindowIdentity extends WindowRef {
  entityType: WindowEntity;
  entityId: string;
  routeId: string;
  windowEnd: number;
}

/** The position of a fix id in a vehicle window the engine wrote, as `processBatch` reads it: not known. */
export const FOLDED_AT_UNKNOWN_POSITION = '';

function emptyWindow(id: WindowIdentity): StoredWindow {
  return {
    ...id,
    count: 0,
    minSpeedKmh: Number.POSITIVE_INFINITY,
    maxSpeedKmh: Number.NEGATIVE_INFINITY,
    avgSpeedKmh: 0,
    sumSpeedKmh: 0,
    sumSqSpeedKmh: 0,
    ...(id.entityType === 'route' ? { vehicleIds: [], distinctVehicles: 0 } : { eventIds: {} }),
    positions: {},
    version: 0,
    updatedAt: '',
  };
}

/**
 * Folds contributions into a window, skipping those it already holds: a vehicle window knows every
 * event id it folded; a route window knows, per source partition, the highest position it folded
 * (partitions are processed in order, and one batch's contributions land in one write).
 * Returns the new item and the contributions that were actually applied.
 */
export function mergeWindow(
  existing: StoredWindow | undefined,
  id: WindowIdentity,
  contributions: Contribution[],
  updatedAt: string,
): { item: StoredWindow; applied: Contribution[] } {
  const base = existing ?? emptyWindow(id);
  const fresh = contributions.filter((c) =>
    id.entityType === 'vehicle'
      ? base.eventIds?.[c.eventId] === undefined
      : (base.positions[c.partition] ?? '') < c.position,
  );
  if (fresh.length === 0) return { item: base, applied: [] };

  const item: StoredWindow = {
    ...base,
    positions: { ...base.positions },
    ...(base.eventIds ? { eventIds: { ...base.eventIds } } : {}),
    ...(base.vehicleIds ? { vehicleIds: [...base.vehicleIds] } : {}),
  };
  const vehicles = new Set(item.vehicleIds ?? []);
  for (const c of fresh) {
    item.count += 1;
    item.sumSpeedKmh += c.speedKmh;
    item.sumSqSpeedKmh += c.speedKmh * c.speedKmh;
    item.minSpeedKmh = Math.min(item.minSpeedKmh, c.speedKmh);
    item.maxSpeedKmh = Math.max(item.maxSpeedKmh, c.speedKmh);
    if ((item.positions[c.partition] ?? '') < c.position) item.positions[c.partition] = c.position;
    if (item.eventIds) item.eventIds[c.eventId] = c.position;
    vehicles.add(c.vehicleId);
  }
  item.avgSpeedKmh = item.sumSpeedKmh / item.count;
  if (id.entityType === 'route') {
    item.vehicleIds = [...vehicles].sort();
    item.distinctVehicles = vehicles.size;
  }
  item.version = base.version + 1;
  item.updatedAt = updatedAt;
  return { item, applied: fresh };
}

export { closedWindowsBefore } from '../../../shared/engine/window-assigners.js';

/** Mean and standard deviation of speed over several windows (from their count, sum and sum of squares). */
export function speedBaseline(windows: Array<Pick<StoredWindow, 'count' | 'sumSpeedKmh' | 'sumSqSpeedKmh'>>): {
  count: number;
  mean: number;
  std: number;
} {
  let count = 0;
  let sum = 0;
  let sumSq = 0;
  for (const w of windows) {
    count += w.count;
    sum += w.sumSpeedKmh;
    sumSq += w.sumSqSpeedKmh;
  }
  if (count === 0) return { count: 0, mean: 0, std: 0 };
  const mean = sum / count;
  return { count, mean, std: Math.sqrt(Math.max(0, sumSq / count - mean * mean)) };
}
