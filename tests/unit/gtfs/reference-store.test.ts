import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  type GetCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { ShapePoint } from '../../../pipelines/transit/geo.js';
import { type ReferenceItem, shapeItem } from '../../../pipelines/transit/gtfs/reference-items.js';
import {
  FeedSwitchConflictError,
  listRoutes,
  loadRouteReference,
  loadStop,
  loadTrip,
  replaceFeed,
  UnprocessedItemsError,
  writeReferenceItems,
} from '../../../pipelines/transit/gtfs/reference-store.js';
import { memoryDocumentClient } from '../../helpers/memory-document-client.js';

type Command = BatchWriteCommand | QueryCommand | GetCommand;

/** A document client double that records commands and answers from a script. */
function fakeClient(answer: (command: Command, n: number) => unknown) {
  const commands: Command[] = [];
  const client = {
    send: async (command: Command) => {
      commands.push(command);
      return answer(command, commands.length);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, commands };
}

const trips = (n: number): ReferenceItem[] =>
  Array.from({ length: n }, (_, i) => ({
    pk: `TRIP#T${i}` as const,
    sk: 'META' as const,
    tripId: `T${i}`,
    routeId: 'R1',
    shapeId: 'S1',
    directionId: 0,
  }));

describe('writeReferenceItems', () => {
  it('writes 25 items per BatchWriteItem request', async () => {
    const { client, commands } = fakeClient(() => ({}));

    const written = await writeReferenceItems(trips(60), { client, tableName: 'Ref' });

    expect(written).toBe(60);
    const sizes = commands.map((c) => (c as BatchWriteCommand).input.RequestItems!['Ref']!.length);
    expect(sizes.sort((a, b) => b - a)).toEqual([25, 25, 10]);
  });

  it('retries unprocessed items until they are written', async () => {
    const { client, commands } = fakeClient((command, n) => {
      const requests = (command as BatchWriteCommand).input.RequestItems!['Ref']!;
      return n === 1 ? { UnprocessedItems: { Ref: requests.slice(20) } } : {};
    });

    const written = await writeReferenceItems(trips(25), { client, tableName: 'Ref', baseDelayMs: 1 });

    expect(written).toBe(25);
    expect((commands[1] as BatchWriteCommand).input.RequestItems!['Ref']).toHaveLength(5);
  });

  it('gives up with UnprocessedItemsError after maxAttempts', async () => {
    const { client } = fakeClient((command) => ({
      UnprocessedItems: (command as BatchWriteCommand).input.RequestItems,
    }));

    await expect(
      writeReferenceItems(trips(3), { client, tableName: 'Ref', baseDelayMs: 1, maxAttempts: 3 }),
    ).rejects.toBeInstanceOf(UnprocessedItemsError);
  });

  it('never puts the same key twice in one request', async () => {
    const { client, commands } = fakeClient(() => ({}));

    await writeReferenceItems([...trips(3), ...trips(3)], { client, tableName: 'Ref' });

    expect((commands[0] as BatchWriteCommand).input.RequestItems!['Ref']).toHaveLength(3);
  });
});

describe('read helpers on a table loaded before feed versions', () => {
  const shape = (id: string): ReferenceItem => ({
    pk: 'ROUTE#R1',
    sk: `SHAPE#${id}`,
    shapeId: id,
    points: [[52, 4.9, 0]],
    stops: [],
  });

  it('loads every shape of a route across query pages', async () => {
    const memory = memoryDocumentClient();
    await writeReferenceItems([shape('A'), shape('B'), shape('C')], {
      client: memory.client,
      tableName: 'Ref',
    });
    const queries: QueryCommand[] = [];
    memory.onSend = (command) => {
      if (command instanceof QueryCommand) queries.push(command);
    };

    const ref = await loadRouteReference('R1', { client: memory.client, tableName: 'Ref' });

    expect([...ref!.shapes.keys()]).toEqual(['A', 'B', 'C']);
    expect(ref!.shapes.get('A')).toEqual({ points: [[52, 4.9, 0]], stops: [] });
    expect(queries).toHaveLength(2);
    expect(queries[0]!.input.ExpressionAttributeValues).toEqual({ ':pk': 'ROUTE#R1', ':shape': 'SHAPE#' });
  });

  it('returns undefined for a route without shapes and a trip that does not exist', async () => {
    const { client } = memoryDocumentClient();

    expect(await loadRouteReference('nope', { client, tableName: 'Ref' })).toBeUndefined();
    expect(await loadTrip('nope', { client, tableName: 'Ref' })).toBeUndefined();
  });

  it('loads a trip without its keys', async () => {
    const { client } = memoryDocumentClient();
    await writeReferenceItems(trips(1), { client, tableName: 'Ref' });

    expect(await loadTrip('T0', { client, tableName: 'Ref' })).toEqual({
      tripId: 'T0',
      routeId: 'R1',
      shapeId: 'S1',
      directionId: 0,
    });
  });

  it('lists routes from the ROUTES partition', async () => {
    const { client } = memoryDocumentClient();
    await writeReferenceItems(
      feed(['R1']).filter((item) => item.pk === 'ROUTES'),
      { client, tableName: 'Ref' },
    );

    expect(await listRoutes({ client, tableName: 'Ref' })).toEqual([
      { routeId: 'R1', shortName: 'R1', longName: 'Route R1', routeType: 3 },
    ]);
  });
});

const POINT: ShapePoint = [52, 4.9, 0];

/** The reference items of a feed with these routes: each with one shape, one trip and one stop of its own. */
function feed(routeIds: string[]): ReferenceItem[] {
  return routeIds.flatMap((routeId): ReferenceItem[] => [
    { pk: 'ROUTES', sk: routeId, routeId, shortName: routeId, longName: `Route ${routeId}`, routeType: 3 },
    shapeItem(routeId, `${routeId}-S`, [POINT], []),
    { pk: `TRIP#${routeId}-T`, sk: 'META', tripId: `${routeId}-T`, routeId, shapeId: `${routeId}-S`, directionId: 0 },
    { pk: `STOP#${routeId}-P`, sk: 'META', stopId: `${routeId}-P`, name: 'P', lat: 52, lon: 4.9, routeIds: [routeId] },
  ]);
}

/** What a reader sees of the feed: route ids, and whether each route's shape, trip and stop are there. */
async function readFeed(client: DynamoDBDocumentClient, routeIds: string[]) {
  const options = { client, tableName: 'Ref' };
  const routes = (await listRoutes(options)).map((r) => r.routeId);
  const complete = await Promise.all(
    routeIds.map(async (id) =>
      Boolean(
        (await loadRouteReference(id, options)) &&
          (await loadTrip(`${id}-T`, options)) &&
          (await loadStop(`${id}-P`, options)),
      ),
    ),
  );
  return { routes, complete: Object.fromEntries(routeIds.map((id, i) => [id, complete[i]])) };
}

describe('replacing the feed', () => {
  it('drops the routes, shapes, trips and stops a newer feed no longer has', async () => {
    const memory = memoryDocumentClient();
    const options = { client: memory.client, tableName: 'Ref' };
    await replaceFeed(feed(['R1', 'R2']), { ...options, version: 'v1' });

    const second = await replaceFeed(feed(['R1']), { ...options, version: 'v2' });

    expect(second).toMatchObject({ version: 'v2', previousVersion: 'v1', written: 4, deleted: 8 });
    expect(await readFeed(memory.client, ['R1', 'R2'])).toEqual({ routes: ['R1'], complete: { R1: true, R2: false } });
    expect(memory.items.size).toBe(4 + 1); // the new feed and the pointer, nothing else
  });

  it('shows a reader during the load the old feed, complete, until it switches', async () => {
    const memory = memoryDocumentClient();
    const options = { client: memory.client, tableName: 'Ref' };
    await replaceFeed(feed(['R1', 'R2']), { ...options, version: 'v1' });
    const seen: Awaited<ReturnType<typeof readFeed>>[] = [];
    let reading = false;
    memory.onSend = async (command) => {
      const writesNewVersion = JSON.stringify(command.input).includes('FEED#v2#');
      if (reading || !(command instanceof BatchWriteCommand) || !writesNewVersion) return;
      reading = true;
      seen.push(await readFeed(memory.client, ['R1', 'R2', 'R3']));
      reading = false;
    };

    await replaceFeed(feed(['R1', 'R3']), { ...options, version: 'v2' });

    expect(seen.length).toBeGreaterThan(0);
    for (const view of seen)
      expect(view).toEqual({ routes: ['R1', 'R2'], complete: { R1: true, R2: true, R3: false } });
    expect(await readFeed(memory.client, ['R1', 'R2', 'R3'])).toEqual({
      routes: ['R1', 'R3'],
      complete: { R1: true, R2: false, R3: true },
    });
  });

  it('reads again from the new feed when its version is replaced and deleted in the middle of a read', async () => {
    const memory = memoryDocumentClient();
    const options = { client: memory.client, tableName: 'Ref' };
    await replaceFeed(feed(['R1']), { ...options, version: 'v1' });
    let replaced = false;
    memory.onSend = async (command) => {
      if (replaced || !(command instanceof QueryCommand)) return;
      replaced = true;
      await replaceFeed(feed(['R2']), { ...options, version: 'v2' });
    };

    expect((await listRoutes(options)).map((r) => r.routeId)).toEqual(['R2']);
  });

  it('replaces a table loaded before feed versions, deleting its unversioned items', async () => {
    const memory = memoryDocumentClient();
    const options = { client: memory.client, tableName: 'Ref' };
    await writeReferenceItems(feed(['R1', 'R2']), options);

    await replaceFeed(feed(['R2']), { ...options, version: 'v1' });

    expect(await readFeed(memory.client, ['R1', 'R2'])).toEqual({ routes: ['R2'], complete: { R1: false, R2: true } });
    expect(memory.items.size).toBe(4 + 1);
  });

  it('leaves a newer load that switched while this one was cleaning up alone', async () => {
    const memory = memoryDocumentClient();
    const options = { client: memory.client, tableName: 'Ref' };
    await replaceFeed(feed(['R1']), { ...options, version: 'v1' });
    let raced = false;
    memory.onSend = async (command) => {
      if (raced || !(command instanceof ScanCommand)) return;
      raced = true;
      await replaceFeed(feed(['R3']), { ...options, version: 'v3' });
    };

    await replaceFeed(feed(['R2']), { ...options, version: 'v2' });

    expect(await readFeed(memory.client, ['R1', 'R2', 'R3'])).toEqual({
      routes: ['R3'],
      complete: { R1: false, R2: false, R3: true },
    });
  });

  it('gives up, removing its own items, when another load switched the feed meanwhile', async () => {
    const memory = memoryDocumentClient();
    const options = { client: memory.client, tableName: 'Ref' };
    await replaceFeed(feed(['R1']), { ...options, version: 'v1' });
    memory.onSend = (command) => {
      if (command instanceof BatchWriteCommand && JSON.stringify(command.input).includes('FEED#v2#')) {
        memory.items.set('FEED\u0000CURRENT', { pk: 'FEED', sk: 'CURRENT', version: 'v9', loadedAt: '' });
      }
    };

    await expect(replaceFeed(feed(['R2']), { ...options, version: 'v2' })).rejects.toBeInstanceOf(
      FeedSwitchConflictError,
    );
    expect([...memory.items.keys()].filter((key) => key.startsWith('FEED#v2#'))).toEqual([]);
  });
});
