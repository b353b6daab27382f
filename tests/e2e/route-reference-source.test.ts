/**
 * The engine's route reference (`RouteReferenceSource`) on DynamoDB: a GTFS feed with one route too big
 * for one query page, loaded by `loadGtfs` (the local runtime's `gtfs` seed) into a ReferenceTable
 * planned from the synthesized stack, read back from dynalite with the real SDK. The unit tests read
 * the same layout from the in-memory document client, which pages every two items; here pages end at
 * 1 MB as DynamoDB sizes them, keys and numbers are marshalled, and items are held to 400 KB.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadGtfsResult, loadGtfs } from '../../local/load-gtfs.js';
import { createTable, type Emulators, emulatorClientConfig, startEmulators } from '../../local/runtime/emulators.js';
import { planLocalStack, type TablePlan } from '../../local/runtime/plan.js';
import type { CfnTemplate } from '../../local/runtime/template.js';
import { readRouteReference, routeReferenceItems } from '../../pipelines/transit/engine/route-reference.js';
import { RouteReferenceSource } from '../../pipelines/transit/engine/route-reference-source.js';
import { type GtfsFeed, parseGtfsFeed } from '../../pipelines/transit/gtfs/parse-feed.js';
import { currentFeedVersion, versionedPk } from '../../pipelines/transit/gtfs/reference-store.js';
import { DynamoReferenceSource } from '../../pipelines/transit/processing/aws-adapters.js';
import type { ShapeRef } from '../../pipelines/transit/processing/ports.js';
import { chooseShape, shapeFor } from '../../pipelines/transit/processing/shape-choice.js';
import { position } from '../helpers/processing.js';
import { synthTemplateJson } from '../helpers/synth.js';

/** Trips of the big route, with long ids: enough for its `TRIPS#<n>` items to split. */
const BIG_ROUTE_TRIPS = 8_000;
/**
 * Points of each of the big route's four shapes: about 250 KB per item as the loader sizes it and 300 KB
 * as dynalite counts a query page (which counts a map's keys as one byte each, so the trips items weigh
 * little there): the route's partition takes two pages.
 */
const BIG_SHAPE_POINTS = 12_000;
const UNKNOWN = 'R-unknown';

let emulators: Emulators;
let loader: DynamoDBDocumentClient;
let referenceTable: TablePlan;
const dirs: string[] = [];
const clients: DynamoDBClient[] = [];

beforeAll(async () => {
  emulators = await startEmulators();
  loader = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const plan = planLocalStack(synthTemplateJson() as unknown as CfnTemplate);
  const seed = plan.seeds.find((s) => s.name === 'gtfs');
  const table = plan.tables.find((t) => t.logicalId === seed?.tableLogicalId);
  if (!seed || !table) throw new Error('the template has no ReferenceTable with the gtfs seed');
  expect(seed).toMatchObject({ loader: 'local/load-gtfs.ts', exportName: 'loadGtfs' });
  referenceTable = table;
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await emulators?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A ReferenceTable as the local runtime creates it from the stack's plan, under its own name. */
async function freshReferenceTable(name: string): Promise<string> {
  await createTable(emulators.dynamodb, { ...referenceTable, name });
  return name;
}

/** Writes a feed (file name → text) to a new directory and loads it as `npm run load-gtfs` does. */
async function loadFeed(files: Record<string, string>, tableName: string) {
  const dir = mkdtempSync(join(tmpdir(), 'streamfold-route-ref-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const loaded = await loadGtfs(dir, tableName, { client: loader, log: () => {} });
  return { loaded, feed: await parseGtfsFeed(dir) };
}

/** One request the SDK sent: its command and input (unmarshalled: the document client marshalls later). */
interface SentRequest {
  command: string;
  input: string;
}

/** A document client of its own over HTTP/1.1 that records each request it sends. */
function recordingClient() {
  const client = new DynamoDBClient(emulatorClientConfig(emulators.endpoints.dynamodb));
  clients.push(client);
  const sent: SentRequest[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: context.commandName ?? '', input: JSON.stringify(args.input) });
      return next(args);
    },
    { step: 'initialize', name: 'recordRequests' },
  );
  return { documents: DynamoDBDocumentClient.from(client), sent };
}

/** The queries of a route's partition among `sent`. */
const queriesOf = (sent: SentRequest[], routeId: string) =>
  sent.filter((r) => r.command === 'QueryCommand' && r.input.includes(`ROUTE#${routeId}"`));

// ---- the feed --------------------------------------------------------------------------------------

const LAT0 = 52.37;
const LON0 = 4.9;
const M_PER_DEG = 111_195;
/** `lat,lon` of the point `eastM` east and `northM` north of the origin, as a feed writes it. */
const at = (eastM: number, northM: number) =>
  `${(LAT0 + northM / M_PER_DEG).toFixed(6)},${(LON0 + eastM / (M_PER_DEG * Math.cos((LAT0 * Math.PI) / 180))).toFixed(6)}`;
const lines = (rows: string[], eol = '\n') => rows.join(eol) + eol;
const BOM = '\uFEFF';
const time = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}:00`;

/**
 * A small city with the quirks of real feeds: a byte-order mark, CRLF line ends, quoted cells with
 * commas and doubled quotes, padded cells, unknown columns, ids with colons and spaces, a trip id the
 * API cannot serve (skipped), trips without a shape id or on a shape shapes.txt lacks (shapes derived
 * from their stops), trips without stop times, a shape two routes share and a route without trips.
 *
 * - R1: four long shapes (out and back, direct and via the depot, {@link BIG_SHAPE_POINTS} points each)
 *   and {@link BIG_ROUTE_TRIPS} trips with long ids, only the first on each shape with stop times
 *   (fewer of both with `r1`).
 * - R2: its own shape R2-A, the shared shape S-SHARED, a trip on a shape shapes.txt lacks, a skipped trip.
 * - R3: the shared shape, and two trips without shape id calling at the same stops (one derived shape).
 * - R4: no trips.
 */
function cityFeed(r1 = { trips: BIG_ROUTE_TRIPS, shapePoints: BIG_SHAPE_POINTS }): Record<string, string> {
  const stops = [
    ...Array.from({ length: 10 }, (_, k) => ({ id: `R1:S${k}`, name: `Dijk, perron ${k}`, east: k * 4000, north: 3 })),
    { id: 'N1', name: 'Café "Noord"', east: 500, north: 0 },
    { id: 'N2', name: 'Noord, Plein', east: 500, north: 600 },
    { id: 'N3', name: 'Noord-Eind', east: 500, north: 1200 },
    { id: 'E1', name: 'Oost 1', east: 600, north: 0 },
    { id: 'E2', name: 'Oost 2', east: 1100, north: 500 },
    { id: 'E3', name: 'Oost 3', east: 1600, north: 1000 },
  ];
  const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
  const stopsTxt = lines([
    'stop_id,stop_name,stop_lat,stop_lon,location_type,wheelchair_boarding',
    ...stops.map((s) => `${s.id},${quote(s.name)},${at(s.east, s.north)},0,1`),
    // A station (location_type 1) is not a stop a vehicle calls at.
    `ST1,${quote('Station, hal')},${at(0, 50)},1,`,
  ]);
  const routesTxt = `${BOM}${lines([
    'route_id,agency_id,route_short_name,route_long_name,route_type,route_color',
    'R1,A,1,"Dijk - Dijk, ""de lange""",3,FF0000',
    ' R2 , A ,2, Noord ,3,',
    'R3,A,3,"Oost, via Plein",3,',
    'R4,A,4,Zonder ritten,3,',
  ])}`;
  const shapePoints = (shapeId: string, points: string[]) => points.map((p, i) => `${shapeId},${p},${i + 1}`);
  /** One of R1's shapes: 36 km east and back, 12 m apart; via the depot it swings 300 m north mid-way. */
  const r1Shape = (back: boolean, depot: boolean) =>
    Array.from({ length: r1.shapePoints }, (_, i) => {
      const along = (i * 36_000) / r1.shapePoints;
      const east = back ? 36_000 - along : along;
      const detour = depot && east > 15_000 && east < 21_000 ? 300 * Math.sin(((east - 15_000) / 6_000) * Math.PI) : 0;
      return at(east, (back ? 12 : 0) + 3 + 2 * Math.sin(i / 40) + detour);
    });
  const r1Shapes = ['R1:out', 'R1:back', 'R1:out-depot', 'R1:back-depot'];
  const shapesTxt = lines([
    'shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence',
    ...r1Shapes.flatMap((id) => shapePoints(id, r1Shape(id.includes('back'), id.includes('depot')))),
    ...shapePoints(
      'R2-A',
      Array.from({ length: 25 }, (_, i) => at(500, i * 50)),
    ),
    ...shapePoints(
      'S-SHARED',
      Array.from({ length: 30 }, (_, i) => at(600 + i * 35, i * 35)),
    ),
  ]);
  const bigTrips = Array.from({ length: r1.trips }, (_, i) => {
    const shapeId = r1Shapes[i % 4]!;
    const tripId = `NL:STAD:20250602:weekday-regular:${shapeId}:${String(i).padStart(6, '0')} (WD)`;
    return { tripId, shapeId, back: shapeId.includes('back') };
  });
  const tripsTxt = `${BOM}${lines(
    [
      'route_id,service_id,trip_id,trip_headsign,direction_id,shape_id,wheelchair_accessible',
      ...bigTrips.map(
        ({ tripId, shapeId, back }) =>
          `R1,WD,${quote(tripId)},${back ? 'Dijk' : '"Dijk, eind"'},${Number(back)},${shapeId},1`,
      ),
      '"R2","WD","R2-1","Noord",0,"R2-A",',
      '"R2","WD","R2-2","Oost",0,"S-SHARED",',
      '"R2","WD","R2-3","Noord",0,"R2-GONE",',
      '"R2","WD","R2#4","Noord",0,"R2-A",',
      'R3,WD,R3-1,Oost,0,S-SHARED,',
      'R3,WD,R3-2,Oost,1,,',
      'R3,WD,R3-3,Oost,1, ,',
    ],
    '\r\n',
  )}`;
  const calls = (tripId: string, stopIds: string[]) =>
    stopIds.map((stopId, i) => `${tripId},${time(480 + 3 * i)},${time(480 + 3 * i)},${stopId},${i + 1}`);
  const r1Stops = stops.filter((s) => s.id.startsWith('R1:')).map((s) => s.id);
  const stopTimesTxt = lines([
    'trip_id,arrival_time,departure_time,stop_id,stop_sequence',
    ...bigTrips.slice(0, 4).flatMap(({ tripId, back }) => calls(tripId, back ? [...r1Stops].reverse() : r1Stops)),
    ...calls('R2-1', ['N1', 'N2', 'N3']),
    ...calls('R2-2', ['E1', 'E2', 'E3']),
    ...calls('R2-3', ['N1', 'N2', 'N3']),
    ...calls('R2#4', ['N1', 'N2', 'N3']),
    ...calls('R3-1', ['E1', 'E2', 'E3']),
    ...calls('R3-2', ['E3', 'E2', 'E1']),
    ...calls('R3-3', ['E3', 'E2', 'E1']),
  ]);
  return {
    'agency.txt': lines([
      'agency_id,agency_name,agency_url,agency_timezone',
      'A,Stad,https://example.invalid,Europe/Amsterdam',
    ]),
    'routes.txt': routesTxt,
    'stops.txt': stopsTxt,
    'trips.txt': tripsTxt,
    'stop_times.txt': stopTimesTxt,
    'shapes.txt': shapesTxt,
    'calendar.txt': lines([
      'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date',
      'WD,1,1,1,1,1,0,0,20250101,20301231',
    ]),
  };
}

// ---- the tests ---------------------------------------------------------------------------------------

/** A route's shapes by id, in id order, to compare two sources' shapes. */
const byId = (shapes: ReadonlyMap<string, ShapeRef> | undefined) =>
  Object.fromEntries([...(shapes ?? new Map<string, ShapeRef>())].sort(([a], [b]) => a.localeCompare(b)));

/** The sort keys of a route's partition in the table's current feed version, every page. */
async function partitionSortKeys(table: string, routeId: string): Promise<string[]> {
  const version = await currentFeedVersion({ client: loader, tableName: table });
  const sortKeys: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await loader.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': versionedPk(version, `ROUTE#${routeId}`) },
        ProjectionExpression: 'sk',
        ExclusiveStartKey: start,
      }),
    );
    sortKeys.push(...(page.Items ?? []).map((i) => String(i.sk)));
    start = page.LastEvaluatedKey;
  } while (start);
  return sortKeys;
}

describe('RouteReferenceSource on dynalite', () => {
  let table: string;
  let feed: GtfsFeed;
  let loaded: LoadGtfsResult;
  const routeIds = () => [...feed.routes.keys()];

  beforeAll(async () => {
    table = await freshReferenceTable(referenceTable.name);
    ({ feed, loaded } = await loadFeed(cityFeed(), table));
  });

  it('loads a feed with the quirks it was built with, the big route over several trips items', async () => {
    expect(loaded.derivedShapes).toBe(2);
    expect(loaded.warnings.join('\n')).toMatch(/trip_id "R2#4"/);
    expect(routeIds()).toEqual(['R1', 'R2', 'R3', 'R4']);
    expect(feed.routes.get('R1')?.longName).toBe('Dijk - Dijk, "de lange"');
    expect(feed.trips.size).toBe(BIG_ROUTE_TRIPS + 6);
    expect(await partitionSortKeys(table, 'R1')).toEqual([
      'SHAPE#R1:back',
      'SHAPE#R1:back-depot',
      'SHAPE#R1:out',
      'SHAPE#R1:out-depot',
      'TRIPS#0',
      'TRIPS#1',
    ]);
  });

  it("reads each route as the feed's route items have it, the big one over several query pages", async () => {
    const { documents, sent } = recordingClient();
    const expected = routeReferenceItems(feed);

    const found = await new RouteReferenceSource(documents, table).load(routeIds());

    expect([...found.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [routeId, item] of found) {
      const route = readRouteReference(item, routeId);
      const want = expected.get(routeId);
      expect(Object.fromEntries(route.tripShapeIds), routeId).toEqual(want?.tripShapeIds);
      expect([...route.shapes.keys()].sort(), routeId).toEqual(want?.shapes.map((s) => s.shapeId).sort());
    }
    expect(Object.keys(expected.get('R1')?.tripShapeIds ?? {})).toHaveLength(BIG_ROUTE_TRIPS);
    expect(queriesOf(sent, 'R1').length).toBeGreaterThan(1);
    expect(queriesOf(sent, 'R2')).toHaveLength(1);
  });

  it("places every trip as shapeFor does over the processor's DynamoReferenceSource: on its shape, others' trips by score", async () => {
    const lookups = new DynamoReferenceSource(loader, table);
    const found = await new RouteReferenceSource(loader, table).load(routeIds());
    // Every trip of the small routes, and some on each of R1's shapes (their lookups are three requests each).
    const trips = [...feed.trips.values()].filter((t, i) => t.routeId !== 'R1' || i % 1_000 < 4);
    const placed = { own: 0, shared: 0, absent: 0 };

    for (const routeId of ['R1', 'R2', 'R3']) {
      const shapes = await lookups.routeShapes(routeId);
      const route = readRouteReference(found.get(routeId) ?? {}, routeId);
      expect(byId(route.shapes), routeId).toEqual(byId(shapes));
      for (const trip of trips) {
        const tripShapeId = await lookups.tripShapeId(trip.tripId);
        const points = feed.shapes.get(trip.shapeId) ?? [];
        const [lat, lon] = points[Math.floor(points.length / 2)] ?? [0, 0];
        const fix = position({ routeId, tripId: trip.tripId, lat, lon });
        const onRoute = tripShapeId !== undefined && shapes?.has(tripShapeId) ? tripShapeId : undefined;

        const chosen = chooseShape(fix, route.shapes, route.tripShapeIds.get(trip.tripId), undefined);

        expect(route.tripShapeIds.get(trip.tripId), `${trip.tripId} on ${routeId}`).toBe(onRoute);
        expect(chosen?.shapeId, `${trip.tripId} on ${routeId}`).toBe((await shapeFor(fix, lookups))?.shapeId);
        if (trip.routeId === routeId) expect(chosen?.shapeId).toBe(trip.shapeId);
        placed[trip.routeId === routeId ? 'own' : onRoute ? 'shared' : 'absent']++;
      }
    }
    // 32 of R1's trips and 3 each of R2 and R3 on their own routes; R2-2 on R3's shared shape and R3-1 on
    // R2's; every other trip is on none of the other routes' shapes.
    expect(trips).toHaveLength(38);
    expect(placed).toEqual({ own: 38, shared: 2, absent: 38 * 3 - 38 - 2 });
  });

  it('answers nothing for a route the feed lacks or one without trips, after one query each', async () => {
    const { documents, sent } = recordingClient();

    const found = await new RouteReferenceSource(documents, table).load(['R4', UNKNOWN, 'R2']);

    expect([...found.keys()]).toEqual(['R2']);
    expect(queriesOf(sent, 'R4')).toHaveLength(1);
    expect(queriesOf(sent, UNKNOWN)).toHaveLength(1);
  });

  it('keeps what it read, found or not, for its TTL: loading the same routes again sends no request', async () => {
    const { documents, sent } = recordingClient();
    const source = new RouteReferenceSource(documents, table);
    const first = await source.load(['R1', 'R2', UNKNOWN]);
    const sentFirst = sent.length;

    const again = await source.load(['R1', 'R2', UNKNOWN]);
    const sentAgain = sent.length;
    const withR3 = await source.load(['R1', 'R3']);

    expect(queriesOf(sent, 'R1').length).toBeGreaterThan(1);
    expect(sentAgain).toBe(sentFirst);
    expect(again).toEqual(first);
    // A route not read yet is read alone.
    expect(sent.slice(sentAgain).filter((r) => r.command === 'QueryCommand')).toEqual(queriesOf(sent, 'R3'));
    expect(queriesOf(sent, 'R3')).toHaveLength(1);
    expect([...withR3.keys()]).toEqual(['R1', 'R3']);
  });

  it('reads every route every time with a TTL of 0', async () => {
    const { documents, sent } = recordingClient();
    const source = new RouteReferenceSource(documents, table, { ttlMs: 0 });

    await source.load(['R2', UNKNOWN]);
    await source.load(['R2', UNKNOWN]);

    expect(queriesOf(sent, 'R2')).toHaveLength(2);
    expect(queriesOf(sent, UNKNOWN)).toHaveLength(2);
  });
});

describe('a reloaded feed', () => {
  it('reaches a source once its TTL has passed; until then the source keeps the feed it read', async () => {
    const table = await freshReferenceTable(`${referenceTable.name}-reload`);
    const first = cityFeed({ trips: 8, shapePoints: 50 });
    await loadFeed(first, table);
    const { documents } = recordingClient();
    const cached = new RouteReferenceSource(documents, table);
    const brief = new RouteReferenceSource(documents, table, { ttlMs: 200 });
    await Promise.all([cached.load(['R2']), brief.load(['R2'])]);
    // R3-1 leaves the shape it shared with R2 (its shape is derived from its stops now).
    const trips = first['trips.txt']!.replace('R3,WD,R3-1,Oost,0,S-SHARED,', 'R3,WD,R3-1,Oost,0,,');

    const { loaded } = await loadFeed({ ...first, 'trips.txt': trips }, table);
    await sleep(250);
    const tripsOfR2 = async (source: RouteReferenceSource) => {
      const item = (await source.load(['R2'])).get('R2') ?? {};
      return [...readRouteReference(item, 'R2').tripShapeIds.keys()].sort();
    };

    expect(loaded.deletedItems).toBeGreaterThan(0);
    expect(await tripsOfR2(cached)).toEqual(['R2-1', 'R2-2', 'R2-3', 'R3-1']);
    expect(await tripsOfR2(brief)).toEqual(['R2-1', 'R2-2', 'R2-3']);
  });
});
