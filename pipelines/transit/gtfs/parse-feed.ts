/**
 * Parses a GTFS static feed into the small reference model the pipeline needs: routes, shapes with
 * cumulative distance in metres, the stops each route+shape serves (with their distance along it),
 * trips and stops. Files are streamed, and stop_times.txt is read twice (count, then collect only
 * one representative trip per route+shape), so a national feed with millions of stop times fits
 * in memory.
 *
 * `shapes.txt` is optional in GTFS. A trip without a usable shape (no shapes.txt, an empty shape_id, or
 * one shapes.txt lacks) runs on a shape derived from its stops: one per route and distinct stop
 * pattern, the stops' coordinates as the polyline. Only those trips' calls are kept from pass 1.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { type CastingContext, parse } from 'csv-parse';
import { idProblem } from '../../../shared/ids.js';
import { type LatLon, type ShapePoint, shapeLength, withCumulativeDistance } from '../geo.js';
import { projectStopsMonotone } from './stop-projection.js';

/** Malformed feed input; the message names the file, the line and the field. */
export class GtfsFeedError extends Error {
  override name = 'GtfsFeedError';

  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string | undefined,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${file}${line === undefined ? '' : ` line ${line}`}${field ? `, field ${field}` : ''}: ${reason}`, options);
  }
}

export interface GtfsRoute {
  routeId: string;
  shortName: string;
  longName: string;
  /** GTFS route_type (3 = bus). */
  routeType: number;
  agencyId?: string;
  color?: string;
}

export interface GtfsStop {
  stopId: string;
  name: string;
  lat: number;
  lon: number;
  /** Routes with at least one trip calling here, sorted. */
  routeIds: string[];
}

export interface GtfsTrip {
  tripId: string;
  routeId: string;
  shapeId: string;
  /** 0 = outbound, 1 = inbound (GTFS direction_id; 0 when the feed omits it). */
  directionId: number;
  serviceId: string;
  headsign?: string;
}

/** A stop served along a shape, at its distance from the shape's start. */
export interface StopOnShape {
  stopId: string;
  name: string;
  lat: number;
  lon: number;
  distM: number;
  /** 1-based order along the shape. */
  seq: number;
}

/** One shape a route runs, with the ordered stops of its longest trip. */
export interface GtfsRouteShape {
  routeId: string;
  shapeId: string;
  directionId: number;
  points: ShapePoint[];
  stops: StopOnShape[];
}

export interface GtfsFeed {
  routes: Map<string, GtfsRoute>;
  stops: Map<string, GtfsStop>;
  trips: Map<string, GtfsTrip>;
  /** Shapes used by at least one trip, with cumulative distance in metres. */
  shapes: Map<string, ShapePoint[]>;
  /** Ordered by route, then direction, then shape id. */
  routeShapes: GtfsRouteShape[];
  /** Shapes derived from stop sequences (trips without a usable shape), and the routes they belong to. */
  derived: { shapeIds: Set<string>; routeIds: Set<string> };
  /** Rows skipped as unusable (trips without shape, references to unknown ids), for the loader to print. */
  warnings: string[];
}

/** A feed directory, or file name → CSV text (tests and in-memory feeds). */
export type GtfsSource = string | Readonly<Record<string, string>>;

const MAX_WARNINGS = 50;

class Row {
  constructor(
    readonly file: string,
    readonly line: number,
    private readonly record: Record<string, string>,
  ) {}

  /** The trimmed value, or undefined when the column is absent or the cell empty. */
  get(field: string): string | undefined {
    const value = this.record[field];
    return value === undefined || value === '' ? undefined : value;
  }

  required(field: string): string {
    const value = this.get(field);
    if (value === undefined) throw new GtfsFeedError(this.file, this.line, field, 'is required but empty');
    return value;
  }

  /**
   * A required id that the API could not serve (shared/ids.ts: with "/", "#", "%" or control
   * characters) is reported and its row skipped: the rest of the feed still loads.
   */
  id(field: string, warnings: string[], skipped: { skipped: number }): string | undefined {
    const value = this.required(field);
    const problem = idProblem(value);
    if (problem === undefined) return value;
    warn(warnings, `${this.file} line ${this.line}: ${field} ${JSON.stringify(value)} ${problem}; skipped`, skipped);
    return undefined;
  }

  number(field: string, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): number {
    const value = this.optionalNumber(field, min, max);
    if (value === undefined) throw new GtfsFeedError(this.file, this.line, field, 'is required but empty');
    return value;
  }

  optionalNumber(field: string, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): number | undefined {
    const raw = this.get(field);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value))
      throw new GtfsFeedError(this.file, this.line, field, `expected a number, got "${raw}"`);
    if (value < min || value > max) {
      throw new GtfsFeedError(this.file, this.line, field, `must be within [${min}, ${max}], got ${value}`);
    }
    return value;
  }
}

function open(source: GtfsSource, file: string): Readable | undefined {
  if (typeof source === 'string') {
    const full = path.join(source, file);
    return existsSync(full) ? createReadStream(full) : undefined;
  }
  const text = source[file];
  return text === undefined ? undefined : Readable.from([text]);
}

/** Streams the rows of one file; checks the header for the required columns first. */
async function* rows(source: GtfsSource, file: string, requiredColumns: string[]): AsyncGenerator<Row> {
  const input = open(source, file);
  if (!input) {
    const where = typeof source === 'string' ? ` in ${source}` : '';
    throw new GtfsFeedError(file, undefined, undefined, `file is missing${where}`);
  }
  const parser = input.pipe(
    parse({
      bom: true,
      trim: true,
      skip_empty_lines: true,
      info: true,
      columns: (header: string[]) => {
        const names = header.map((h) => h.trim());
        for (const column of requiredColumns) {
          if (!names.includes(column)) throw new GtfsFeedError(file, 1, column, 'required column is missing');
        }
        return names;
      },
      // Keep every value a string; Row converts and range-checks with the line number at hand.
      cast: (value: string, _context: CastingContext) => value,
    }),
  );
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      yield new Row(file, item.info.lines, item.record);
    }
  } catch (error) {
    if (error instanceof GtfsFeedError) throw error;
    const line = (error as { lines?: number }).lines;
    const message = error instanceof Error ? error.message : String(error);
    throw new GtfsFeedError(file, line, undefined, `malformed CSV: ${message}`, { cause: error });
  } finally {
    input.destroy();
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function warn(warnings: string[], message: string, counter: { skipped: number }) {
  counter.skipped++;
  if (warnings.length < MAX_WARNINGS) warnings.push(message);
}

/** Maps a value in the feed's own shape_dist_traveled units onto metres along the shape. */
function feedUnitsToMeters(points: ShapePoint[], feedDist: number[], value: number): number {
  if (value <= feedDist[0]!) return points[0]![2];
  let lo = 0;
  let hi = feedDist.length - 1;
  if (value >= feedDist[hi]!) return points[hi]![2];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (feedDist[mid]! <= value) lo = mid;
    else hi = mid;
  }
  const span = feedDist[hi]! - feedDist[lo]!;
  const t = span === 0 ? 0 : (value - feedDist[lo]!) / span;
  return points[lo]![2] + t * (points[hi]![2] - points[lo]![2]);
}

/** Parses and cross-checks a GTFS feed. Throws {@link GtfsFeedError} for malformed input. */
export async function parseGtfsFeed(source: GtfsSource): Promise<GtfsFeed> {
  const warnings: string[] = [];
  const skipped = { skipped: 0 };

  /** Rows whose id breaks the id rule, skipped with a warning; rows that refer to them are skipped too. */
  const refused = { routes: new Set<string>(), stops: new Set<string>() };
  const routes = new Map<string, GtfsRoute>();
  for await (const row of rows(source, 'routes.txt', ['route_id', 'route_type'])) {
    const routeId = row.id('route_id', warnings, skipped);
    if (routeId === undefined) {
      refused.routes.add(row.required('route_id'));
      continue;
    }
    if (routes.has(routeId)) throw new GtfsFeedError(row.file, row.line, 'route_id', `duplicate route "${routeId}"`);
    const shortName = row.get('route_short_name') ?? '';
    const longName = row.get('route_long_name') ?? '';
    if (!shortName && !longName) {
      throw new GtfsFeedError(
        row.file,
        row.line,
        'route_short_name',
        'route_short_name or route_long_name is required',
      );
    }
    const agencyId = row.get('agency_id');
    const color = row.get('route_color');
    routes.set(routeId, {
      routeId,
      shortName,
      longName,
      routeType: row.number('route_type', 0, 1999),
      ...(agencyId ? { agencyId } : {}),
      ...(color ? { color } : {}),
    });
  }

  const stopRows = new Map<string, Omit<GtfsStop, 'routeIds'>>();
  for await (const row of rows(source, 'stops.txt', ['stop_id'])) {
    const locationType = row.optionalNumber('location_type', 0, 4) ?? 0;
    if (locationType !== 0) continue;
    const stopId = row.id('stop_id', warnings, skipped);
    if (stopId === undefined) {
      refused.stops.add(row.required('stop_id'));
      continue;
    }
    if (stopRows.has(stopId)) throw new GtfsFeedError(row.file, row.line, 'stop_id', `duplicate stop "${stopId}"`);
    stopRows.set(stopId, {
      stopId,
      name: row.get('stop_name') ?? stopId,
      lat: row.number('stop_lat', -90, 90),
      lon: row.number('stop_lon', -180, 180),
    });
  }

  const trips = new Map<string, GtfsTrip>();
  const knownTripIds = new Set<string>();
  for await (const row of rows(source, 'trips.txt', ['route_id', 'service_id', 'trip_id'])) {
    const tripId = row.id('trip_id', warnings, skipped);
    const routeId = row.required('route_id');
    if (tripId !== undefined && refused.routes.has(routeId)) {
      warn(
        warnings,
        `trips.txt line ${row.line}: trip "${tripId}" runs on skipped route "${routeId}"; skipped`,
        skipped,
      );
    }
    if (tripId === undefined || refused.routes.has(routeId)) {
      knownTripIds.add(row.required('trip_id'));
      continue;
    }
    if (!routes.has(routeId)) {
      throw new GtfsFeedError(row.file, row.line, 'route_id', `unknown route "${routeId}" (not in routes.txt)`);
    }
    if (knownTripIds.has(tripId)) throw new GtfsFeedError(row.file, row.line, 'trip_id', `duplicate trip "${tripId}"`);
    knownTripIds.add(tripId);
    // An empty shape_id is resolved below, from the trip's stops.
    const shapeId = row.get('shape_id') ?? '';
    const headsign = row.get('trip_headsign');
    trips.set(tripId, {
      tripId,
      routeId,
      shapeId,
      directionId: row.optionalNumber('direction_id', 0, 1) ?? 0,
      serviceId: row.required('service_id'),
      ...(headsign ? { headsign } : {}),
    });
  }
  const usedShapes = new Set([...trips.values()].map((t) => t.shapeId).filter(Boolean));

  const rawShapes = new Map<string, { seq: number; lat: number; lon: number; dist: number | undefined }[]>();
  const hasShapesFile =
    typeof source === 'string' ? existsSync(path.join(source, 'shapes.txt')) : 'shapes.txt' in source;
  const shapeRows = hasShapesFile
    ? rows(source, 'shapes.txt', ['shape_id', 'shape_pt_lat', 'shape_pt_lon', 'shape_pt_sequence'])
    : [];
  for await (const row of shapeRows) {
    const shapeId = row.required('shape_id');
    if (idProblem(shapeId) !== undefined) continue; // its trips get a shape derived from their stops (warned below)
    const point = {
      seq: row.number('shape_pt_sequence', 0),
      lat: row.number('shape_pt_lat', -90, 90),
      lon: row.number('shape_pt_lon', -180, 180),
      dist: row.optionalNumber('shape_dist_traveled', 0),
    };
    if (!usedShapes.has(shapeId)) continue;
    const list = getOrCreate(rawShapes, shapeId, () => []);
    list.push(point);
  }
  const shapes = new Map<string, ShapePoint[]>();
  const shapeFeedDist = new Map<string, number[]>();
  for (const [shapeId, list] of rawShapes) {
    list.sort((a, b) => a.seq - b.seq);
    const points = withCumulativeDistance(list);
    shapes.set(shapeId, points);
    const feedDist = list.map((p) => p.dist);
    // Feed distances are in the feed's own unit (often km or feet); only usable as a complete, monotonic scale.
    if (feedDist.every((d, i) => d !== undefined && (i === 0 || d >= feedDist[i - 1]!))) {
      shapeFeedDist.set(shapeId, feedDist as number[]);
    }
  }
  /** Trips whose shape is derived from their stops, with their calls (collected in pass 1). */
  const unshaped = new Map<string, { seq: number; stopId: string }[]>();
  for (const [tripId, trip] of trips) {
    if (shapes.has(trip.shapeId)) continue;
    if (trip.shapeId && hasShapesFile) {
      warn(
        warnings,
        `trips.txt: trip ${tripId} uses shape ${trip.shapeId}, which shapes.txt lacks; shape derived from its stops`,
        skipped,
      );
    }
    unshaped.set(tripId, []);
  }

  // Pass 1: how many stops each trip calls at, and which routes serve each stop.
  const stopTimeColumns = ['trip_id', 'stop_id', 'stop_sequence'];
  const callCount = new Map<string, number>();
  const stopRoutes = new Map<string, Set<string>>();
  for await (const row of rows(source, 'stop_times.txt', stopTimeColumns)) {
    const tripId = row.required('trip_id');
    const stopId = row.required('stop_id');
    row.number('stop_sequence', 0);
    const trip = trips.get(tripId);
    if (!trip) continue; // skipped above, or absent from trips.txt (reported in pass 2)
    if (refused.stops.has(stopId)) continue; // the stop was skipped (reported above)
    if (!stopRows.has(stopId)) {
      throw new GtfsFeedError(row.file, row.line, 'stop_id', `unknown stop "${stopId}" (not in stops.txt)`);
    }
    callCount.set(tripId, (callCount.get(tripId) ?? 0) + 1);
    const served = getOrCreate(stopRoutes, stopId, () => new Set());
    served.add(trip.routeId);
    unshaped.get(tripId)?.push({ seq: row.number('stop_sequence', 0), stopId });
  }
  const derived = deriveShapes(trips, unshaped, stopRows, shapes, warnings, skipped);
  // The trip with the most calls stands for its route+shape (ties: the first in trips.txt).
  const representative = new Map<string, string>();
  for (const trip of trips.values()) {
    const key = `${trip.routeId}\u0000${trip.shapeId}`;
    const current = representative.get(key);
    if (current === undefined || (callCount.get(trip.tripId) ?? 0) > (callCount.get(current) ?? 0)) {
      representative.set(key, trip.tripId);
    }
  }
  const wanted = new Set(representative.values());

  // Pass 2: the calls of the representative trips only.
  const calls = new Map<string, { seq: number; stopId: string; dist: number | undefined }[]>();
  for await (const row of rows(source, 'stop_times.txt', stopTimeColumns)) {
    const tripId = row.required('trip_id');
    if (!knownTripIds.has(tripId)) {
      warn(warnings, `stop_times.txt line ${row.line}: trip "${tripId}" is not in trips.txt; skipped`, skipped);
      continue;
    }
    if (!wanted.has(tripId) || refused.stops.has(row.required('stop_id'))) continue;
    const list = getOrCreate(calls, tripId, () => []);
    list.push({
      seq: row.number('stop_sequence', 0),
      stopId: row.required('stop_id'),
      dist: row.optionalNumber('shape_dist_traveled', 0),
    });
  }

  const routeShapes: GtfsRouteShape[] = [];
  for (const tripId of wanted) {
    const trip = trips.get(tripId)!;
    const points = shapes.get(trip.shapeId)!;
    const feedDist = shapeFeedDist.get(trip.shapeId);
    const length = shapeLength(points);
    const list = (calls.get(tripId) ?? []).sort((a, b) => a.seq - b.seq);
    const isDerived = derived.shapeIds.has(trip.shapeId);
    // A derived shape is made of these very stops (point i is call i); otherwise the feed's distances,
    // and where it has none, the monotone best fit of all the trip's stops at once.
    const needsFit = !isDerived && list.some((call) => call.dist === undefined || !feedDist);
    const fitted = needsFit
      ? projectStopsMonotone(
          list.map((call) => stopRows.get(call.stopId)!),
          points,
        )
      : [];
    let previous = 0;
    const stops = list.map((call, i): StopOnShape => {
      const stop = stopRows.get(call.stopId)!;
      const fromFeed = call.dist !== undefined && feedDist ? feedUnitsToMeters(points, feedDist, call.dist) : undefined;
      const own = isDerived ? points[i]![2] : (fromFeed ?? fitted[i]!);
      const distM = Math.min(length, Math.max(previous, own));
      previous = distM;
      return { stopId: stop.stopId, name: stop.name, lat: stop.lat, lon: stop.lon, distM, seq: i + 1 };
    });
    routeShapes.push({ routeId: trip.routeId, shapeId: trip.shapeId, directionId: trip.directionId, points, stops });
  }
  routeShapes.sort(
    (a, b) => a.routeId.localeCompare(b.routeId) || a.directionId - b.directionId || a.shapeId.localeCompare(b.shapeId),
  );

  const stops = new Map<string, GtfsStop>();
  for (const [stopId, stop] of stopRows) {
    stops.set(stopId, { ...stop, routeIds: [...(stopRoutes.get(stopId) ?? [])].sort() });
  }
  if (skipped.skipped > warnings.length) warnings.push(`… and ${skipped.skipped - warnings.length} more skipped rows`);
  return { routes, stops, trips, shapes, routeShapes, derived, warnings };
}

/**
 * Gives each trip in `unshaped` a shape made of its stops' coordinates, shared by every trip of the same
 * route with the same stop pattern. The id is a hash of route and pattern, so reloading the same feed
 * gives the same ids. Trips that call at fewer than two stops are dropped (nothing to run along).
 */
function deriveShapes(
  trips: Map<string, GtfsTrip>,
  unshaped: Map<string, { seq: number; stopId: string }[]>,
  stopRows: Map<string, LatLon>,
  shapes: Map<string, ShapePoint[]>,
  warnings: string[],
  skipped: { skipped: number },
): GtfsFeed['derived'] {
  const derived: GtfsFeed['derived'] = { shapeIds: new Set(), routeIds: new Set() };
  const tooShort: string[] = [];
  for (const [tripId, calls] of unshaped) {
    const trip = trips.get(tripId)!;
    if (calls.length < 2) {
      tooShort.push(tripId);
      trips.delete(tripId);
      continue;
    }
    const stopIds = calls.sort((a, b) => a.seq - b.seq).map((c) => c.stopId);
    const hash = createHash('sha256')
      .update(JSON.stringify([trip.routeId, stopIds]))
      .digest('hex')
      .slice(0, 12);
    const shapeId = `derived-${hash}`;
    trip.shapeId = shapeId;
    if (!shapes.has(shapeId)) shapes.set(shapeId, withCumulativeDistance(stopIds.map((id) => stopRows.get(id)!)));
    derived.shapeIds.add(shapeId);
    derived.routeIds.add(trip.routeId);
  }
  if (tooShort.length > 0) {
    // One line, not one per trip: trimmed feeds often list many trips without stop times.
    const examples = tooShort.slice(0, 3).join(', ');
    warn(
      warnings,
      `trips.txt: ${tooShort.length} trips have no shape and fewer than 2 stop times (${examples}${tooShort.length > 3 ? ', …' : ''}); skipped`,
      skipped,
    );
  }
  return derived;
}
