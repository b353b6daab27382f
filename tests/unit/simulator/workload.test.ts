import { beforeAll, describe, expect, it } from 'vitest';
import {
  createWorkload,
  type Emission,
  generateWorkload,
  type SimNetwork,
  simNetworkFromFeed,
  type WorkloadOptions,
  type WorkloadSummary,
} from '../../../local/simulator/workload.js';
import { haversineMeters, projectOntoShape, type ShapePoint } from '../../../pipelines/transit/geo.js';
import { syntheticCity } from '../../events/gtfs-feeds.js';
import { positionProblems } from '../../events/vehicle-position.js';

const START = Date.UTC(2025, 0, 6, 8, 0, 0);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
type Event = {
  eventId?: string;
  vehicleId: string;
  tripId: string;
  lat: number;
  lon: number;
  speedKmh: number;
  ts: number;
};

let network: SimNetwork;
let shapeOfTrip: Map<string, ShapePoint[]>;
let stopsOfTrip: Map<string, number[]>;
const options = (overrides: Partial<WorkloadOptions> = {}): WorkloadOptions => ({
  network,
  vehicles: 12,
  minutes: 3,
  startTime: START,
  seed: 42,
  ...overrides,
});

// One busy run shared by the assertions on injected faults: 30 buses for 12 minutes.
let run: { emissions: Emission[]; summary: WorkloadSummary };
const RATE = 0.02;

beforeAll(async () => {
  const feed = await syntheticCity();
  network = simNetworkFromFeed(feed);
  const shapes = new Map(network.routes.flatMap((r) => r.shapes.map((s) => [s.shapeId, s] as const)));
  shapeOfTrip = new Map([...feed.trips.values()].map((t) => [t.tripId, shapes.get(t.shapeId)!.points]));
  stopsOfTrip = new Map(
    [...feed.trips.values()].map((t) => [t.tripId, shapes.get(t.shapeId)!.stops.map((s) => s.distM)]),
  );
  run = generateWorkload(
    options({
      vehicles: 30,
      minutes: 12,
      seed: 11,
      duplicates: RATE,
      outOfOrder: RATE,
      late: RATE,
      invalid: RATE,
      omitEventId: 0.1,
      anomalies: true,
    }),
  );
});

const ofKind = (kind: Emission['kind']) => run.emissions.filter((e) => e.kind === kind);
const event = (e: Emission) => e.event as Event;
const offShape = (e: Event) => projectOntoShape(e, shapeOfTrip.get(e.tripId)!);

describe('generateWorkload', () => {
  it('is reproducible: the same seed gives identical emissions', () => {
    expect(generateWorkload(options())).toEqual(generateWorkload(options()));
  });

  it('differs for a different seed', () => {
    const a = generateWorkload(options()).emissions.map((e) => e.event);
    const b = generateWorkload(options({ seed: 43 })).emissions.map((e) => e.event);

    expect(b).not.toEqual(a);
  });

  it('emits each vehicle at the requested rate for the requested minutes, in send order', () => {
    const { emissions, summary } = generateWorkload(options({ vehicles: 5, rate: 2, minutes: 2 }));

    expect(emissions).toHaveLength(5 * 2 * 120);
    expect(summary.byKind.normal).toBe(5 * 2 * 120);
    expect(new Set(emissions.map((e) => e.vehicleId))).toEqual(new Set(['V0001', 'V0002', 'V0003', 'V0004', 'V0005']));
    for (let i = 1; i < emissions.length; i++) {
      expect(emissions[i]!.sendAtMs).toBeGreaterThanOrEqual(emissions[i - 1]!.sendAtMs);
    }
    const ts = emissions.map((e) => event(e).ts);
    expect(Math.min(...ts)).toBeGreaterThanOrEqual(START);
    expect(Math.max(...ts)).toBeLessThan(START + 120_000);
  });

  it('assigns vehicles to routes round-robin', () => {
    const { emissions } = generateWorkload(options({ vehicles: 9, minutes: 1 }));
    const routeOf = new Map(emissions.map((e) => [e.vehicleId, (e.event as { routeId: string }).routeId]));

    expect(routeOf.get('V0001')).toBe(network.routes[0]!.routeId);
    expect(routeOf.get('V0002')).toBe(network.routes[1]!.routeId);
    expect(routeOf.get('V0009')).toBe(network.routes[8 % network.routes.length]!.routeId);
  });

  it('keeps normal fixes within 15 m of their trip shape', () => {
    for (const e of [...ofKind('normal'), ...ofKind('out-of-order'), ...ofKind('duplicate')]) {
      expect(offShape(event(e)).offsetM).toBeLessThan(15);
    }
  });

  it('drives at bus speeds: stops at stops, cruises between 15 and 50 km/h', () => {
    const speeds = ofKind('normal').map((e) => event(e).speedKmh);

    expect(Math.min(...speeds)).toBe(0);
    expect(Math.max(...speeds)).toBeLessThanOrEqual(52);
    const moving = speeds.filter((s) => s > 0);
    const mean = moving.reduce((a, b) => a + b, 0) / moving.length;
    expect(mean).toBeGreaterThan(15);
    expect(mean).toBeLessThan(45);
    expect(speeds.filter((s) => s === 0).length / speeds.length).toBeGreaterThan(0.05);
  });

  it('dwells at stops: a standing bus is at a stop of its trip', () => {
    for (const e of ofKind('normal')) {
      const fix = event(e);
      if (fix.speedKmh !== 0) continue;
      const along = offShape(fix).distanceAlongM;
      const nearest = Math.min(...stopsOfTrip.get(fix.tripId)!.map((d) => Math.abs(d - along)));
      expect(nearest).toBeLessThan(10);
    }
  });

  it('turns buses around at the terminal onto the other direction with a new trip', () => {
    const tripsOf = new Map<string, Set<string>>();
    for (const e of ofKind('normal')) {
      const trips = tripsOf.get(e.vehicleId) ?? new Set();
      trips.add(event(e).tripId);
      tripsOf.set(e.vehicleId, trips);
    }
    const turned = [...tripsOf.values()].filter((trips) => trips.size > 1);

    expect(turned.length).toBeGreaterThan(3);
    for (const trips of turned) {
      const shapes = new Set([...trips].map((t) => shapeOfTrip.get(t)));
      expect(shapes.size).toBeGreaterThan(1);
    }
  });

  it('omits eventId from the requested fraction and gives the rest a UUID', () => {
    const fixes = [...ofKind('normal'), ...ofKind('out-of-order')].map(event);
    const omitted = fixes.filter((e) => e.eventId === undefined).length;

    expect(omitted / fixes.length).toBeGreaterThan(0.08);
    expect(omitted / fixes.length).toBeLessThan(0.12);
    for (const e of fixes) if (e.eventId !== undefined) expect(e.eventId).toMatch(UUID);
    expect(run.summary.eventIdOmitted).toBeGreaterThanOrEqual(omitted);
  });

  it('sends only valid events except the invalid ones', () => {
    for (const e of run.emissions) {
      if (e.kind !== 'invalid') expect(positionProblems(e.event), e.kind).toEqual([]);
    }
  });
});

describe('injected faults', () => {
  const fixes = () => ofKind('normal').length + ofKind('out-of-order').length;

  it.each(['duplicate', 'out-of-order', 'late', 'invalid'] as const)('injects %s at the requested rate', (kind) => {
    const rate = ofKind(kind).length / fixes();

    expect(rate).toBeGreaterThan(RATE * 0.75);
    expect(rate).toBeLessThan(RATE * 1.25);
    expect(run.summary.byKind[kind]).toBe(ofKind(kind).length);
  });

  it('re-sends a duplicate identically, eventId included, a few seconds after the original', () => {
    const originals = new Set(run.emissions.filter((e) => e.kind !== 'duplicate').map((e) => JSON.stringify(e.event)));
    for (const dup of ofKind('duplicate')) {
      expect(originals.has(JSON.stringify(dup.event))).toBe(true);
      expect(dup.sendAtMs).toBeGreaterThan(event(dup).ts - START);
      expect(dup.sendAtMs - (event(dup).ts - START)).toBeLessThanOrEqual(5_000);
    }
  });

  it('delays out-of-order events by less than 20 s, after newer fixes of the same vehicle', () => {
    for (const e of ofKind('out-of-order')) {
      const delay = e.sendAtMs - (event(e).ts - START);
      expect(delay).toBeGreaterThan(1_000);
      expect(delay).toBeLessThan(20_000);
      // The last fixes of the run have nothing newer to be overtaken by.
      if (event(e).ts > run.summary.endTime! - 20_000) continue;
      const overtaken = run.emissions.some(
        (o) =>
          o.kind !== 'invalid' && o.vehicleId === e.vehicleId && o.sendAtMs < e.sendAtMs && event(o).ts > event(e).ts,
      );
      expect(overtaken).toBe(true);
    }
  });

  it('makes late events older than window + allowed lateness behind what their vehicle already sent', () => {
    const latestSent = new Map<string, number>();
    let checked = 0;
    for (const e of run.emissions) {
      if (e.kind === 'invalid') continue;
      const ts = event(e).ts;
      if (e.kind === 'late') {
        expect(latestSent.get(e.vehicleId)! - ts).toBeGreaterThan(60_000 + 120_000);
        expect(event(e).eventId).toMatch(UUID);
        checked++;
      } else {
        latestSent.set(e.vehicleId, Math.max(latestSent.get(e.vehicleId) ?? 0, ts));
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('makes each invalid event invalid for exactly its recorded reason', () => {
    const reasons = new Set<string>();
    for (const e of ofKind('invalid')) {
      expect(positionProblems(e.event)).toEqual([e.invalidReason]);
      reasons.add(e.invalidReason!);
    }
    expect(reasons.size).toBe(9);
  });
});

describe('injected anomalies', () => {
  const anomaly = (kind: string) => {
    const found = run.summary.anomalies.find((a) => a.kind === kind);
    expect(found, kind).toBeDefined();
    return found!;
  };
  const episode = (kind: Emission['kind'], vehicleId: string) =>
    run.emissions.filter((e) => e.kind === kind && e.vehicleId === vehicleId).map(event);

  it('records one anomaly of each kind on distinct vehicles', () => {
    expect(run.summary.anomalies.map((a) => a.kind).sort()).toEqual(['jump', 'off-route', 'speeding', 'stall']);
    expect(new Set(run.summary.anomalies.map((a) => a.vehicleId)).size).toBe(4);
    expect(run.summary.skippedAnomalies).toEqual([]);
  });

  it('speeds one vehicle at about three times the normal speed for a minute', () => {
    const a = anomaly('speeding');
    const fixes = episode('anomaly-speeding', a.vehicleId);

    expect(a.endTs - a.startTs).toBeGreaterThanOrEqual(60_000);
    expect(fixes.filter((f) => f.speedKmh > 85).length).toBeGreaterThan(30);
    for (const f of fixes) expect(offShape(f).offsetM).toBeLessThan(15);
  });

  it('stalls one vehicle away from stops for stallMinutes + 1 minutes', () => {
    const a = anomaly('stall');
    const fixes = episode('anomaly-stall', a.vehicleId);

    expect(a.endTs - a.startTs).toBe(6 * 60_000);
    expect(fixes.length).toBeGreaterThanOrEqual(6 * 60);
    expect(new Set(fixes.map((f) => `${f.lat},${f.lon}`)).size).toBe(1);
    expect(fixes.every((f) => f.speedKmh === 0 && f.tripId === a.tripId)).toBe(true);
    const along = offShape(fixes[0]!).distanceAlongM;
    expect(Math.min(...stopsOfTrip.get(a.tripId)!.map((d) => Math.abs(d - along)))).toBeGreaterThan(100);
  });

  it('teleports one fix several km away and back', () => {
    const a = anomaly('jump');
    const [jumped] = episode('anomaly-jump', a.vehicleId);
    const own = run.emissions.filter((e) => e.vehicleId === a.vehicleId && e.kind !== 'invalid').map(event);
    const i = own.indexOf(jumped!);

    expect(jumped!.ts).toBe(a.startTs);
    expect(haversineMeters(own[i - 1]!, jumped!)).toBeGreaterThan(3_000);
    expect(haversineMeters(jumped!, own[i + 1]!)).toBeGreaterThan(3_000);
  });

  it('takes one vehicle more than 300 m off its shape for a while, without an impossible speed', () => {
    const a = anomaly('off-route');
    const fixes = episode('anomaly-off-route', a.vehicleId);
    const far = fixes.filter((f) => offShape(f).offsetM > 300);

    expect(far.length).toBeGreaterThan(20);
    for (let i = 1; i < fixes.length; i++) {
      const kmh = (haversineMeters(fixes[i - 1]!, fixes[i]!) / ((fixes[i]!.ts - fixes[i - 1]!.ts) / 1000)) * 3.6;
      expect(kmh).toBeLessThan(160);
    }
  });

  it('skips a stall that does not fit in the run, and says so', () => {
    const { summary } = generateWorkload(options({ minutes: 3, anomalies: { stall: 1 } }));

    expect(summary.anomalies).toEqual([]);
    expect(summary.skippedAnomalies).toEqual([expect.stringMatching(/^stall: needs \d+ minutes/)]);
  });
});

describe('createWorkload', () => {
  it('runs endlessly with minutes 0, starting like a finite run', () => {
    const finite = generateWorkload(options({ minutes: 2 })).emissions.filter((e) => e.sendAtMs < 60_000);
    const endless = createWorkload(options({ minutes: 0 }));
    const taken: Emission[] = [];
    for (const e of endless.emissions) {
      taken.push(e);
      if (e.sendAtMs > 20 * 60_000) break;
    }

    expect(taken.slice(0, finite.length)).toEqual(finite);
    expect(endless.summary.endTime).toBeNull();
    expect(endless.summary.emitted).toBe(taken.length);
  });
});
