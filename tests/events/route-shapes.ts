/** Route shapes for shape-choice tests. */
import { withCumulativeDistance } from '../../pipelines/transit/geo.js';
import type { ReferenceSource, ShapeRef } from '../../pipelines/transit/processing/ports.js';

/** Longitude of the street the two-way route runs on; its lanes lie 2 m either side. */
export const STREET_LON = 4.95;
const LANE_DEG = 0.00003; // ~2 m at lat 52.3

function lane(shapeId: string, lon: number, northbound: boolean): ShapeRef {
  const lats = Array.from({ length: 21 }, (_, i) => 52.3 + i * 0.001);
  const points = withCumulativeDistance((northbound ? lats : lats.reverse()).map((lat) => ({ lat, lon })));
  const length = points.at(-1)![2];
  return {
    shapeId,
    points,
    stops: [0, 1, 2].map((k) => {
      const [lat] = points[k * 10]!;
      return { stopId: `${shapeId}-S${k}`, name: `${shapeId} ${k}`, lat, lon, distM: (length * k) / 2, seq: k + 1 };
    }),
  };
}

/** Route R2 on one north-south street: NORTH (listed first, the east lane) and SOUTH (the west lane). */
export const TWO_WAY = {
  north: lane('NORTH', STREET_LON + LANE_DEG, true),
  south: lane('SOUTH', STREET_LON - LANE_DEG, false),
};

/** Reference data with route R2 only; no trips known. */
export const twoWayReference: ReferenceSource = {
  routeShapes: async (routeId) =>
    routeId === 'R2'
      ? new Map([
          [TWO_WAY.north.shapeId, TWO_WAY.north],
          [TWO_WAY.south.shapeId, TWO_WAY.south],
        ])
      : undefined,
  tripShapeId: async () => undefined,
};
