import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  haversineMeters,
  type LatLon,
  projectOntoShape,
  type ShapePoint,
  withCumulativeDistance,
} from '../../../pipelines/transit/geo.js';
import { syntheticCity } from '../../events/gtfs-feeds.js';

const EARTH_RADIUS_M = 6_371_008.8;
const toRad = (deg: number) => (deg * Math.PI) / 180;

/** The plain scan of every segment in order that `projectOntoShape` must agree with to the bit. */
function scanEverySegment(point: LatLon, shape: ShapePoint[]) {
  const cosLat = Math.cos(toRad(point.lat));
  const x = (lon: number) => toRad(lon - point.lon) * cosLat * EARTH_RADIUS_M;
  const y = (lat: number) => toRad(lat - point.lat) * EARTH_RADIUS_M;
  let best = { distanceAlongM: 0, offsetM: Number.POSITIVE_INFINITY };
  for (let i = 1; i < shape.length; i++) {
    const [aLat, aLon, aDist] = shape[i - 1] as ShapePoint;
    const [bLat, bLon, bDist] = shape[i] as ShapePoint;
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
    const [lat, lon] = shape[0] as ShapePoint;
    best = { distanceAlongM: 0, offsetM: haversineMeters(point, { lat, lon }) };
  }
  return best;
}

const sameBits = (point: LatLon, shape: ShapePoint[]) => {
  const got = projectOntoShape(point, shape);
  const want = scanEverySegment(point, shape);
  return Object.is(got.offsetM, want.offsetM) && Object.is(got.distanceAlongM, want.distanceAlongM);
};

/** A polyline of `n` points wandering from a start near Amsterdam, with repeated points now and then. */
const shapeArb = fc
  .array(
    fc.record({
      dLat: fc.double({ min: -0.003, max: 0.003, noNaN: true }),
      dLon: fc.double({ min: -0.003, max: 0.003, noNaN: true }),
      repeat: fc.boolean(),
    }),
    { minLength: 0, maxLength: 60 },
  )
  .map((steps) => {
    const points: ShapePoint[] = [];
    let [lat, lon, dist] = [52.37, 4.9, 0];
    for (const { dLat, dLon, repeat } of steps) {
      if (!repeat) {
        const next = { lat: lat + dLat, lon: lon + dLon };
        dist += haversineMeters({ lat, lon }, next);
        [lat, lon] = [next.lat, next.lon];
      }
      points.push([lat, lon, dist]);
    }
    return points;
  });

describe('projectOntoShape', () => {
  it('finds what a scan of every segment in order finds, on random shapes and points', () => {
    fc.assert(
      fc.property(
        shapeArb,
        fc.double({ min: 52.3, max: 52.45, noNaN: true }),
        fc.double({ min: 4.8, max: 5.0, noNaN: true }),
        (shape, lat, lon) => sameBits({ lat, lon }, shape),
      ),
      { numRuns: 2000 },
    );
  });

  it('finds what the scan finds on every point and segment midpoint of the synthetic city, and beside them', async () => {
    const feed = await syntheticCity();
    const mismatches: string[] = [];
    for (const { shapeId, points } of feed.routeShapes) {
      for (let i = 0; i < points.length; i++) {
        const [lat, lon] = points[i] as ShapePoint;
        const [nLat, nLon] = (points[i + 1] ?? points[i]) as ShapePoint;
        for (const point of [
          { lat, lon },
          { lat: (lat + nLat) / 2, lon: (lon + nLon) / 2 },
          { lat: lat + 0.0004, lon: lon - 0.0007 },
          { lat: lat - 0.002, lon: lon + 0.001 },
        ]) {
          if (!sameBits(point, points)) mismatches.push(`${shapeId} point ${i}: ${JSON.stringify(point)}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('keeps the first of equally near segments when a later box is searched first', () => {
    // Along a street (box 0: segments 1-8), then back over its segment 5 (as segment 11) in a box
    // that reaches past the point, so that box is the nearer and is searched first.
    const street = Array.from({ length: 9 }, (_, i) => ({ lat: 52.3 + i * 0.001, lon: 4.95 }));
    const shape = withCumulativeDistance([
      ...street,
      { lat: 52.308, lon: 4.94 },
      street[4] as LatLon,
      street[5] as LatLon,
      { lat: 52.33, lon: 4.99 },
    ]);
    const point = { lat: 52.3045, lon: 4.951 };

    const got = projectOntoShape(point, shape);

    expect(got).toEqual(scanEverySegment(point, shape));
    expect(got.distanceAlongM).toBeLessThan((shape[8] as ShapePoint)[2]);
  });

  it('measures to the only point of a one-point shape, and finds nothing on an empty one', () => {
    expect(projectOntoShape({ lat: 52.3, lon: 4.9 }, [[52.301, 4.9, 0]]).offsetM).toBeCloseTo(111.2, 0);
    expect(projectOntoShape({ lat: 52.3, lon: 4.9 }, [])).toEqual({
      distanceAlongM: 0,
      offsetM: Number.POSITIVE_INFINITY,
    });
  });
});
