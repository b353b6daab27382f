/**
 * Transit's engine windows as rows of its existing `WindowsTable` (key `pk` / `windowStart`), the first
 * piece of the store adapter (docs/transit-on-engine.md, step 8). A row keeps every attribute today's
 * readers and projections read (`count`, the speed sums, `vehicleIds`, ...), so the REST routes and the
 * output stream need no change, and adds the engine's aggregate state (`agg`). A row written by today's
 * processor has no `agg`: reading it builds the state from its sums, so the table needs no backfill.
 */
import type { Json } from '../../../shared/engine/accumulators.js';
import { operatorOfPk, operatorPk } from '../../../shared/engine/operators/operator.js';
import { type ItemKey, type StoredItem, windowSk, windowStartOfSk } from '../../../shared/engine/store.js';
import type { WindowEntity } from '../model.js';
import type { StoredWindow } from '../processing/ports.js';
import { routeWindowPk, vehicleWindowPk } from '../processing/windows.js';
import { TRANSIT_PIPELINE } from './definition.js';
import { ROUTE_WINDOWS, VEHICLE_WINDOWS } from './windows.js';

/** A `WindowsTable` row written from the engine: today's window attributes, and the aggregate state. */
export interface WindowRow extends Omit<StoredWindow, 'eventIds'> {
  agg: Record<string, Json>;
}

/** The moments of `stats()`: count, mean and the sum of squared deviations. */
type Moments = [n: number, mean: number, m2: number];

const ENTITIES: ReadonlyArray<{ operator: string; entityType: WindowEntity; pk: (id: string) => string }> = [
  { operator: ROUTE_WINDOWS, entityType: 'route', pk: routeWindowPk },
  { operator: VEHICLE_WINDOWS, entityType: 'vehicle', pk: vehicleWindowPk },
];
const PK_PREFIX = /^(ROUTE|VEHICLE)#/;

/** Thrown for a key or row that is not one of transit's windows: a silent guess would write a wrong row. */
export class NotATransitWindowError extends Error {
  override name = 'NotATransitWindowError';
}

function entityOfOperator(operator: string) {
  const entity = ENTITIES.find((e) => e.operator === operator);
  if (!entity) throw new NotATransitWindowError(`${operator} is not a transit window operator`);
  return entity;
}

/** The row key of an engine window item's key, e.g. `transit#route-windows#R1` / `w#…60000` → `ROUTE#R1` / 60000. */
export function windowRowKey(key: ItemKey): { pk: string; windowStart: number } {
  const operator = operatorOfPk(TRANSIT_PIPELINE, key.pk);
  const entity = entityOfOperator(operator);
  const id = key.pk.slice(operatorPk(TRANSIT_PIPELINE, operator, '').length);
  return { pk: entity.pk(id), windowStart: windowStartOfSk(key.sk) };
}

/** The engine item key of a row key. */
export function windowItemKey(row: Pick<StoredWindow, 'pk' | 'windowStart'>): ItemKey {
  const prefix = PK_PREFIX.exec(row.pk)?.[1];
  if (!prefix) throw new NotATransitWindowError(`${row.pk} is not a transit window key`);
  const entity = entityOfOperator(prefix === 'ROUTE' ? ROUTE_WINDOWS : VEHICLE_WINDOWS);
  return {
    pk: operatorPk(TRANSIT_PIPELINE, entity.operator, row.pk.slice(prefix.length + 1)),
    sk: windowSk(row.windowStart),
  };
}

/** The row of an engine window item, its attributes derived from the aggregate state. */
export function windowRow(item: StoredItem, updatedAt: string): WindowRow {
  const { pk, windowStart } = windowRowKey(item);
  const entity = entityOfOperator(operatorOfPk(TRANSIT_PIPELINE, item.pk));
  const agg = item.body.agg as Record<string, Json>;
  const [n, mean, m2] = agg.speed as Moments;
  const entityId = item.body.key as string;
  return {
    pk,
    windowStart,
    windowEnd: item.body.end as number,
    entityType: entity.entityType,
    entityId,
    routeId: entity.entityType === 'route' ? entityId : (agg.routeId as string),
    count: agg.count as number,
    minSpeedKmh: agg.minSpeedKmh as number,
    maxSpeedKmh: agg.maxSpeedKmh as number,
    avgSpeedKmh: mean,
    // What the speed baseline of today's processor reads, from the moments: Σx = n·mean, Σx² = M2 + n·mean².
    sumSpeedKmh: n * mean,
    sumSqSpeedKmh: m2 + n * mean * mean,
    ...(entity.entityType === 'route'
      ? { vehicleIds: agg.vehicles as string[], distinctVehicles: (agg.vehicles as string[]).length }
      : {}),
    version: item.version,
    positions: item.positions,
    updatedAt,
    agg,
  };
}

/**
 * The aggregate state of a row today's processor wrote, from its sums: mean = Σx / n and
 * M2 = Σx² − (Σx)² / n (never below 0, which rounding could make it); a vehicle window's ids from its
 * `eventIds`.
 */
function legacyAggregate(row: StoredWindow): Record<string, Json> {
  const n = row.count;
  const mean = row.sumSpeedKmh / n;
  const speed: Moments = [n, mean, Math.max(0, row.sumSqSpeedKmh - (row.sumSpeedKmh * row.sumSpeedKmh) / n)];
  return {
    count: n,
    minSpeedKmh: row.minSpeedKmh,
    maxSpeedKmh: row.maxSpeedKmh,
    speed,
    ...(row.entityType === 'route'
      ? { vehicles: [...(row.vehicleIds ?? [])].sort() }
      : { routeId: row.routeId, eventIds: Object.keys(row.eventIds ?? {}) }),
  };
}

/** The engine item of a row, whether the engine or today's processor wrote it. */
export function windowItem(row: WindowRow | StoredWindow): StoredItem {
  const agg = 'agg' in row && row.agg ? row.agg : legacyAggregate(row as StoredWindow);
  return {
    ...windowItemKey(row),
    version: row.version,
    positions: row.positions,
    body: { key: row.entityId, start: row.windowStart, end: row.windowEnd, agg },
  };
}
