import { describe, expect, it } from 'vitest';
import type { ShapePoint } from '../../../pipelines/transit/geo.js';
import { withCumulativeDistance } from '../../../pipelines/transit/geo.js';
import {
  estimateItemBytes,
  MAX_SHAPE_ITEM_BYTES,
  referenceItems,
  routeTripsItems,
  type ShapeSimplification,
  shapeItem,
  simplifyShape,
} from '../../../pipelines/transit/gtfs/reference-items.js';
import { syntheticCity } from '../../events/gtfs-feeds.js';

describe('referenceItems', () => {
  it("writes one item per route, route shape, route's trips, trip and stop", async () => {
    const feed = await syntheticCity();

    const items = referenceItems(feed);

    expect(items).toHaveLength(
      feed.routes.size + feed.routeShapes.length + routeTripsItems(feed).length + feed.trips.size + feed.stops.size,
    );
    expect(new Set(items.map((i) => `${i.pk}|${i.sk}`)).size).toBe(items.length);
  });

  it('lays the items out as docs/contracts.md says', async () => {
    const items = referenceItems(await syntheticCity());
    const find = (pk: string, sk: string) => items.find((i) => i.pk === pk && i.sk === sk);

    expect(find('ROUTES', 'R1')).toEqual({
      pk: 'ROUTES',
      sk: 'R1',
      routeId: 'R1',
      shortName: '1',
      longName: 'Noorderhaven - Zuidplein',
      routeType: 3,
    });
    expect(find('TRIP#R1-I-003', 'META')).toEqual({
      pk: 'TRIP#R1-I-003',
      sk: 'META',
      tripId: 'R1-I-003',
      routeId: 'R1',
      shapeId: 'R1-in',
      directionId: 1,
    });
    expect(Object.keys(find('STOP#R1N02', 'META')!).sort()).toEqual(
      ['pk', 'sk', 'stopId', 'name', 'lat', 'lon', 'routeIds'].sort(),
    );
    const shape = find('ROUTE#R1', 'SHAPE#R1-out') as unknown as {
      points: ShapePoint[];
      stops: Record<string, unknown>[];
    };
    expect(Object.keys(shape).sort()).toEqual(['pk', 'sk', 'shapeId', 'points', 'stops'].sort());
    expect(shape.points[1]).toHaveLength(3);
    expect(Object.keys(shape.stops[0]!).sort()).toEqual(['stopId', 'name', 'lat', 'lon', 'distM', 'seq'].sort());
  });

  it('keeps every synthetic-city shape item far below the size limit without simplifying', async () => {
    const simplified: ShapeSimplification[] = [];

    const items = referenceItems(await syntheticCity(), { onSimplified: (s) => simplified.push(s) });

    expect(simplified).toEqual([]);
    for (const item of items) expect(estimateItemBytes(item)).toBeLessThan(MAX_SHAPE_ITEM_BYTES);
  });
});

describe('shapeItem size limit', () => {
  // A 200 km wiggly line with a point every ~7 m: far too big for one item.
  const huge = withCumulativeDistance(
    Array.from({ length: 30_000 }, (_, i) => ({ lat: 52 + i * 0.00006, lon: 4.9 + (i % 2) * 0.00001 })),
  );

  it('simplifies a shape that would exceed the limit and reports it', () => {
    const simplified: ShapeSimplification[] = [];
    expect(estimateItemBytes({ points: huge })).toBeGreaterThan(MAX_SHAPE_ITEM_BYTES);

    const item = shapeItem('R', 'S', huge, [], { onSimplified: (s) => simplified.push(s) });

    expect(estimateItemBytes(item)).toBeLessThanOrEqual(MAX_SHAPE_ITEM_BYTES);
    // The JSON text is an upper bound of DynamoDB's size for numbers this long.
    expect(JSON.stringify(item).length).toBeLessThan(400_000);
    expect(simplified).toHaveLength(1);
    expect(simplified[0]).toMatchObject({ routeId: 'R', shapeId: 'S', pointsBefore: 30_000 });
    expect(item.points.at(-1)![2]).toBeCloseTo(huge.at(-1)![2], 0);
  });

  it('keeps the original distance of the points it keeps', () => {
    const kept = simplifyShape(huge.slice(0, 1000), 2);

    expect(kept.length).toBeLessThan(100);
    for (const p of kept) expect(huge.some((q) => q[2] === p[2] && q[0] === p[0])).toBe(true);
  });

  it('keeps corners', () => {
    const corner = withCumulativeDistance([
      { lat: 52, lon: 4.9 },
      { lat: 52.001, lon: 4.9 },
      { lat: 52.002, lon: 4.9 },
      { lat: 52.002, lon: 4.902 },
    ]);

    expect(simplifyShape(corner, 3).map((p) => p[0])).toEqual([52, 52.002, 52.002]);
  });
});
