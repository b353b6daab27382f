/**
 * The simulator's workload: a pure, seeded function from options to the ordered list of emissions
 * (what to send, when, and why). Vehicles drive GTFS shapes with bus-like kinematics; duplicates,
 * out-of-order, late and invalid events and four kinds of anomaly are injected at requested rates
 * and recorded, so tests can assert the pipeline found each of them.
 *
 * Nothing here does I/O or reads the clock (except the documented `startTime` default), so the
 * same options give the same emissions byte for byte.
 */
import type { LatLon, ShapePoint } from '../../pipelines/transit/geo.js';
import {
  bearingDeg,
  haversineMeters,
  pointAlongShape,
  projectOntoShape,
  shapeLength,
} from '../../pipelines/transit/geo.js';
import type { GtfsFeed, StopOnShape } from '../../pipelines/transit/gtfs/parse-feed.js';
import type { AnomalyType } from '../../pipelines/transit/model.js';
import { TRANSIT_SETTINGS } from '../../pipelines/transit/settings.js';
import { EVENT_TIME_SETTINGS } from '../../shared/settings.js';
import { SeededRandom } from './random.js';
import type { Delivery } from './senders.js';

export type AnomalyKind = 'speeding' | 'stall' | 'jump' | 'off-route';

export type EmissionKind =
  | 'normal'
  | 'duplicate'
  | 'out-of-order'
  | 'late'
  | 'invalid'
  | 'anomaly-speeding'
  | 'anomaly-stall'
  | 'anomaly-jump'
  | 'anomaly-off-route';

export const EMISSION_KINDS: readonly EmissionKind[] = [
  'normal',
  'duplicate',
  'out-of-order',
  'late',
  'invalid',
  'anomaly-speeding',
  'anomaly-stall',
  'anomaly-jump',
  'anomaly-off-route',
];

export type InvalidReason =
  | 'missing-vehicleId'
  | 'missing-routeId'
  | 'lat-out-of-range'
  | 'lon-out-of-range'
  | 'negative-speed'
  | 'heading-out-of-range'
  | 'non-numeric-ts'
  | 'speed-not-a-number'
  | 'not-an-object';

export const INVALID_REASONS: readonly InvalidReason[] = [
  'missing-vehicleId',
  'missing-routeId',
  'lat-out-of-range',
  'lon-out-of-range',
  'negative-speed',
  'heading-out-of-range',
  'non-numeric-ts',
  'speed-not-a-number',
  'not-an-object',
];

/** One event to send, `sendAtMs` after the start of the run, keyed (`key`) by its vehicle. */
export interface Emission extends Delivery {
  /** The event as sent: a `VehiclePosition` object, except for some `invalid` ones. */
  event: unknown;
  kind: EmissionKind;
  /** The vehicle it came from (also for invalid events that lost their vehicleId). */
  vehicleId: string;
  invalidReason?: InvalidReason;
}

/** An injected anomaly: which vehicle, and the event-time span the pipeline should flag. */
export interface InjectedAnomaly {
  kind: AnomalyKind;
  /** The `Anomaly.type` the processor is expected to produce. */
  expectedType: AnomalyType;
  vehicleId: string;
  routeId: string;
  tripId: string;
  startTs: number;
  endTs: number;
}

/** One shape a simulated vehicle can drive, with the trips that run it. */
export interface SimShape {
  shapeId: string;
  directionId: number;
  points: ShapePoint[];
  stops: StopOnShape[];
  tripIds: string[];
}

export interface SimRoute {
  routeId: string;
  /** Ordered by direction: a vehicle finishing shapes[i] continues on shapes[i + 1] (wrapping). */
  shapes: SimShape[];
}

/** The routes vehicles are assigned to, round-robin. */
export interface SimNetwork {
  routes: SimRoute[];
}

export interface WorkloadOptions {
  network: SimNetwork;
  /** Number of vehicles, ids `V0001`, `V0002`, … @default 10 */
  vehicles?: number;
  /** Fixes per second per vehicle. @default 1 */
  rate?: number;
  /** Event-time length of the run; 0 = endless (only with {@link createWorkload}). @default 5 */
  minutes?: number;
  /** Event time of the first fix (epoch ms). @default Date.now() */
  startTime?: number;
  /** @default 42 */
  seed?: number;
  /** Fraction of events sent without eventId (the pipeline derives one from the content). @default 0.05 */
  omitEventId?: number;
  /** Per normal fix: probability of re-sending it identically 1-5 s later. @default 0 */
  duplicates?: number;
  /** Per normal fix: probability of sending it 2-15 s late, after newer fixes of its vehicle. @default 0 */
  outOfOrder?: number;
  /** Per normal fix: probability of also sending an old fix, beyond window + allowed lateness. @default 0 */
  late?: number;
  /** Per normal fix: probability of also sending an invalid event. @default 0 */
  invalid?: number;
  /** Anomalies to inject: true = one of each kind per run (or per cycle when endless). @default false */
  anomalies?: boolean | Partial<Record<AnomalyKind, number>>;
  /** The processor's STALL_MINUTES; a stall lasts one minute longer. @default 5 */
  stallMinutes?: number;
  /** The processor's WINDOW_SIZE_SECONDS × 1000. @default 60000 */
  windowSizeMs?: number;
  /** The processor's ALLOWED_LATENESS_SECONDS × 1000. @default 120000 */
  allowedLatenessMs?: number;
  /** Endless runs repeat the anomaly plan every this many minutes. @default 15 */
  anomalyCycleMinutes?: number;
}

export interface WorkloadSummary {
  seed: number;
  startTime: number;
  /** Event time the run ends (exclusive), or null when endless. */
  endTime: number | null;
  vehicles: number;
  routes: string[];
  emitted: number;
  byKind: Record<EmissionKind, number>;
  eventIdOmitted: number;
  invalidByReason: Partial<Record<InvalidReason, number>>;
  anomalies: InjectedAnomaly[];
  /** Anomalies that did not fit the run (e.g. a stall in a run shorter than stallMinutes + 1). */
  skippedAnomalies: string[];
}

/** A lazily generated workload; `summary` counts what has been generated so far. */
export interface WorkloadStream {
  emissions: Generator<Emission, void, undefined>;
  summary: WorkloadSummary;
}

/** The routes of a parsed feed with their shapes and trips, ready for {@link WorkloadOptions.network}. */
export function simNetworkFromFeed(feed: GtfsFeed): SimNetwork {
  const tripIds = new Map<string, string[]>();
  for (const trip of feed.trips.values()) {
    const key = `${trip.routeId}\u0000${trip.shapeId}`;
    tripIds.set(key, [...(tripIds.get(key) ?? []), trip.tripId]);
  }
  const routes = new Map<string, SimRoute>();
  for (const rs of feed.routeShapes) {
    // Too short to drive: a vehicle would spend its life turning around.
    if (shapeLength(rs.points) < 200) continue;
    const route = routes.get(rs.routeId) ?? { routeId: rs.routeId, shapes: [] };
    route.shapes.push({
      shapeId: rs.shapeId,
      directionId: rs.directionId,
      points: rs.points,
      stops: rs.stops,
      tripIds: [...(tripIds.get(`${rs.routeId}\u0000${rs.shapeId}`) ?? [])].sort(),
    });
    routes.set(rs.routeId, route);
  }
  return { routes: [...routes.values()] };
}

const EXPECTED_TYPE: Record<AnomalyKind, AnomalyType> = {
  speeding: 'speed-zscore',
  stall: 'stalled',
  jump: 'impossible-jump',
  'off-route': 'off-route',
};

const ACCEL_MS2 = 1.0;
const DECEL_MS2 = 1.3;
const MIN_CRUISE_MS = 15 / 3.6;
const MAX_CRUISE_MS = 50 / 3.6;
/** ~3x a city bus's usual cruise. */
const SPEEDING_MS = 100 / 3.6;
const SPEEDING_MS_DURATION = 60_000;
const OFF_ROUTE_M = 450;
const OFF_ROUTE_LEG_MS = 30_000;
const JUMP_M = 5_000;
const GPS_NOISE_M = 1.5;
const HISTORY_MS = 10 * 60_000;

interface Snapshot {
  ts: number;
  tripId: string;
  lat: number;
  lon: number;
  speedKmh: number;
  headingDeg: number;
  occupancy: number | undefined;
  accuracyM: number;
}

interface OffRoutePlan {
  start: LatLon;
  waypoints: LatLon[];
  legStartTs: number;
}

interface Vehicle {
  id: string;
  index: number;
  route: SimRoute;
  slot: number;
  shapeIdx: number;
  trips: number;
  tripId: string;
  distM: number;
  speedMs: number;
  baseCruiseMs: number;
  legCruiseMs: number;
  nextStop: number;
  mode: 'drive' | 'dwell' | 'stall' | 'off-route';
  until: number;
  phaseMs: number;
  occupancy: number | undefined;
  history: Snapshot[];
  lastTs: number;
  speedingUntil: number;
  offRoute: OffRoutePlan | undefined;
  anomaly: InjectedAnomaly | undefined;
}

interface PlannedAnomaly {
  kind: AnomalyKind;
  vehicle: number;
  atTs: number;
}

const round = (v: number, decimals: number) => Math.round(v * 10 ** decimals) / 10 ** decimals;

/** Moves a point `meters` along a bearing (flat approximation, fine for a few km). */
function offsetPoint(p: LatLon, bearing: number, meters: number): LatLon {
  const rad = (bearing * Math.PI) / 180;
  return {
    lat: p.lat + ((meters * Math.cos(rad)) / 6_371_008.8) * (180 / Math.PI),
    lon: p.lon + ((meters * Math.sin(rad)) / (6_371_008.8 * Math.cos((p.lat * Math.PI) / 180))) * (180 / Math.PI),
  };
}

/** Creates the workload lazily; emissions come out in `sendAtMs` order. Endless when `minutes` is 0. */
export function createWorkload(options: WorkloadOptions): WorkloadStream {
  const routes = options.network.routes.filter((r) => r.shapes.length > 0);
  if (routes.length === 0) throw new RangeError('the network has no drivable route');
  const seed = options.seed ?? 42;
  const vehicleCount = options.vehicles ?? 10;
  const rate = options.rate ?? 1;
  if (!(rate > 0)) throw new RangeError('rate must be positive');
  const minutes = options.minutes ?? 5;
  const startTime = options.startTime ?? Date.now();
  const durationMs = minutes * 60_000;
  const endTime = minutes > 0 ? startTime + durationMs : null;
  const intervalMs = 1000 / rate;
  // The processor's defaults, from the settings it reads.
  const windowSizeMs = options.windowSizeMs ?? TRANSIT_SETTINGS.windowSize.default * 1000;
  const allowedLatenessMs = options.allowedLatenessMs ?? EVENT_TIME_SETTINGS.allowedLateness.default * 1000;
  const stallMs = ((options.stallMinutes ?? TRANSIT_SETTINGS.stall.default) + 1) * 60_000;
  const rates = {
    omit: options.omitEventId ?? 0.05,
    duplicates: options.duplicates ?? 0,
    outOfOrder: options.outOfOrder ?? 0,
    late: options.late ?? 0,
    invalid: options.invalid ?? 0,
  };
  const anomalyCounts: Record<AnomalyKind, number> =
    options.anomalies === true
      ? { speeding: 1, stall: 1, jump: 1, 'off-route': 1 }
      : {
          speeding: 0,
          stall: 0,
          jump: 0,
          'off-route': 0,
          ...(typeof options.anomalies === 'object' ? options.anomalies : {}),
        };

  const rng = new SeededRandom(seed);
  const summary: WorkloadSummary = {
    seed,
    startTime,
    endTime,
    vehicles: vehicleCount,
    routes: routes.map((r) => r.routeId),
    emitted: 0,
    byKind: Object.fromEntries(EMISSION_KINDS.map((k) => [k, 0])) as Record<EmissionKind, number>,
    eventIdOmitted: 0,
    invalidByReason: {},
    anomalies: [],
    skippedAnomalies: [],
  };

  const vehicles: Vehicle[] = Array.from({ length: vehicleCount }, (_, i) => {
    const route = routes[i % routes.length]!;
    const slot = Math.floor(i / routes.length);
    const shapeIdx = slot % route.shapes.length;
    const shape = route.shapes[shapeIdx]!;
    // Spread the vehicles of a route along its shapes instead of starting them all at the terminal.
    const distM = (((slot * 0.382 + rng.range(0, 0.1)) % 1) * shapeLength(shape.points)) / 1.05;
    const baseCruiseMs = rng.range(28, 40) / 3.6;
    const vehicle: Vehicle = {
      id: `V${String(i + 1).padStart(4, '0')}`,
      index: i,
      route,
      slot,
      shapeIdx,
      trips: 0,
      tripId: '',
      distM,
      speedMs: baseCruiseMs * 0.6,
      baseCruiseMs,
      legCruiseMs: baseCruiseMs,
      nextStop: shape.stops.findIndex((s) => s.distM > distM + 1),
      mode: 'drive',
      until: 0,
      phaseMs: Math.floor(rng.range(0, Math.min(intervalMs, 1000))),
      // Some buses have no passenger counter; they never send occupancy.
      occupancy: rng.chance(0.85) ? rng.int(0, 40) : undefined,
      history: [],
      lastTs: startTime,
      speedingUntil: 0,
      offRoute: undefined,
      anomaly: undefined,
    };
    vehicle.tripId = tripIdFor(vehicle);
    if (vehicle.nextStop < 0) vehicle.nextStop = shape.stops.length;
    return vehicle;
  });

  function tripIdFor(v: Vehicle): string {
    const shape = v.route.shapes[v.shapeIdx]!;
    if (shape.tripIds.length === 0) return `${shape.shapeId}-SIM-${v.id}-${v.trips}`;
    const perRoute = Math.ceil(vehicleCount / routes.length);
    return shape.tripIds[(v.slot + v.trips * perRoute) % shape.tripIds.length]!;
  }

  // --- anomaly plan -----------------------------------------------------------------------------
  const cycleMs =
    endTime === null ? Math.max((options.anomalyCycleMinutes ?? 15) * 60_000, stallMs + 4 * 60_000) : durationMs;
  const plannedCycles = new Set<number>();
  const plan: PlannedAnomaly[] = [];

  function planCycle(cycle: number) {
    if (plannedCycles.has(cycle)) return;
    plannedCycles.add(cycle);
    const cycleStart = startTime + cycle * cycleMs;
    const kinds = (Object.keys(anomalyCounts) as AnomalyKind[]).flatMap((k) =>
      Array.from({ length: anomalyCounts[k] }, (_, n) => ({ kind: k, n })),
    );
    // Distinct vehicles where possible, so one anomaly does not mask another.
    const order = Array.from({ length: vehicleCount }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    kinds.forEach(({ kind, n }, i) => {
      const vehicle = order[i % order.length]!;
      const stagger = n * 20_000;
      // Speeding and jumps come after a couple of minutes of normal traffic, so the pipeline has a baseline.
      const offset = {
        stall: 30_000 + stagger,
        speeding: Math.max(120_000, cycleMs * 0.4) + stagger,
        jump: Math.max(90_000, cycleMs * 0.5) + stagger,
        'off-route': Math.max(60_000, cycleMs * 0.6) + stagger,
      }[kind];
      const needs = {
        stall: stallMs + 60_000,
        speeding: SPEEDING_MS_DURATION,
        jump: 10_000,
        'off-route': 3 * OFF_ROUTE_LEG_MS + 30_000,
      }[kind];
      if (offset + needs > cycleMs) {
        summary.skippedAnomalies.push(`${kind}: needs ${Math.ceil((offset + needs) / 60_000)} minutes of run`);
        return;
      }
      plan.push({ kind, vehicle, atTs: cycleStart + offset });
    });
  }

  // --- kinematics -------------------------------------------------------------------------------
  function startAnomaly(v: Vehicle, kind: AnomalyKind, ts: number, endTs: number) {
    v.anomaly = {
      kind,
      expectedType: EXPECTED_TYPE[kind],
      vehicleId: v.id,
      routeId: v.route.routeId,
      tripId: v.tripId,
      startTs: ts,
      endTs,
    };
    summary.anomalies.push(v.anomaly);
  }

  function turnAround(v: Vehicle) {
    v.shapeIdx = (v.shapeIdx + 1) % v.route.shapes.length;
    v.trips++;
    v.tripId = tripIdFor(v);
    v.distM = 0;
    const shape = v.route.shapes[v.shapeIdx]!;
    v.nextStop = shape.stops.findIndex((s) => s.distM > 1);
    if (v.nextStop < 0) v.nextStop = shape.stops.length;
  }

  /** Advances one vehicle by `dtMs` of event time ending at `ts`, in steps of at most a second. */
  function advance(v: Vehicle, toTs: number) {
    let t = v.lastTs;
    while (t < toTs) {
      const step = Math.min(1000, toTs - t);
      t += step;
      stepVehicle(v, step / 1000, t);
    }
    v.lastTs = toTs;
  }

  function stepVehicle(v: Vehicle, dt: number, t: number) {
    const shape = v.route.shapes[v.shapeIdx]!;
    const length = shapeLength(shape.points);
    const speeding = t < v.speedingUntil;
    if (v.mode === 'off-route') return;
    if (v.mode === 'stall' || (v.mode === 'dwell' && !speeding)) {
      v.speedMs = 0;
      // A stall still holds at its last instant, so the episode's final fix is as still as the rest.
      if (t < v.until || (v.mode === 'stall' && t === v.until)) return;
      if (v.mode === 'dwell' && v.distM >= length - 0.5) turnAround(v);
      v.legCruiseMs = Math.min(MAX_CRUISE_MS, Math.max(MIN_CRUISE_MS, v.baseCruiseMs * rng.range(0.8, 1.25)));
    }
    v.mode = 'drive';
    const stop = shape.stops[v.nextStop];
    const targetDist = stop ? stop.distM : length;
    const toGo = targetDist - v.distM;
    let target = speeding ? SPEEDING_MS : v.legCruiseMs;
    // Brake so as to stop at the stop (or terminal): v² = 2·a·d, with a crawl for the last metres.
    if (!speeding) target = Math.min(target, Math.max(1.5, Math.sqrt(2 * DECEL_MS2 * Math.max(0, toGo - 1))));
    const accel = speeding ? 3 : ACCEL_MS2;
    const dv = Math.max(-DECEL_MS2 * 1.5 * dt, Math.min(accel * dt, target - v.speedMs));
    v.speedMs = Math.max(0, v.speedMs + dv);
    const move = v.speedMs * dt;
    if (move < toGo - 0.5) {
      v.distM += move;
      return;
    }
    // Reached the stop or the terminal.
    v.distM = targetDist;
    if (stop) v.nextStop++;
    const terminal = !stop || v.distM >= length - 0.5;
    if (speeding) {
      if (v.distM >= length - 0.5) turnAround(v);
      return;
    }
    v.speedMs = 0;
    v.mode = 'dwell';
    v.until = t + (terminal ? rng.range(20_000, 60_000) : rng.range(10_000, 40_000));
    if (v.occupancy !== undefined)
      v.occupancy = terminal ? rng.int(0, 8) : Math.max(0, Math.min(90, v.occupancy + rng.int(-8, 10)));
  }

  function farFromStops(v: Vehicle, meters: number): boolean {
    const shape = v.route.shapes[v.shapeIdx]!;
    const length = shapeLength(shape.points);
    if (v.distM < meters || v.distM > length - meters) return false;
    return shape.stops.every((s) => Math.abs(s.distM - v.distM) > meters);
  }

  /** An out-and-back detour more than OFF_ROUTE_M from every point of the shape, or undefined if none fits here. */
  function planDetour(v: Vehicle, ts: number): OffRoutePlan | undefined {
    const shape = v.route.shapes[v.shapeIdx]!;
    const here = pointAlongShape(shape.points, v.distM);
    const start = { lat: here.lat, lon: here.lon };
    for (const side of [90, -90]) {
      const out = offsetPoint(start, here.headingDeg + side, OFF_ROUTE_M);
      const along = offsetPoint(out, here.headingDeg, 300);
      const clear = [out, along].every((p) => projectOntoShape(p, shape.points).offsetM > 350);
      if (clear) return { start, waypoints: [out, along, start], legStartTs: ts };
    }
    return undefined;
  }

  // --- emissions --------------------------------------------------------------------------------
  let seq = 0;
  const pending: { e: Emission; seq: number }[] = [];
  const push = (e: Omit<Emission, 'key'>) => {
    pending.push({ e: { ...e, key: e.vehicleId }, seq: seq++ });
  };

  function snapshot(v: Vehicle, ts: number): Snapshot {
    const shape = v.route.shapes[v.shapeIdx]!;
    const p = pointAlongShape(shape.points, v.distM);
    const noisy = v.mode === 'stall' ? 0 : GPS_NOISE_M;
    const ahead = offsetPoint(p, rng.range(0, 360), Math.abs(rng.normal()) * noisy);
    return {
      ts,
      tripId: v.tripId,
      lat: ahead.lat,
      lon: ahead.lon,
      // Speedometers wobble; a perfectly constant speed would give the z-score a zero deviation.
      speedKmh: v.speedMs > 0.5 ? Math.max(0.5, v.speedMs * 3.6 + rng.normal() * 0.7) : 0,
      headingDeg: p.headingDeg,
      occupancy: v.occupancy,
      accuracyM: v.mode === 'stall' ? 3 : rng.int(3, 8),
    };
  }

  function toEvent(v: Vehicle, s: Snapshot, withId: boolean): Record<string, unknown> {
    return {
      ...(withId ? { eventId: rng.uuid() } : {}),
      vehicleId: v.id,
      routeId: v.route.routeId,
      tripId: s.tripId,
      lat: round(s.lat, 6),
      lon: round(s.lon, 6),
      speedKmh: round(s.speedKmh, 1),
      headingDeg: round(s.headingDeg, 1) % 360,
      ts: s.ts,
      ...(s.occupancy === undefined ? {} : { occupancy: s.occupancy }),
      accuracyM: s.accuracyM,
    };
  }

  function invalidVariant(valid: Record<string, unknown>): { event: unknown; reason: InvalidReason } {
    const reason = rng.pick(INVALID_REASONS);
    const event: Record<string, unknown> = { ...valid, eventId: rng.uuid() };
    switch (reason) {
      case 'missing-vehicleId':
        delete event['vehicleId'];
        break;
      case 'missing-routeId':
        delete event['routeId'];
        break;
      case 'lat-out-of-range':
        event['lat'] = round(rng.range(90.5, 120), 6) * (rng.chance(0.5) ? 1 : -1);
        break;
      case 'lon-out-of-range':
        event['lon'] = round(rng.range(180.5, 250), 6) * (rng.chance(0.5) ? 1 : -1);
        break;
      case 'negative-speed':
        event['speedKmh'] = -round(rng.range(1, 40), 1);
        break;
      case 'heading-out-of-range':
        event['headingDeg'] = round(rng.range(360, 720), 1);
        break;
      case 'non-numeric-ts':
        event['ts'] = rng.pick(['yesterday', 'not-a-time', '12:61:00']);
        break;
      case 'speed-not-a-number':
        event['speedKmh'] = rng.pick(['fast', '42 km/h']);
        break;
      case 'not-an-object':
        return { event: rng.pick(['not an event', [valid['vehicleId'], valid['lat'], valid['lon']], 42]), reason };
    }
    return { event, reason };
  }

  function emitFix(v: Vehicle, ts: number, sendAtMs: number) {
    // Anomaly episodes first: they replace the normal fix.
    const planned = plan.filter((p) => p.vehicle === v.index && p.atTs <= ts);
    for (const p of planned) {
      if (v.anomaly && v.anomaly.endTs > ts) continue; // one episode at a time; try again next fix
      if (p.kind === 'stall' && (v.mode !== 'drive' || !farFromStops(v, 150))) continue;
      if (p.kind === 'off-route') {
        if (v.mode !== 'drive' || !farFromStops(v, 60)) continue;
        v.offRoute = planDetour(v, ts);
        if (!v.offRoute) continue;
        v.mode = 'off-route';
        startAnomaly(v, 'off-route', ts, ts + 3 * OFF_ROUTE_LEG_MS);
      } else if (p.kind === 'stall') {
        v.mode = 'stall';
        v.speedMs = 0;
        v.until = ts + stallMs;
        startAnomaly(v, 'stall', ts, v.until);
      } else if (p.kind === 'speeding') {
        v.speedingUntil = ts + SPEEDING_MS_DURATION;
        startAnomaly(v, 'speeding', ts, v.speedingUntil);
      } else {
        startAnomaly(v, 'jump', ts, ts);
      }
      plan.splice(plan.indexOf(p), 1);
    }
    // A speeding episode lasts until the bus is back under a normal cruise speed, so no normal fix is too fast.
    if (v.anomaly?.kind === 'speeding' && ts > v.anomaly.endTs && v.speedMs > MAX_CRUISE_MS) v.anomaly.endTs = ts;
    const inAnomaly = v.anomaly && ts <= v.anomaly.endTs ? v.anomaly : undefined;

    if (inAnomaly?.kind === 'off-route' && v.offRoute) {
      const { waypoints, legStartTs, start } = v.offRoute;
      const elapsed = ts - legStartTs;
      const leg = Math.min(2, Math.floor(elapsed / OFF_ROUTE_LEG_MS));
      const from = leg === 0 ? start : waypoints[leg - 1]!;
      const to = waypoints[leg]!;
      const f = Math.min(1, (elapsed - leg * OFF_ROUTE_LEG_MS) / OFF_ROUTE_LEG_MS);
      const at = { lat: from.lat + f * (to.lat - from.lat), lon: from.lon + f * (to.lon - from.lon) };
      const event = toEvent(
        v,
        {
          ts,
          tripId: v.tripId,
          ...at,
          speedKmh: (haversineMeters(from, to) / (OFF_ROUTE_LEG_MS / 1000)) * 3.6,
          headingDeg: bearingDeg(from, to),
          occupancy: v.occupancy,
          accuracyM: 5,
        },
        true,
      );
      if (elapsed >= 3 * OFF_ROUTE_LEG_MS) {
        v.mode = 'drive';
        v.offRoute = undefined;
      }
      push({ sendAtMs, event, kind: 'anomaly-off-route', vehicleId: v.id });
      return;
    }

    const s = snapshot(v, ts);
    if (inAnomaly?.kind === 'jump') {
      const far = offsetPoint(s, rng.range(0, 360), JUMP_M);
      push({ sendAtMs, event: toEvent(v, { ...s, ...far }, true), kind: 'anomaly-jump', vehicleId: v.id });
      return;
    }
    if (inAnomaly) {
      const kind = inAnomaly.kind === 'stall' ? 'anomaly-stall' : 'anomaly-speeding';
      push({ sendAtMs, event: toEvent(v, s, true), kind, vehicleId: v.id });
      return;
    }

    v.history.push(s);
    while (v.history.length > 0 && v.history[0]!.ts < ts - HISTORY_MS) v.history.shift();
    const omit = rng.chance(rates.omit);
    const event = toEvent(v, s, !omit);
    if (rng.chance(rates.outOfOrder)) {
      push({ sendAtMs: sendAtMs + rng.int(2_000, 15_000), event, kind: 'out-of-order', vehicleId: v.id });
    } else {
      push({ sendAtMs, event, kind: 'normal', vehicleId: v.id });
    }
    if (rng.chance(rates.duplicates)) {
      push({
        sendAtMs: sendAtMs + rng.int(1_000, 5_000),
        event: structuredClone(event),
        kind: 'duplicate',
        vehicleId: v.id,
      });
    }
    if (rng.chance(rates.late)) {
      // Far enough back that the fix's whole window closed (end + allowed lateness) before the vehicle's current time.
      const lateTs = ts - windowSizeMs - allowedLatenessMs - rng.int(15_000, 60_000);
      const old = v.history.find((h) => h.ts >= lateTs) ?? v.history[0]!;
      push({ sendAtMs: sendAtMs + 1, event: toEvent(v, { ...old, ts: lateTs }, true), kind: 'late', vehicleId: v.id });
    }
    if (rng.chance(rates.invalid)) {
      const { event: bad, reason } = invalidVariant(event);
      push({ sendAtMs: sendAtMs + 2, event: bad, kind: 'invalid', vehicleId: v.id, invalidReason: reason });
    }
  }

  function* run(): Generator<Emission, void, undefined> {
    for (let tick = 0; ; tick++) {
      const tickStart = startTime + tick * intervalMs;
      if (endTime !== null && tickStart >= endTime) break;
      planCycle(Math.floor((tickStart - startTime) / cycleMs));
      for (const v of vehicles) {
        const ts = Math.round(tickStart + v.phaseMs);
        if (endTime !== null && ts >= endTime) continue;
        advance(v, ts);
        emitFix(v, ts, ts - startTime);
      }
      // Later ticks only add emissions at or after the next tick's start, so everything before it is final.
      const horizon = tickStart + intervalMs - startTime;
      yield* flush(horizon);
    }
    yield* flush(Number.POSITIVE_INFINITY);
    for (const p of plan)
      summary.skippedAnomalies.push(`${p.kind}: vehicle ${vehicles[p.vehicle]!.id} found no place for it`);
  }

  function* flush(beforeMs: number): Generator<Emission, void, undefined> {
    pending.sort((a, b) => a.e.sendAtMs - b.e.sendAtMs || a.seq - b.seq);
    let n = 0;
    while (n < pending.length && pending[n]!.e.sendAtMs < beforeMs) n++;
    for (const { e } of pending.splice(0, n)) {
      summary.emitted++;
      summary.byKind[e.kind]++;
      if (e.invalidReason)
        summary.invalidByReason[e.invalidReason] = (summary.invalidByReason[e.invalidReason] ?? 0) + 1;
      if (e.kind !== 'invalid' && !('eventId' in (e.event as object))) summary.eventIdOmitted++;
      yield e;
    }
  }

  return { emissions: run(), summary };
}

/** The complete, ordered workload of a finite run (`minutes` > 0). */
export function generateWorkload(options: WorkloadOptions): { emissions: Emission[]; summary: WorkloadSummary } {
  if ((options.minutes ?? 5) <= 0)
    throw new RangeError('generateWorkload needs minutes > 0; use createWorkload for endless runs');
  const { emissions, summary } = createWorkload(options);
  return { emissions: [...emissions], summary };
}
