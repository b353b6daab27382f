/**
 * The parsed feed as ReferenceTable items, laid out exactly as docs/contracts.md says:
 * `ROUTES/<routeId>`, `ROUTE#<routeId>/SHAPE#<shapeId>`, `ROUTE#<routeId>/TRIPS#<n>`, `TRIP#<tripId>/META`,
 * `STOP#<stopId>/META`.
 */
import { haversineMeters, type ShapePoint } from '../geo.js';
import type { GtfsFeed, StopOnShape } from './parse-feed.js';

export interface RouteListItem {
  pk: 'ROUTES';
  sk: string;
  routeId: string;
  shortName: string;
  longName: string;
  routeType: number;
}

export interface ShapeItem {
  pk: `ROUTE#${string}`;
  sk: `SHAPE#${string}`;
  shapeId: string;
  /** `[lat, lon, distM]` per point. */
  points: ShapePoint[];
  stops: StopOnShape[];
}

/**
 * Part of a route's trips: the shape of each trip that runs on one of the route's shapes, so one query of
 * the route's partition places a fix (its shapes and its trip's shape). Split over `TRIPS#0`, `TRIPS#1`,
 * ... when a route has more trips than one item holds.
 */
export interface RouteTripsItem {
  pk: `ROUTE#${string}`;
  sk: `TRIPS#${number}`;
  tripShapeIds: Record<string, string>;
}

export interface TripItem {
  pk: `TRIP#${string}`;
  sk: 'META';
  tripId: string;
  routeId: string;
  shapeId: string;
  directionId: number;
}

export interface StopItem {
  pk: `STOP#${string}`;
  sk: 'META';
  stopId: string;
  name: string;
  lat: number;
  lon: number;
  routeIds: string[];
}

export type ReferenceItem = RouteListItem | ShapeItem | RouteTripsItem | TripItem | StopItem;

/** DynamoDB's item limit is 400 KB; stay well below it so attribute overhead never tips an item over. */
export const MAX_SHAPE_ITEM_BYTES = 350_000;

/** Reported when a shape had to be simplified to fit one item. */
export interface ShapeSimplification {
  routeId: string;
  shapeId: string;
  pointsBefore: number;
  pointsAfter: number;
  toleranceM: number;
}

export interface ReferenceItemOptions {
  /** @default MAX_SHAPE_ITEM_BYTES */
  maxShapeItemBytes?: number;
  /** Called for each shape that was simplified. */
  onSimplified?: (info: ShapeSimplification) => void;
}

// 6 decimals of a degree is ~0.1 m and a decimetre of distance is plenty for ETAs; fewer digits
// also make DynamoDB numbers (stored by significant digit) smaller.
const round = (value: number, decimals: number) => {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
};
const roundPoint = ([lat, lon, d]: ShapePoint): ShapePoint => [round(lat, 6), round(lon, 6), round(d, 1)];

/**
 * Approximate DynamoDB item size in bytes, following the documented sizing rules: attribute
 * names and strings by UTF-8 length, numbers ~1 byte per two significant digits plus one,
 * lists and maps 3 bytes plus 1 per element.
 */
export function estimateItemBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') {
    const digits = String(Math.abs(value))
      .replace(/[.-]|e.*$/g, '')
      .replace(/^0+/, '').length;
    return Math.ceil(Math.max(1, digits) / 2) + 1;
  }
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + estimateItemBytes(v), 0);
  if (typeof value === 'object') {
    let sum = 3;
    for (const [k, v] of Object.entries(value)) sum += 1 + Buffer.byteLength(k, 'utf8') + estimateItemBytes(v);
    return sum;
  }
  return Buffer.byteLength(String(value), 'utf8');
}

/** Distance of p from the straight line a→b in metres (local flat approximation). */
function offsetFromChord(p: ShapePoint, a: ShapePoint, b: ShapePoint): number {
  const cosLat = Math.cos((p[0] * Math.PI) / 180);
  const mPerDeg = 111_195;
  const ax = (a[1] - p[1]) * cosLat * mPerDeg;
  const ay = (a[0] - p[0]) * mPerDeg;
  const dx = (b[1] - a[1]) * cosLat * mPerDeg;
  const dy = (b[0] - a[0]) * mPerDeg;
  const len2 = dx * dx + dy * dy;
  if (len2 === 0) return haversineMeters({ lat: p[0], lon: p[1] }, { lat: a[0], lon: a[1] });
  const t = Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
  return Math.hypot(ax + t * dx, ay + t * dy);
}

/**
 * Douglas-Peucker: drops points closer than `toleranceM` to the line through their neighbours.
 * Kept points keep their original distM, so stop distances and ETAs still measure the real path.
 */
export function simplifyShape(points: ShapePoint[], toleranceM: number): ShapePoint[] {
  if (points.length <= 2) return points;
  const keep = new Uint8Array(points.length);
  keep[0] = 1;
  keep[points.length - 1] = 1;
  const stack: [number, number][] = [[0, points.length - 1]];
  while (stack.length > 0) {
    const [from, to] = stack.pop()!;
    let worst = -1;
    let worstOffset = toleranceM;
    for (let i = from + 1; i < to; i++) {
      const offset = offsetFromChord(points[i]!, points[from]!, points[to]!);
      if (offset > worstOffset) {
        worst = i;
        worstOffset = offset;
      }
    }
    if (worst >= 0) {
      keep[worst] = 1;
      stack.push([from, worst], [worst, to]);
    }
  }
  return points.filter((_, i) => keep[i] === 1);
}

/** One shape item, simplified with a growing tolerance (2 m, 4 m, 8 m, …) until it fits the size limit. */
export function shapeItem(
  routeId: string,
  shapeId: string,
  points: ShapePoint[],
  stops: StopOnShape[],
  options: ReferenceItemOptions = {},
): ShapeItem {
  const limit = options.maxShapeItemBytes ?? MAX_SHAPE_ITEM_BYTES;
  const build = (pts: ShapePoint[]): ShapeItem => ({
    pk: `ROUTE#${routeId}`,
    sk: `SHAPE#${shapeId}`,
    shapeId,
    points: pts.map(roundPoint),
    stops: stops.map((s) => ({ ...s, lat: round(s.lat, 6), lon: round(s.lon, 6), distM: round(s.distM, 1) })),
  });
  let item = build(points);
  let toleranceM = 2;
  while (estimateItemBytes(item) > limit && item.points.length > 2) {
    item = build(simplifyShape(points, toleranceM));
    if (estimateItemBytes(item) <= limit) {
      options.onSimplified?.({
        routeId,
        shapeId,
        pointsBefore: points.length,
        pointsAfter: item.points.length,
        toleranceM,
      });
    }
    toleranceM *= 2;
  }
  if (estimateItemBytes(item) > limit) {
    throw new RangeError(
      `shape ${shapeId} of route ${routeId} does not fit in one item even simplified (stops alone?)`,
    );
  }
  return item;
}

/**
 * The trips items of each route of `feed` with shapes: every trip whose shape is one of the route's (a
 * shape two routes share lists its trips under both), each item within `maxItemBytes`.
 */
export function routeTripsItems(feed: GtfsFeed, maxItemBytes = MAX_SHAPE_ITEM_BYTES): RouteTripsItem[] {
  const routesOfShape = new Map<string, Set<string>>();
  for (const { routeId, shapeId } of feed.routeShapes) {
    routesOfShape.set(shapeId, (routesOfShape.get(shapeId) ?? new Set()).add(routeId));
  }
  const trips = new Map<string, Array<[string, string]>>();
  for (const { tripId, shapeId } of feed.trips.values()) {
    for (const routeId of routesOfShape.get(shapeId) ?? []) {
      trips.set(routeId, [...(trips.get(routeId) ?? []), [tripId, shapeId]]);
    }
  }
  const items: RouteTripsItem[] = [];
  for (const [routeId, entries] of trips) {
    let chunk: Record<string, string> = {};
    let bytes = 0;
    let n = 0;
    const flush = () => {
      items.push({ pk: `ROUTE#${routeId}`, sk: `TRIPS#${n++}`, tripShapeIds: chunk });
      chunk = {};
      bytes = 0;
    };
    for (const [tripId, shapeId] of entries) {
      const entryBytes = estimateItemBytes({ [tripId]: shapeId });
      if (bytes + entryBytes > maxItemBytes && bytes > 0) flush();
      chunk[tripId] = shapeId;
      bytes += entryBytes;
    }
    flush();
  }
  return items;
}

/** Every reference item of a feed: route list, shapes and trips per route, trips, stops. */
export function referenceItems(feed: GtfsFeed, options: ReferenceItemOptions = {}): ReferenceItem[] {
  const items: ReferenceItem[] = [];
  for (const route of feed.routes.values()) {
    items.push({
      pk: 'ROUTES',
      sk: route.routeId,
      routeId: route.routeId,
      shortName: route.shortName,
      longName: route.longName,
      routeType: route.routeType,
    });
  }
  for (const rs of feed.routeShapes) items.push(shapeItem(rs.routeId, rs.shapeId, rs.points, rs.stops, options));
  items.push(...routeTripsItems(feed, options.maxShapeItemBytes));
  for (const trip of feed.trips.values()) {
    items.push({
      pk: `TRIP#${trip.tripId}`,
      sk: 'META',
      tripId: trip.tripId,
      routeId: trip.routeId,
      shapeId: trip.shapeId,
      directionId: trip.directionId,
    });
  }
  for (const stop of feed.stops.values()) {
    items.push({
      pk: `STOP#${stop.stopId}`,
      sk: 'META',
      stopId: stop.stopId,
      name: stop.name,
      lat: stop.lat,
      lon: stop.lon,
      routeIds: stop.routeIds,
    });
  }
  return items;
}
