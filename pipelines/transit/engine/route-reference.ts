/**
 * Transit's reference data on the engine: per fix, its route's shapes and the shape ids of the trips
 * that run on them (docs/transit-on-engine.md, step 4). `processBatch` asks two questions per fix,
 * `routeShapes(routeId)` and `tripShapeId(tripId)`; the engine looks up one key per event. One key
 * suffices: the trip's shape only counts when it is one of the route's shapes (`chooseShape` looks it up
 * in them), so the route's reference item lists, with its shapes, every trip whose shape is one of them.
 * A trip on another route's shape is then absent, as today's lookup finds it and then no such shape.
 *
 * Keyed by route, a batch of a thousand vehicles reads the few hundred routes they run on, and a
 * container's cache holds a city's network; keyed by trip it would hold every trip of the day.
 *
 * The reference is optional: a route the reference data does not know is placed on no shape (no
 * off-route anomaly, no distance along), as `shapeFor` does, and nothing is dead-lettered.
 */
import { type ReferenceData, type ReferenceItem, ReferenceItemError } from '../../../shared/engine/reference.js';
import type { GtfsFeed } from '../gtfs/parse-feed.js';
import type { VehiclePosition } from '../model.js';
import type { ShapeRef } from '../processing/ports.js';

/** What the vehicle-state fold needs of a route to place a fix. */
export interface RouteShapes {
  shapes: ReadonlyMap<string, ShapeRef>;
  /** Trip id to shape id, for every trip whose shape is one of `shapes`. */
  tripShapeIds: ReadonlyMap<string, string>;
}

/** A vehicle position with its route's shapes; `routeShapes` is absent for a route the reference data does not know. */
export interface PlacedPosition extends VehiclePosition {
  routeShapes?: RouteShapes;
}

/** A route's reference item as the engine's `ReferenceSource` returns it, keyed by the route id. */
export interface RouteReferenceItem {
  [key: string]: unknown;
  routeId: string;
  shapes: ShapeRef[];
  /** Trip id to shape id, for the trips that run on one of `shapes`. */
  tripShapeIds: Record<string, string>;
}

/** Every route's reference item of a feed, by route id: its shapes, and the trips running on them. */
export function routeReferenceItems(feed: GtfsFeed): Map<string, RouteReferenceItem> {
  const items = new Map<string, RouteReferenceItem>();
  const routesOfShape = new Map<string, string[]>();
  for (const { routeId, shapeId, points, stops } of feed.routeShapes) {
    const item = items.get(routeId) ?? { routeId, shapes: [], tripShapeIds: {} };
    item.shapes.push({ shapeId, points, stops });
    items.set(routeId, item);
    routesOfShape.set(shapeId, [...(routesOfShape.get(shapeId) ?? []), routeId]);
  }
  for (const { tripId, shapeId } of feed.trips.values()) {
    for (const routeId of routesOfShape.get(shapeId) ?? []) {
      (items.get(routeId) as RouteReferenceItem).tripShapeIds[tripId] = shapeId;
    }
  }
  return items;
}

/**
 * What each item object read as, and under which key. A warm container's reference source hands out the
 * same item objects batch after batch (`CachedReferenceSource`), and nothing changes an item in place,
 * so a route's maps are built once per item rather than once per batch.
 */
const readItems = new WeakMap<ReferenceItem, { key: string; route: RouteShapes }>();

/** Reads a route's reference item; throws `ReferenceItemError` for one without its shapes or trips. */
export function readRouteReference(item: ReferenceItem, key: string): RouteShapes {
  const read = readItems.get(item);
  if (read?.key === key) return read.route;
  const route = readRouteItem(item, key);
  readItems.set(item, { key, route });
  return route;
}

function readRouteItem(item: ReferenceItem, key: string): RouteShapes {
  const { shapes, tripShapeIds } = item;
  if (!Array.isArray(shapes)) throw new ReferenceItemError(`route ${key} has no shapes list`);
  if (typeof tripShapeIds !== 'object' || tripShapeIds === null || Array.isArray(tripShapeIds)) {
    throw new ReferenceItemError(`route ${key} has no trip shape ids`);
  }
  const byId = new Map<string, ShapeRef>();
  for (const shape of shapes as Array<Partial<ShapeRef>>) {
    if (typeof shape?.shapeId !== 'string' || !Array.isArray(shape.points) || !Array.isArray(shape.stops)) {
      throw new ReferenceItemError(`route ${key} has a shape without shapeId, points or stops`);
    }
    byId.set(shape.shapeId, shape as ShapeRef);
  }
  return { shapes: byId, tripShapeIds: new Map(Object.entries(tripShapeIds as Record<string, string>)) };
}

/** Transit's enrichment: each fix with its route's shapes, optional (see the module comment). */
export const routeReference: ReferenceData<VehiclePosition, PlacedPosition, RouteShapes> = {
  name: 'route',
  field: 'routeId',
  key: (event) => event.routeId,
  read: readRouteReference,
  required: false,
  combine: (event, routeShapes) => (routeShapes ? { ...event, routeShapes } : event),
};
