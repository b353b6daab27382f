/**
 * Which shape of its route a fix runs on. With a trip id, the trip's shape. Without one, every shape of
 * the route is scored by how far the fix lies off it plus how far the vehicle's heading turns away from
 * the shape's own bearing there, so the two directions of a route on the same street are told apart; and
 * the vehicle's previous shape is kept while it scores nearly as well as the best (hysteresis), so GPS
 * noise or a standing vehicle's meaningless heading does not flip it between directions.
 */
import { bearingDeg, haversineMeters, pointAlongShape, projectOntoShape } from '../geo.js';
import type { VehiclePosition, VehicleState } from '../model.js';
import type { ReferenceSource, ShapeRef } from './ports.js';

/** Score added for driving against a shape's direction (half of it at right angles), in metres of offset. */
export const HEADING_PENALTY_M = 100;
/** How much worse than the best the previous shape may score and still be kept, in metres. */
export const HYSTERESIS_M = 30;
/** Below this speed a GPS heading is noise. */
const MIN_HEADING_SPEED_KMH = 3;
/** The previous fix gives a direction of travel once the vehicle moved this far from it. */
const MIN_MOVE_FOR_BEARING_M = 15;

/** The vehicle's direction of travel: its reported heading when moving, else the way it went since `previous`. */
export function travelHeading(event: VehiclePosition, previous: VehicleState | undefined): number | undefined {
  if (event.speedKmh >= MIN_HEADING_SPEED_KMH && Number.isFinite(event.headingDeg)) return event.headingDeg;
  if (previous && haversineMeters(previous, event) >= MIN_MOVE_FOR_BEARING_M) return bearingDeg(previous, event);
  return undefined;
}

/** Offset from the shape plus the heading penalty: lower is a better match. */
export function shapeScore(event: VehiclePosition, shape: ShapeRef, headingDeg: number | undefined): number {
  const { offsetM, distanceAlongM } = projectOntoShape(event, shape.points);
  if (headingDeg === undefined || shape.points.length < 2) return offsetM;
  const turn = ((pointAlongShape(shape.points, distanceAlongM).headingDeg - headingDeg) * Math.PI) / 180;
  return offsetM + (HEADING_PENALTY_M * (1 - Math.cos(turn))) / 2;
}

/**
 * The shape a fix runs on: its trip's shape, else the best-scoring shape of its route, or the previous
 * fix's shape while that scores within {@link HYSTERESIS_M} of the best. Undefined for an unknown route.
 * Reads the route's shapes and the trip's shape id from `reference`, then {@link chooseShape}.
 */
export async function shapeFor(
  event: VehiclePosition,
  reference: ReferenceSource,
  previous?: VehicleState,
): Promise<ShapeRef | undefined> {
  const shapes = await reference.routeShapes(event.routeId);
  if (!shapes || shapes.size === 0) return undefined;
  const tripShapeId = event.tripId ? await reference.tripShapeId(event.tripId) : undefined;
  return chooseShape(event, shapes, tripShapeId, previous);
}

/**
 * The pure part of {@link shapeFor}: the shape of `shapes` (the route's, undefined or empty for a route
 * the reference data does not know) a fix runs on, given its trip's shape id (undefined without a trip,
 * or for a trip whose shape is not known) and the vehicle's previous state.
 */
export function chooseShape(
  event: VehiclePosition,
  shapes: ReadonlyMap<string, ShapeRef> | undefined,
  tripShapeId: string | undefined,
  previous: VehicleState | undefined,
): ShapeRef | undefined {
  if (!shapes || shapes.size === 0) return undefined;
  const tripShape = event.tripId ? shapes.get(tripShapeId ?? '') : undefined;
  if (tripShape) return tripShape;
  const heading = travelHeading(event, previous);
  let best: ShapeRef | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const shape of shapes.values()) {
    const score = shapeScore(event, shape, heading);
    if (score < bestScore) [best, bestScore] = [shape, score];
  }
  const kept = previous?.routeId === event.routeId && previous.shapeId ? shapes.get(previous.shapeId) : undefined;
  if (kept && kept !== best && shapeScore(event, kept, heading) <= bestScore + HYSTERESIS_M) return kept;
  return best;
}
