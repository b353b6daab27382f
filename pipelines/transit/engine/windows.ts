/**
 * Transit's route windows and vehicle windows as engine operators (`shared/engine/operators/windows.ts`),
 * and the presenter that turns their updates into transit's public window (`projectWindow`). The first
 * step of running transit on the engine: docs/transit-on-engine.md has the rest of the way.
 *
 * What a stored transit window holds, and where it lives here:
 * - `count`, `minSpeedKmh`, `maxSpeedKmh`: `count`, `min`, `max`;
 * - `avgSpeedKmh`, and the running sums the speed baseline needs: `stats` (Welford moments: count,
 *   mean, variance), which also merge across windows for a baseline without cancellation;
 * - route windows' `vehicleIds` and `distinctVehicles`: `distinctCount` (its state is the sorted ids);
 * - vehicle windows' `routeId`: the route of the first event folded, as transit keeps the route of the
 *   item's first contribution (`firstValue`);
 * - vehicle windows' `eventIds`: the ids of the fixes folded (`collect`, each once). The engine tells
 *   duplicates and redeliveries by its entity items and item positions (docs/engine.md); these ids
 *   are for the store adapter, which takes a copy re-sent after the entity forgot its id for a
 *   duplicate when the copy's window holds it, as today's processor does.
 */
import type { Accumulator } from '../../../shared/engine/accumulators.js';
import { collect, count, distinctCount, max, min, stats } from '../../../shared/engine/accumulators.js';
import { type AggregateSpec, field } from '../../../shared/engine/aggregate.js';
import type { Update } from '../../../shared/engine/operators/operator.js';
import type { WindowedAggregate, WindowValue } from '../../../shared/engine/operators/windows.js';
import { tumbling } from '../../../shared/engine/window-assigners.js';
import type { ProcessingSettings } from '../config.js';
import type { VehiclePosition, WindowEntity } from '../model.js';
import { type PublicWindow, projectWindow } from '../queries/projections.js';

export const ROUTE_WINDOWS = 'route-windows';
export const VEHICLE_WINDOWS = 'vehicle-windows';

/**
 * The first value added, in fold order. The engine folds an item's contributions in partition order
 * and merges a batch's partial state after the stored one, so for an item fed by one entity (a
 * vehicle's window) this is the value of its first event in that entity's order.
 */
export const firstValue = (): Accumulator<string, string | null, string | null> => ({
  empty: () => null,
  add: (first, v) => first ?? v,
  merge: (a, b) => a ?? b,
  present: (first) => first,
});

/** Speed statistics every transit window holds. */
const speedFields = {
  count: field<VehiclePosition>(count(), () => 1),
  minSpeedKmh: field<VehiclePosition>(min(), (e) => e.speedKmh),
  maxSpeedKmh: field<VehiclePosition>(max(), (e) => e.speedKmh),
  speed: field<VehiclePosition>(stats(), (e) => e.speedKmh),
} satisfies AggregateSpec<VehiclePosition>;

/**
 * The route and vehicle windows, tumbling at transit's window size, closed by each vehicle's watermark
 * only, as transit's processor judges lateness: a vehicle's buffered fixes still count in the route's
 * windows after the processing clock passed them, and no window is ever final.
 */
export function transitWindowOperators(
  settings: Pick<ProcessingSettings, 'windowSizeMs'>,
): Array<WindowedAggregate<VehiclePosition>> {
  const windows = tumbling(settings.windowSizeMs);
  return [
    {
      kind: 'windows',
      name: ROUTE_WINDOWS,
      key: (e) => e.routeId,
      windows,
      closeBy: 'watermark',
      aggregate: { ...speedFields, vehicles: field(distinctCount(), (e) => e.vehicleId) },
    },
    {
      kind: 'windows',
      name: VEHICLE_WINDOWS,
      key: (e) => e.vehicleId,
      windows,
      closeBy: 'watermark',
      aggregate: {
        ...speedFields,
        routeId: field(firstValue(), (e) => e.routeId),
        // A copy re-sent beyond the entity's memory of ids is a duplicate for transit when its window
        // holds it (transit-tables-store.ts).
        eventIds: field(collect(), (e) => e.eventId),
      },
    },
  ];
}

const ENTITY_OF: ReadonlyMap<string, WindowEntity> = new Map([
  [ROUTE_WINDOWS, 'route'],
  [VEHICLE_WINDOWS, 'vehicle'],
]);

/**
 * Transit's public window (`projectWindow`) of a presented engine window of operator `operator`. Throws
 * for an operator that is not one of transit's windows: a silent `undefined` entity would reach clients.
 */
export function presentTransitWindow(operator: string, value: WindowValue): PublicWindow {
  const entityType = ENTITY_OF.get(operator);
  if (!entityType) throw new RangeError(`${operator} is not a transit window operator`);
  const speed = value.speed as { mean: number };
  return projectWindow({
    entityType,
    entityId: value.key,
    routeId: entityType === 'route' ? value.key : (value.routeId as string),
    windowStart: value.windowStart,
    windowEnd: value.windowEnd,
    count: value.count as number,
    minSpeedKmh: value.minSpeedKmh as number,
    maxSpeedKmh: value.maxSpeedKmh as number,
    avgSpeedKmh: speed.mean,
    ...(entityType === 'route' ? { distinctVehicles: value.vehicles as number } : {}),
  });
}

/** The public window of an engine update, e.g. as a `publish` binding's `shape`. */
export const windowOfUpdate = (update: Update): PublicWindow =>
  presentTransitWindow(update.operator, update.value as WindowValue);
