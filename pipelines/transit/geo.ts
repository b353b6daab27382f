/** Small spherical-earth helpers for GPS fixes and route shapes (metres, degrees). */

const EARTH_RADIUS_M = 6_371_008.8;
const toRad = (deg: number) => (deg * Math.PI) / 180;
const toDeg = (rad: number) => (rad * 180) / Math.PI;

export interface LatLon {
  lat: number;
  lon: number;
}

/** A shape point with the distance travelled from the shape's start: `[lat, lon, distM]`. */
export type ShapePoint = [lat: number, lon: number, distM: number];

/** Great-circle distance in metres. */
export function haversineMeters(a: LatLon, b: LatLon): number {
  const dLat = toRad(b.lat - a.lat);
  const dLon = toRad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a.lat)) * Math.cos(toRad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Initial bearing from a to b, degrees clockwise from north in [0, 360). */
export function bearingDeg(a: LatLon, b: LatLon): number {
  const y = Math.sin(toRad(b.lon - a.lon)) * Math.cos(toRad(b.lat));
  const x =
    Math.cos(toRad(a.lat)) * Math.sin(toRad(b.lat)) -
    Math.sin(toRad(a.lat)) * Math.cos(toRad(b.lat)) * Math.cos(toRad(b.lon - a.lon));
  return (toDeg(Math.atan2(y, x)) + 360) % 360;
}

/** Adds the cumulative distance to each point of a polyline. */
export function withCumulativeDistance(points: LatLon[]): ShapePoint[] {
  let dist = 0;
  return points.map((p, i) => {
    const prev = points[i - 1];
    if (prev) dist += haversineMeters(prev, p);
    return [p.lat, p.lon, dist];
  });
}

/** Where a point lies relative to a shape: distance along it and distance off it. */
export interface Projection {
  distanceAlongM: number;
  offsetM: number;
}

/** Segments per box of a shape's index (`boxesOf`). */
const SEGMENTS_PER_BOX = 8;

/**
 * A shape's segments in runs of `SEGMENTS_PER_BOX`, each with the latitude and longitude bounds of its
 * points: box `k` holds segments `1 + k * SEGMENTS_PER_BOX` up to the next box's first (segment `i`
 * joins points `i - 1` and `i`). Flat arrays, `[minLat, maxLat, minLon, maxLon]` per box.
 */
function shapeBoxes(shape: ShapePoint[]): Float64Array {
  const count = Math.ceil((shape.length - 1) / SEGMENTS_PER_BOX);
  const boxes = new Float64Array(count * 4);
  for (let k = 0; k < count; k++) {
    const first = k * SEGMENTS_PER_BOX;
    const last = Math.min(shape.length - 1, first + SEGMENTS_PER_BOX);
    const o = k * 4;
    boxes[o] = boxes[o + 2] = Number.POSITIVE_INFINITY;
    boxes[o + 1] = boxes[o + 3] = Number.NEGATIVE_INFINITY;
    for (let i = first; i <= last; i++) {
      const [lat, lon] = shape[i] as ShapePoint;
      boxes[o] = Math.min(boxes[o] as number, lat);
      boxes[o + 1] = Math.max(boxes[o + 1] as number, lat);
      boxes[o + 2] = Math.min(boxes[o + 2] as number, lon);
      boxes[o + 3] = Math.max(boxes[o + 3] as number, lon);
    }
  }
  return boxes;
}

/**
 * The boxes of each shape seen, made on its first projection. Shapes are reference data, never changed
 * in place (a changed route comes as new arrays), and a cache hands out the same arrays batch after
 * batch, so the index is made once per shape and container.
 */
const boxesOf = new WeakMap<ShapePoint[], Float64Array>();

/** How far below the best offset found a box's bound must lie to be searched: rounding, in metres. */
const BOUND_SLACK_M = 1e-6;

/**
 * Projects a point onto a shape. Each segment is flattened with an equirectangular projection
 * around the point, which is accurate to well under a metre at city scale.
 *
 * The nearest segment is the first of least offset. Segments are searched box by box (`shapeBoxes`),
 * the nearest box first, and a box whose bounds lie farther than the best offset found so far is
 * skipped: the flattening is monotonic in latitude and longitude, so no segment in it can be as near,
 * and the result is the one a scan of every segment in order gives, to the bit.
 */
export function projectOntoShape(point: LatLon, shape: ShapePoint[]): Projection {
  if (shape.length < 2) {
    const only = shape[0];
    return only
      ? { distanceAlongM: 0, offsetM: haversineMeters(point, { lat: only[0], lon: only[1] }) }
      : { distanceAlongM: 0, offsetM: Number.POSITIVE_INFINITY };
  }
  let boxes = boxesOf.get(shape);
  if (!boxes) {
    boxes = shapeBoxes(shape);
    boxesOf.set(shape, boxes);
  }
  const { lat: pLat, lon: pLon } = point;
  const cosLat = Math.cos(toRad(pLat));
  const count = boxes.length / 4;
  const bounds = boundsScratch(count);
  let nearest = 0;
  for (let k = 0; k < count; k++) {
    const o = k * 4;
    // Flattened as the segments are, so the bound is exact up to rounding (see BOUND_SLACK_M).
    const south = toRad((boxes[o] as number) - pLat) * EARTH_RADIUS_M;
    const north = toRad((boxes[o + 1] as number) - pLat) * EARTH_RADIUS_M;
    const west = toRad((boxes[o + 2] as number) - pLon) * cosLat * EARTH_RADIUS_M;
    const east = toRad((boxes[o + 3] as number) - pLon) * cosLat * EARTH_RADIUS_M;
    const gx = west > 0 ? west : east < 0 ? -east : 0;
    const gy = south > 0 ? south : north < 0 ? -north : 0;
    bounds[k] = Math.sqrt(gx * gx + gy * gy);
    if ((bounds[k] as number) < (bounds[nearest] as number)) nearest = k;
  }
  const best = { index: 0, offsetM: Number.POSITIVE_INFINITY, distanceAlongM: 0 };
  searchBox(point, cosLat, shape, nearest, best);
  for (let k = 0; k < count; k++) {
    if (k === nearest || (bounds[k] as number) - best.offsetM > BOUND_SLACK_M) continue;
    searchBox(point, cosLat, shape, k, best);
  }
  return { distanceAlongM: best.distanceAlongM, offsetM: best.offsetM };
}

let scratch = new Float64Array(64);
/** A reused array for the boxes' bounds of one projection (projections do not nest). */
function boundsScratch(count: number): Float64Array {
  if (scratch.length < count) scratch = new Float64Array(count * 2);
  return scratch;
}

/**
 * The segments of box `k`, each as the plain scan flattens and measures it; one nearer than `best`, or
 * as near with a lower index (boxes are not searched in order), becomes the best.
 */
function searchBox(
  point: LatLon,
  cosLat: number,
  shape: ShapePoint[],
  k: number,
  best: { index: number; offsetM: number; distanceAlongM: number },
) {
  const first = 1 + k * SEGMENTS_PER_BOX;
  const last = Math.min(shape.length - 1, first + SEGMENTS_PER_BOX - 1);
  const { lat: pLat, lon: pLon } = point;
  const [aLat0, aLon0, aDist0] = shape[first - 1] as ShapePoint;
  let ax = toRad(aLon0 - pLon) * cosLat * EARTH_RADIUS_M;
  let ay = toRad(aLat0 - pLat) * EARTH_RADIUS_M;
  let aDist = aDist0;
  for (let i = first; i <= last; i++) {
    const [bLat, bLon, bDist] = shape[i] as ShapePoint;
    const bx = toRad(bLon - pLon) * cosLat * EARTH_RADIUS_M;
    const by = toRad(bLat - pLat) * EARTH_RADIUS_M;
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
    const offsetM = Math.hypot(ax + t * dx, ay + t * dy);
    if (offsetM < best.offsetM || (offsetM === best.offsetM && i < best.index)) {
      best.index = i;
      best.offsetM = offsetM;
      best.distanceAlongM = aDist + t * (bDist - aDist);
    }
    ax = bx;
    ay = by;
    aDist = bDist;
  }
}

/** The position and heading at a distance along a shape (clamped to its ends). */
export function pointAlongShape(shape: ShapePoint[], distM: number): LatLon & { headingDeg: number } {
  if (shape.length === 0) throw new RangeError('shape has no points');
  const last = shape[shape.length - 1]!;
  const target = Math.max(0, Math.min(distM, last[2]));
  let i = 1;
  while (i < shape.length - 1 && shape[i]![2] < target) i++;
  const a = shape[Math.max(0, i - 1)]!;
  const b = shape[Math.min(i, shape.length - 1)]!;
  const span = b[2] - a[2];
  const t = span === 0 ? 0 : (target - a[2]) / span;
  const from = { lat: a[0], lon: a[1] };
  const to = { lat: b[0], lon: b[1] };
  return {
    lat: a[0] + t * (b[0] - a[0]),
    lon: a[1] + t * (b[1] - a[1]),
    headingDeg: span === 0 ? 0 : bearingDeg(from, to),
  };
}

/** Shape length in metres. */
export function shapeLength(shape: ShapePoint[]): number {
  return shape.at(-1)?.[2] ?? 0;
}
