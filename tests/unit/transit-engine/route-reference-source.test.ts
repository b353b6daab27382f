/**
 * The route reference read from transit's ReferenceTable layout (`RouteReferenceSource`,
 * `loadRoutePlacement`, the `TRIPS#<n>` items), on the in-memory document client.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readRouteReference, routeReferenceItems } from '../../../pipelines/transit/engine/route-reference.js';
import { RouteReferenceSource } from '../../../pipelines/transit/engine/route-reference-source.js';
import type { GtfsFeed } from '../../../pipelines/transit/gtfs/parse-feed.js';
import { referenceItems, routeTripsItems } from '../../../pipelines/transit/gtfs/reference-items.js';
import { replaceFeed } from '../../../pipelines/transit/gtfs/reference-store.js';
import { syntheticCity } from '../../events/gtfs-feeds.js';
import { memoryDocumentClient } from '../../helpers/memory-document-client.js';

const TABLE = 'ReferenceTable';

describe('the route reference on the ReferenceTable', () => {
  let feed: GtfsFeed;
  beforeAll(async () => {
    feed = await syntheticCity();
  });

  it('reads a route as the in-memory items have it: its shapes, and the trips on them', async () => {
    const memory = memoryDocumentClient();
    await replaceFeed(referenceItems(feed), { client: memory.client, tableName: TABLE });
    const expected = routeReferenceItems(feed);

    const loaded = await new RouteReferenceSource(memory.client, TABLE).load(['R1', 'R-unknown']);

    expect([...loaded.keys()]).toEqual(['R1']);
    const route = readRouteReference(loaded.get('R1') as Record<string, unknown>, 'R1');
    const want = expected.get('R1');
    expect(Object.fromEntries(route.tripShapeIds)).toEqual(want?.tripShapeIds);
    expect([...route.shapes.keys()].sort()).toEqual(want?.shapes.map((s) => s.shapeId).sort());
    expect(route.tripShapeIds.size).toBeGreaterThan(0);
  });

  it('keeps what it read for its TTL: a second batch of the same routes reads nothing', async () => {
    const memory = memoryDocumentClient();
    await replaceFeed(referenceItems(feed), { client: memory.client, tableName: TABLE });
    const source = new RouteReferenceSource(memory.client, TABLE);
    let sent = 0;
    memory.onSend = () => {
      sent++;
    };
    await source.load(['R1', 'R-unknown']);
    const first = sent;

    const again = await source.load(['R1', 'R-unknown']);

    expect(first).toBeGreaterThan(0);
    expect(sent).toBe(first);
    expect([...again.keys()]).toEqual(['R1']);
  });

  it('reads a route of a feed loaded before trips items existed with its shapes and no trips', async () => {
    // The engine then places such a route's fixes by scoring its shapes, where processBatch takes the
    // trip's shape: the feed must be loaded again before transit runs on the engine (docs/contracts.md).
    const memory = memoryDocumentClient();
    const older = referenceItems(feed).filter((item) => !item.sk.startsWith('TRIPS#'));
    await replaceFeed(older, { client: memory.client, tableName: TABLE });

    const loaded = await new RouteReferenceSource(memory.client, TABLE).load(['R1']);

    const route = readRouteReference(loaded.get('R1') as Record<string, unknown>, 'R1');
    expect(route.shapes.size).toBeGreaterThan(0);
    expect(route.tripShapeIds.size).toBe(0);
  });

  it("splits a route's trips over several items when one would be too big, and lists each trip once", () => {
    const items = routeTripsItems(feed, 200);

    const r1 = items.filter((i) => i.pk === 'ROUTE#R1');
    expect(r1.length).toBeGreaterThan(1);
    expect(r1.map((i) => i.sk)).toEqual(r1.map((_, n) => `TRIPS#${n}`));
    const merged = Object.assign({}, ...r1.map((i) => i.tripShapeIds));
    expect(merged).toEqual(routeReferenceItems(feed).get('R1')?.tripShapeIds);
  });
});
