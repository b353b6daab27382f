/**
 * Where a trip's stops lie along its shape. Each stop is placed at or after the previous one, and among
 * all such placements the one with the smallest sum of costs is chosen (dynamic programming over the
 * shape's segments), a stop's cost being its distance from its placed point, growing ten times slower
 * beyond NEAR_M: a stop far off every part of the shape then hardly pulls its neighbours along with it.
 *
 * Projecting each stop on its own (nearest point, then clamped forward) lets one stop far off the shape
 * pull the ones after it: a first stop 230 m off whose nearest point is 2 km along makes the next three
 * stops share that distance, and a vehicle then gets ETAs for stops it has passed. A greedy "nearest point
 * after the previous stop" has the same flaw; the monotone best fit does not, and it still places each stop
 * of a loop route on the right pass.
 */
import type { LatLon, ShapePoint } from '../geo.js';

const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

/** Beyond this distance off the shape, a stop's placement matters a tenth as much per metre. */
const NEAR_M = 50;
const costOf = (offsetM: number) => (offsetM <= NEAR_M ? offsetM : NEAR_M + (offsetM - NEAR_M) / 10);

/**
 * Distances along `shape` (metres, from its cumulative distances) for `stops` in trip order: never
 * decreasing, each stop as close to its point as the order allows. O(stops × shape points).
 *
 * A stop's candidate places are every shape point and its projection onto every segment, in shape order
 * (their distances along never decrease): a stop that must come before a neighbour on the same segment
 * can still sit at the segment's start.
 */
export function projectStopsMonotone(stops: readonly LatLon[], shape: readonly ShapePoint[]): number[] {
  const segments = shape.length - 1;
  if (segments < 1 || stops.length === 0) return stops.map(() => 0);
  // One flat frame for the whole shape: a few tenths of a percent off over tens of km, plenty to compare offsets.
  const cosLat = Math.cos(shape[0]![0] * RAD);
  const xs = shape.map((p) => p[1] * RAD * cosLat * EARTH_RADIUS_M);
  const ys = shape.map((p) => p[0] * RAD * EARTH_RADIUS_M);
  const count = 2 * segments + 1; // candidate 2j: shape point j; 2j + 1: projection onto segment j
  const candidatesOf = (stop: LatLon) => {
    const px = stop.lon * RAD * cosLat * EARTH_RADIUS_M;
    const py = stop.lat * RAD * EARTH_RADIUS_M;
    const along = new Float64Array(count);
    const cost = new Float64Array(count);
    for (let j = 0; j <= segments; j++) {
      along[2 * j] = shape[j]![2];
      cost[2 * j] = costOf(Math.hypot(xs[j]! - px, ys[j]! - py));
      if (j === segments) break;
      const dx = xs[j + 1]! - xs[j]!;
      const dy = ys[j + 1]! - ys[j]!;
      const len2 = dx * dx + dy * dy;
      const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - xs[j]!) * dx + (py - ys[j]!) * dy) / len2));
      along[2 * j + 1] = shape[j]![2] + t * (shape[j + 1]![2] - shape[j]![2]);
      cost[2 * j + 1] = costOf(Math.hypot(xs[j]! + t * dx - px, ys[j]! + t * dy - py));
    }
    return { along, cost };
  };

  // total[c]: the least cost of stops 0..i with stop i at candidate c; back[i][c]: stop i-1's candidate then.
  const alongs: Float64Array[] = [];
  const back: Int32Array[] = [];
  let total = new Float64Array(count);
  for (let i = 0; i < stops.length; i++) {
    const { along, cost } = candidatesOf(stops[i]!);
    const next = new Float64Array(count);
    const from = new Int32Array(count);
    if (i === 0) next.set(cost);
    else {
      const before = alongs[i - 1]!;
      let best = Number.POSITIVE_INFINITY; // the least total over candidates before c
      let bestK = 0;
      for (let c = 0; c < count; c++) {
        // The same candidate as stop i-1 only if stop i-1's point there is not past stop i's.
        const same = before[c]! <= along[c]! ? total[c]! : Number.POSITIVE_INFINITY;
        [next[c], from[c]] = same < best ? [same + cost[c]!, c] : [best + cost[c]!, bestK];
        if (total[c]! < best) [best, bestK] = [total[c]!, c];
      }
    }
    alongs.push(along);
    back.push(from);
    total = next;
  }

  let c = 0;
  for (let k = 1; k < count; k++) if (total[k]! < total[c]!) c = k;
  const result = new Array<number>(stops.length);
  for (let i = stops.length - 1; i >= 0; i--) {
    result[i] = alongs[i]![c]!;
    c = back[i]![c]!;
  }
  return result;
}
