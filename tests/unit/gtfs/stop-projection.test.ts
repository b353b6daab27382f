import { describe, expect, it } from 'vitest';
import { withCumulativeDistance } from '../../../pipelines/transit/geo.js';
import { parseGtfsFeed } from '../../../pipelines/transit/gtfs/parse-feed.js';
import { projectStopsMonotone } from '../../../pipelines/transit/gtfs/stop-projection.js';
import type { VehicleState } from '../../../pipelines/transit/model.js';
import { etaRowsFrom } from '../../../pipelines/transit/processing/eta.js';
import { offShapeFirstStopFeed } from '../../events/gtfs-feeds.js';

describe('stops along a shape whose first stop lies far off it (Cairns shape 1100015)', () => {
  it('keeps the stops after the far one at their own, increasing distances', async () => {
    const feed = await parseGtfsFeed(offShapeFirstStopFeed());

    const stops = feed.routeShapes[0]!.stops;
    expect(stops.map((s) => s.stopId)).toEqual(['WARREN', 'CEDAR', 'WILLIAMS', 'TALPA', 'VEIVERS', 'ZOO']);
    expect(stops.map((s) => Math.round(s.distM / 10) * 10)).toEqual([0, 0, 720, 1690, 2150, 3390]);
  });

  it('gives a vehicle between the third and fourth stop ETAs only for the stops ahead of it', async () => {
    const feed = await parseGtfsFeed(offShapeFirstStopFeed());
    const rs = feed.routeShapes[0]!;
    const state = {
      vehicleId: 'V1',
      routeId: '110',
      shapeId: rs.shapeId,
      distanceAlongM: 1000,
      recentSpeedKmh: 30,
      ts: 0,
    };

    const rows = etaRowsFrom(
      {
        state: state as VehicleState,
        shape: { shapeId: rs.shapeId, points: rs.points, stops: rs.stops },
        routeAverageKmh: undefined,
      },
      0,
    );

    expect(rows.map((r) => r.stopId)).toEqual(['TALPA', 'VEIVERS', 'ZOO']);
  });
});

describe('projectStopsMonotone', () => {
  const street = withCumulativeDistance(Array.from({ length: 11 }, (_, i) => ({ lat: 52.37, lon: 4.9 + i * 0.001 })));
  const loop = withCumulativeDistance([
    ...Array.from({ length: 11 }, (_, i) => ({ lat: 52.37, lon: 4.9 + i * 0.001 })),
    ...Array.from({ length: 10 }, (_, i) => ({ lat: 52.3701, lon: 4.909 - i * 0.001 })),
  ]);

  it('places stops in order at their nearest points when the order allows it', () => {
    const along = projectStopsMonotone(
      [0.002, 0.005, 0.009].map((d) => ({ lat: 52.3701, lon: 4.9 + d })),
      street,
    );

    expect(along.map((d) => Math.round(d / 10) * 10)).toEqual([140, 340, 610]);
  });

  it('puts a stop the shape passes twice on the pass its neighbours are on', () => {
    const out = { lat: 52.37005, lon: 4.904 };
    const back = { lat: 52.37005, lon: 4.902 };

    const along = projectStopsMonotone([{ lat: 52.37, lon: 4.901 }, out, { lat: 52.3701, lon: 4.908 }, back], loop);

    expect(along[1]!).toBeLessThan(loop[10]![2]);
    expect(along[3]!).toBeGreaterThan(loop[10]![2]);
  });

  it('never goes backwards, even for stops listed against the shape', () => {
    const along = projectStopsMonotone(
      [0.008, 0.002].map((d) => ({ lat: 52.37, lon: 4.9 + d })),
      street,
    );

    expect(along[1]!).toBeGreaterThanOrEqual(along[0]!);
  });
});
