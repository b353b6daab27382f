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

/**
 * Projects a point onto a shape. Each segment is flattened with an equirectangular projection
 * around the point, which is accurate to well under a metre at city scale.
 */
export function projectOntoShape(point: LatLon, shape: ShapePoint[]): Projection {
  const cosLat = Math.cos(toRad(point.lat));
  const x = (lon: number) => toRad(lon - point.lon) * cosLat * EARTH_RADIUS_M;
  const y = (lat: number) => toRad(lat - point.lat) * EARTH_RADIUS_M;
  let best: Projection = { distanceAlongM: 0, offsetM: Number.POSITIVE_INFINITY };
  for (let i = 1; i < shape.length; i++) {
    const [aLat, aLon, aDist] = shape[i - 1]!;
    const [bLat, bLon, bDist] = shape[i]!;
    const ax = x(aLon);
    const ay = y(aLat);
    const dx = x(bLon) - ax;
    const dy = y(bLat) - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
    const offsetM = Math.hypot(ax + t * dx, ay + t * dy);
    if (offsetM < best.offsetM) best = { distanceAlongM: aDist + t * (bDist - aDist), offsetM };
  }
  if (shape.length === 1) {
    const [lat, lon] = shape[0]!;
    best = { distanceAlongM: 0, offsetM: haversineMeters(point, { lat, lon }) };
  }
  return best;
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
