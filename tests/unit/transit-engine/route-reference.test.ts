/**
 * Transit's reference data on the engine (`pipelines/transit/engine/route-reference.ts`): one item per
 * route answers both of `shapeFor`'s questions, and a route the reference data does not know is no error.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GTFS_DIR } from '../../../local/simulate.js';
import { routeReference, routeReferenceItems } from '../../../pipelines/transit/engine/route-reference.js';
import { type GtfsFeed, parseGtfsFeed } from '../../../pipelines/transit/gtfs/parse-feed.js';
import { enrichEvents, MemoryReferenceSource } from '../../../shared/engine/reference.js';
import { position } from '../../helpers/processing.js';

describe('route reference items', () => {
  let feed: GtfsFeed;
  beforeAll(async () => {
    feed = await parseGtfsFeed(DEFAULT_GTFS_DIR);
  });

  it("hold every shape of a route and the shape of every trip that runs on one of them, as shapeFor's two lookups do", () => {
    const items = routeReferenceItems(feed);

    for (const rs of feed.routeShapes) {
      expect(items.get(rs.routeId)?.shapes).toContainEqual({ shapeId: rs.shapeId, points: rs.points, stops: rs.stops });
    }
    for (const [routeId, item] of items) {
      const shapeIds = new Set(feed.routeShapes.filter((rs) => rs.routeId === routeId).map((rs) => rs.shapeId));
      const expected = [...feed.trips.values()].filter((t) => shapeIds.has(t.shapeId));
      expect(Object.entries(item.tripShapeIds).sort()).toEqual(expected.map((t) => [t.tripId, t.shapeId]).sort());
    }
    expect(items.size).toBeGreaterThan(1);
  });
});

describe('the route enrichment', () => {
  const shape = { shapeId: 'S1', points: [[52.37, 4.9, 0] as [number, number, number]], stops: [] };
  const source = () =>
    new MemoryReferenceSource({
      R1: { routeId: 'R1', shapes: [shape], tripShapeIds: { T1: 'S1' } },
      R2: { routeId: 'R2', shapes: 'none' },
    });

  it("gives a fix its route's shapes and trips, with one load of the batch's routes", async () => {
    const references = source();

    const { events, missing } = await enrichEvents(routeReference, references, [
      position({ routeId: 'R1' }),
      position({ routeId: 'R1', tripId: null }),
    ]);

    expect(missing).toEqual([]);
    expect(events.map((e) => e?.routeShapes?.shapes.get('S1'))).toEqual([shape, shape]);
    expect(events[0]?.routeShapes?.tripShapeIds.get('T1')).toBe('S1');
    expect(references.loads).toEqual([['R1']]);
  });

  it('leaves a fix of a route the reference data does not know without shapes, and dead-letters nothing', async () => {
    const { events, missing } = await enrichEvents(routeReference, source(), [position({ routeId: 'R9' })]);

    expect(missing).toEqual([]);
    expect(events[0]).toEqual(position({ routeId: 'R9', eventId: events[0]?.eventId as string }));
    expect(events[0]).not.toHaveProperty('routeShapes');
  });

  it('dead-letters a fix whose route item cannot be read, naming the route', async () => {
    const { missing } = await enrichEvents(routeReference, source(), [position({ eventId: 'e1', routeId: 'R2' })]);

    expect(missing.map((m) => m.reason)).toEqual([
      'missing reference: route "R2" (routeId) is unusable: route R2 has no shapes list',
    ]);
  });
});
