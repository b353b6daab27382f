import { describe, expect, it } from 'vitest';
import { haversineMeters, pointAlongShape, shapeLength } from '../../../pipelines/transit/geo.js';
import { GtfsFeedError, parseGtfsFeed } from '../../../pipelines/transit/gtfs/parse-feed.js';
import { syntheticCity, tinyFeed } from '../../events/gtfs-feeds.js';

describe('parseGtfsFeed on the synthetic city', () => {
  it('has at least 6 routes and 60 stops, each route with an outbound and an inbound shape', async () => {
    const feed = await syntheticCity();

    expect(feed.routes.size).toBeGreaterThanOrEqual(6);
    expect(feed.stops.size).toBeGreaterThanOrEqual(60);
    for (const routeId of feed.routes.keys()) {
      const directions = feed.routeShapes.filter((rs) => rs.routeId === routeId).map((rs) => rs.directionId);
      expect(directions.sort(), routeId).toEqual([0, 1]);
    }
    expect(feed.warnings).toEqual([]);
  });

  it('gives every shape a strictly increasing distance, a few km long, with points at most 100 m apart', async () => {
    const feed = await syntheticCity();

    for (const [shapeId, points] of feed.shapes) {
      expect(points[0]![2], shapeId).toBe(0);
      for (let i = 1; i < points.length; i++) {
        const gap = points[i]![2] - points[i - 1]![2];
        expect(gap, `${shapeId} point ${i}`).toBeGreaterThan(0);
        expect(gap, `${shapeId} point ${i}`).toBeLessThanOrEqual(100);
      }
      expect(shapeLength(points)).toBeGreaterThan(2_000);
      expect(shapeLength(points)).toBeLessThan(10_000);
    }
  });

  it('places every stop of a shape within its length, in order, and next to the shape', async () => {
    const feed = await syntheticCity();

    for (const rs of feed.routeShapes) {
      const length = shapeLength(rs.points);
      expect(rs.stops.length, rs.shapeId).toBeGreaterThanOrEqual(5);
      rs.stops.forEach((stop, i) => {
        expect(stop.distM).toBeGreaterThanOrEqual(0);
        expect(stop.distM).toBeLessThanOrEqual(length);
        expect(stop.seq).toBe(i + 1);
        if (i > 0) expect(stop.distM).toBeGreaterThan(rs.stops[i - 1]!.distM);
        expect(haversineMeters(stop, pointAlongShape(rs.points, stop.distM)), stop.stopId).toBeLessThan(15);
      });
    }
  });

  it('maps each trip to a known route and shape, and each served stop to its routes', async () => {
    const feed = await syntheticCity();

    for (const trip of feed.trips.values()) {
      expect(feed.routes.has(trip.routeId)).toBe(true);
      expect(feed.shapes.has(trip.shapeId)).toBe(true);
    }
    expect(feed.stops.get('R1N02')?.routeIds).toEqual(['R1']);
    expect([...feed.stops.values()].every((s) => s.routeIds.length > 0)).toBe(true);
  });
});

describe('parseGtfsFeed on small feeds', () => {
  it('projects stops onto the shape when stop_times has no shape_dist_traveled', async () => {
    const feed = await parseGtfsFeed(tinyFeed());

    const stops = feed.routeShapes[0]!.stops;
    expect(stops.map((s) => s.stopId)).toEqual(['S1', 'S2', 'S3']);
    expect(stops[0]!.distM).toBeCloseTo(0, 0);
    expect(stops[1]!.distM).toBeCloseTo(476, -1);
    expect(stops[2]!.distM).toBeCloseTo(shapeLength(feed.routeShapes[0]!.points), 0);
  });

  it('converts shape_dist_traveled in feed units (here km) into metres', async () => {
    const shapes = `shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence,shape_dist_traveled\n${Array.from(
      { length: 15 },
      (_, i) => `SH1,52.370000,${(4.9 + i * 0.001).toFixed(6)},${i + 1},${(i * 0.068).toFixed(3)}`,
    ).join('\n')}\n`;
    const stopTimes =
      'trip_id,arrival_time,departure_time,stop_id,stop_sequence,shape_dist_traveled\n' +
      'T1-1,08:00:00,08:00:00,S1,1,0\nT1-1,08:02:00,08:02:00,S2,2,0.476\nT1-1,08:04:00,08:04:00,S3,3,0.952\n';

    const feed = await parseGtfsFeed(tinyFeed({ 'shapes.txt': shapes, 'stop_times.txt': stopTimes }));

    expect(feed.routeShapes[0]!.stops[1]!.distM).toBeCloseTo(476, -1);
  });

  it('reads a BOM, quoted fields with commas and files without optional columns', async () => {
    const feed = await parseGtfsFeed(tinyFeed({ 'routes.txt': `\uFEFF${tinyFeed()['routes.txt']}` }));

    expect(feed.routes.get('T1')).toMatchObject({ shortName: '1', longName: 'Oost, via Brug', routeType: 3 });
    expect(feed.trips.get('T1-1')).toMatchObject({ routeId: 'T1', shapeId: 'SH1', directionId: 0 });
  });

  it('orders shape points by shape_pt_sequence, not by line', async () => {
    const lines = tinyFeed()['shapes.txt']!.trim().split('\n');
    const shuffled = `${[lines[0], ...lines.slice(1).reverse()].join('\n')}\n`;

    const feed = await parseGtfsFeed(tinyFeed({ 'shapes.txt': shuffled }));

    expect(feed.shapes.get('SH1')![0]![1]).toBeCloseTo(4.9, 6);
  });
});

describe('parseGtfsFeed without shapes', () => {
  it('derives one shape per route and stop pattern from the stops when shapes.txt is absent', async () => {
    const { feed } = await withoutShapesFile();

    expect(feed.routeShapes.map((rs) => rs.stops.map((s) => s.stopId))).toEqual([
      ['S1', 'S2', 'S3'],
      ['S3', 'S2', 'S1'],
    ]);
    expect(feed.derived.routeIds).toEqual(new Set(['T1']));
    expect(feed.derived.shapeIds.size).toBe(2);
    expect(feed.trips.get('T1-1')!.shapeId).toBe(feed.trips.get('T1-2')!.shapeId);
    expect(feed.trips.get('T1-3')!.shapeId).not.toBe(feed.trips.get('T1-1')!.shapeId);
  });

  it('runs a derived shape through its stops, each at its own distance', async () => {
    const { feed } = await withoutShapesFile();

    const outbound = feed.routeShapes[0]!;
    expect(outbound.points.map(([lat, lon]) => [lat, lon])).toEqual(outbound.stops.map((s) => [s.lat, s.lon]));
    expect(outbound.stops.map((s) => Math.round(s.distM))).toEqual([0, 475, 950]);
    expect(feed.stops.get('S2')!.routeIds).toEqual(['T1']);
  });

  it('derives a shape for a trip with an empty or unknown shape_id and keeps the others', async () => {
    const feed = await parseGtfsFeed(
      tinyFeed({
        'trips.txt':
          'route_id,service_id,trip_id,direction_id,shape_id\nT1,W,T1-1,0,SH1\nT1,W,T1-2,0,\nT1,W,T1-3,0,NOPE\n',
        'stop_times.txt': `${tinyFeed()['stop_times.txt']}${calls('T1-2', ['S1', 'S2', 'S3'])}${calls('T1-3', ['S1', 'S2', 'S3'])}`,
      }),
    );

    expect(feed.trips.get('T1-1')!.shapeId).toBe('SH1');
    expect(feed.trips.get('T1-2')!.shapeId).toMatch(/^derived-/);
    expect(feed.trips.get('T1-3')!.shapeId).toBe(feed.trips.get('T1-2')!.shapeId);
    expect(feed.routeShapes.map((rs) => rs.shapeId).sort()).toEqual(['SH1', feed.trips.get('T1-2')!.shapeId].sort());
    expect(feed.warnings).toEqual([
      'trips.txt: trip T1-3 uses shape NOPE, which shapes.txt lacks; shape derived from its stops',
    ]);
  });
});

const calls = (tripId: string, stopIds: string[]) =>
  stopIds.map((stopId, i) => `${tripId},08:0${i}:00,08:0${i}:00,${stopId},${i + 1}\n`).join('');

/** The tiny feed with no shapes.txt: two outbound trips and one inbound, none with a shape_id column. */
async function withoutShapesFile() {
  const files = tinyFeed({
    'trips.txt': 'route_id,service_id,trip_id,direction_id\nT1,W,T1-1,0\nT1,W,T1-2,0\nT1,W,T1-3,1\n',
    'stop_times.txt': `trip_id,arrival_time,departure_time,stop_id,stop_sequence\n${calls('T1-1', ['S1', 'S2', 'S3'])}${calls('T1-2', ['S1', 'S2', 'S3'])}${calls('T1-3', ['S3', 'S2', 'S1'])}`,
  });
  delete files['shapes.txt'];
  return { feed: await parseGtfsFeed(files) };
}

describe('parseGtfsFeed and the id rule', () => {
  it('keeps real ids with colons, spaces and parentheses', async () => {
    const id = 'de:08212:1004:2:2 (U)';
    const feed = await parseGtfsFeed(
      tinyFeed({
        'stops.txt': `stop_id,stop_name,stop_lat,stop_lon\n"${id}",West,52.370050,4.900000\nS2,Midden,52.370050,4.907000\nS3,Oost,52.370050,4.914000\n`,
        'stop_times.txt': `trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1-1,08:00:00,08:00:00,"${id}",1\nT1-1,08:02:00,08:02:00,S2,2\nT1-1,08:04:00,08:04:00,S3,3\n`,
      }),
    );
    expect([...feed.stops.keys()]).toContain(id);
    expect(feed.warnings).toEqual([]);
  });

  it('skips, with a warning each, a route, a stop and a trip whose ids could not be served, and what refers to them', async () => {
    const feed = await parseGtfsFeed(
      tinyFeed({
        'routes.txt':
          'route_id,agency_id,route_short_name,route_long_name,route_type\nT1,A,1,Oost,3\nT/2,A,2,Slash,3\n',
        'stops.txt':
          'stop_id,stop_name,stop_lat,stop_lon\nS1,West,52.370050,4.900000\nS#2,Hash,52.370050,4.907000\nS3,Oost,52.370050,4.914000\n',
        'trips.txt':
          'route_id,service_id,trip_id,direction_id,shape_id\nT1,W,T1-1,0,SH1\nT1,W,T1%2,0,SH1\nT/2,W,T2-1,0,SH1\n',
        'stop_times.txt':
          'trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1-1,08:00:00,08:00:00,S1,1\nT1-1,08:02:00,08:02:00,S#2,2\nT1-1,08:04:00,08:04:00,S3,3\nT1%2,09:00:00,09:00:00,S1,1\nT2-1,09:00:00,09:00:00,S1,1\n',
      }),
    );

    expect([...feed.routes.keys()]).toEqual(['T1']);
    expect([...feed.stops.keys()].sort()).toEqual(['S1', 'S3']);
    expect([...feed.trips.keys()]).toEqual(['T1-1']);
    expect(feed.routeShapes[0]!.stops.map((s) => s.stopId)).toEqual(['S1', 'S3']);
    expect(feed.warnings).toEqual([
      'routes.txt line 3: route_id "T/2" must not contain "/"; skipped',
      'stops.txt line 3: stop_id "S#2" must not contain "#"; skipped',
      'trips.txt line 3: trip_id "T1%2" must not contain "%"; skipped',
      'trips.txt line 4: trip "T2-1" runs on skipped route "T/2"; skipped',
    ]);
  });
});

describe('parseGtfsFeed on malformed feeds', () => {
  const failure = async (files: Record<string, string>) => {
    const error = await parseGtfsFeed(files).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GtfsFeedError);
    return error as GtfsFeedError;
  };

  it('names the file, line and field of a non-numeric coordinate', async () => {
    const stops = tinyFeed()['stops.txt']!.replace('52.370050,4.907000', 'north,4.907000');

    const error = await failure(tinyFeed({ 'stops.txt': stops }));

    expect(error.message).toBe('stops.txt line 3, field stop_lat: expected a number, got "north"');
  });

  it('rejects a latitude out of range', async () => {
    const stops = tinyFeed()['stops.txt']!.replace('52.370050,4.914000', '95.1,4.914000');

    const error = await failure(tinyFeed({ 'stops.txt': stops }));

    expect(error).toMatchObject({ file: 'stops.txt', line: 4, field: 'stop_lat' });
  });

  it('names a missing required column', async () => {
    const error = await failure(tinyFeed({ 'trips.txt': 'route_id,trip_id,shape_id\nT1,T1-1,SH1\n' }));

    expect(error.message).toBe('trips.txt line 1, field service_id: required column is missing');
  });

  it('names a missing file', async () => {
    const files = tinyFeed();
    delete files['stop_times.txt'];

    const error = await failure(files);

    expect(error.message).toBe('stop_times.txt: file is missing');
  });

  it('rejects a trip of an unknown route', async () => {
    const error = await failure(tinyFeed({ 'trips.txt': 'route_id,service_id,trip_id,shape_id\nT9,W,T1-1,SH1\n' }));

    expect(error.message).toBe('trips.txt line 2, field route_id: unknown route "T9" (not in routes.txt)');
  });

  it('rejects a stop time at an unknown stop', async () => {
    const stopTimes = tinyFeed()['stop_times.txt']!.replace(',S2,', ',S9,');

    const error = await failure(tinyFeed({ 'stop_times.txt': stopTimes }));

    expect(error).toMatchObject({ file: 'stop_times.txt', line: 3, field: 'stop_id' });
  });

  it('reports broken CSV with its line', async () => {
    const routes = 'route_id,route_short_name,route_type\nT1,"1,3\nT2,2,3\n';

    const error = await failure(tinyFeed({ 'routes.txt': routes }));

    expect(error.file).toBe('routes.txt');
    expect(error.message).toMatch(/^routes\.txt line \d+: malformed CSV/);
  });

  it('reports a row with too many fields', async () => {
    const error = await failure(tinyFeed({ 'routes.txt': 'route_id,route_short_name,route_type\nT1,1,3,extra\n' }));

    expect(error).toMatchObject({ file: 'routes.txt', line: 2 });
  });
});
