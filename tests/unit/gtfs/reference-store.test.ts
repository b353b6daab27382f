import type { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { ReferenceItem } from '../../../shared/gtfs/reference-items.js';
import {
  listRoutes,
  loadRouteReference,
  loadTrip,
  UnprocessedItemsError,
  writeReferenceItems,
} from '../../../shared/gtfs/reference-store.js';

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

describe('read helpers', () => {
  it('loads every shape of a route across query pages', async () => {
    const shape = (id: string) => ({
      pk: 'ROUTE#R1',
      sk: `SHAPE#${id}`,
      shapeId: id,
      points: [[52, 4.9, 0]],
      stops: [],
    });
    const { client, commands } = fakeClient((_, n) =>
      n === 1 ? { Items: [shape('A')], LastEvaluatedKey: { pk: 'ROUTE#R1', sk: 'SHAPE#A' } } : { Items: [shape('B')] },
    );

    const ref = await loadRouteReference('R1', { client, tableName: 'Ref' });

    expect([...ref!.shapes.keys()]).toEqual(['A', 'B']);
    expect(ref!.shapes.get('A')).toEqual({ points: [[52, 4.9, 0]], stops: [] });
    expect((commands[0] as QueryCommand).input.ExpressionAttributeValues).toEqual({
      ':pk': 'ROUTE#R1',
      ':shape': 'SHAPE#',
    });
  });

  it('returns undefined for a route without shapes and a trip that does not exist', async () => {
    const { client } = fakeClient(() => ({ Items: [] }));

    expect(await loadRouteReference('nope', { client, tableName: 'Ref' })).toBeUndefined();
    expect(await loadTrip('nope', { client, tableName: 'Ref' })).toBeUndefined();
  });

  it('loads a trip without its keys', async () => {
    const { client, commands } = fakeClient(() => ({ Item: trips(1)[0] }));

    expect(await loadTrip('T0', { client, tableName: 'Ref' })).toEqual({
      tripId: 'T0',
      routeId: 'R1',
      shapeId: 'S1',
      directionId: 0,
    });
    expect((commands[0] as GetCommand).input.Key).toEqual({ pk: 'TRIP#T0', sk: 'META' });
  });

  it('lists routes from the ROUTES partition', async () => {
    const { client } = fakeClient(() => ({
      Items: [{ pk: 'ROUTES', sk: 'R1', routeId: 'R1', shortName: '1', longName: 'One', routeType: 3 }],
    }));

    expect(await listRoutes({ client, tableName: 'Ref' })).toEqual([
      { routeId: 'R1', shortName: '1', longName: 'One', routeType: 3 },
    ]);
  });
});
