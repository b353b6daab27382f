import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDynamoReadModels } from '../../../pipelines/transit/queries/dynamo-read-models.js';
import { ts13 } from '../../../pipelines/transit/queries/keys.js';

const tables = {
  vehicleState: 'VehicleState',
  windows: 'Windows',
  anomalies: 'Anomalies',
  etas: 'Eta',
  reference: 'Reference',
  lateEvents: 'LateEvents',
};

/** A document client that records each command and answers from a script, in order. */
function recordingClient(...answers: Record<string, unknown>[]) {
  const sent: { command: string; input: Record<string, unknown> }[] = [];
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      sent.push({ command: command.constructor.name, input: command.input });
      return answers.shift() ?? {};
    },
  };
  return { sent, read: createDynamoReadModels(client as unknown as DynamoDBDocumentClient, tables) };
}

describe('createDynamoReadModels', () => {
  it('gets a vehicle by key', async () => {
    const { sent, read } = recordingClient({ Item: { vehicleId: 'V1' } });

    const vehicle = await read.getVehicle('V1');

    expect(vehicle).toEqual({ vehicleId: 'V1' });
    expect(sent).toEqual([{ command: 'GetCommand', input: { TableName: 'VehicleState', Key: { vehicleId: 'V1' } } }]);
  });

  it('queries the byRoute index and keeps querying until the page is full', async () => {
    const { sent, read } = recordingClient(
      { Items: [{ vehicleId: 'V1' }], LastEvaluatedKey: { routeId: 'R1', vehicleId: 'V1' } },
      { Items: [{ vehicleId: 'V2' }, { vehicleId: 'V3' }], LastEvaluatedKey: { routeId: 'R1', vehicleId: 'V3' } },
    );

    const page = await read.vehiclesOnRoute('R1', { limit: 3 });

    expect(page).toEqual({
      items: [{ vehicleId: 'V1' }, { vehicleId: 'V2' }, { vehicleId: 'V3' }],
      lastKey: { routeId: 'R1', vehicleId: 'V3' },
    });
    expect(sent.map((s) => [s.input.IndexName, s.input.Limit, s.input.ExclusiveStartKey])).toEqual([
      ['byRoute', 3, undefined],
      ['byRoute', 2, { routeId: 'R1', vehicleId: 'V1' }],
    ]);
  });

  it('returns no lastKey once the partition is exhausted', async () => {
    const { read } = recordingClient({ Items: [{ vehicleId: 'V1' }] });

    const page = await read.vehiclesOnRoute('R1', { limit: 3 });

    expect(page.lastKey).toBeUndefined();
  });

  it('queries route windows between from and to', async () => {
    const { sent, read } = recordingClient({ Items: [] });

    await read.routeWindows(
      'R1',
      { from: 1_000, to: 2_000 },
      { limit: 10, startKey: { pk: 'ROUTE#R1', windowStart: 900 } },
    );

    expect(sent[0]?.input).toMatchObject({
      TableName: 'Windows',
      KeyConditionExpression: 'pk = :pk AND windowStart BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': 'ROUTE#R1', ':from': 1_000, ':to': 2_000 },
      ExclusiveStartKey: { pk: 'ROUTE#R1', windowStart: 900 },
    });
  });

  it('counts late events per window with one keys-only range query, across pages', async () => {
    const a = 1_741_089_600_000;
    const b = a + 60_000;
    const { sent, read } = recordingClient(
      {
        Items: [{ sk: `${ts13(a)}#e1` }, { sk: `${ts13(a)}#e2` }],
        LastEvaluatedKey: { routeId: 'R1', sk: `${ts13(a)}#e2` },
      },
      { Items: [{ sk: `${ts13(b)}#e3` }] },
    );

    const counts = await read.lateEventCounts('R1', a, b);

    expect([...counts]).toEqual([
      [a, 2],
      [b, 1],
    ]);
    expect(sent).toHaveLength(2);
    expect(sent[0]?.input).toMatchObject({
      TableName: 'LateEvents',
      KeyConditionExpression: 'routeId = :routeId AND #sk BETWEEN :lo AND :hi',
      ProjectionExpression: '#sk',
      ExpressionAttributeValues: { ':routeId': 'R1', ':lo': `${ts13(a)}#`, ':hi': `${ts13(b)}$` },
    });
    expect(sent[1]?.input.ExclusiveStartKey).toEqual({ routeId: 'R1', sk: `${ts13(a)}#e2` });
  });

  it('reads the stop reference item of the current feed version and the whole ETA partition', async () => {
    const pointer = { Item: { pk: 'FEED', sk: 'CURRENT', version: 'v2' } };
    const { sent, read } = recordingClient(
      pointer,
      { Item: { stopId: 'S1', name: 'Central' } },
      pointer,
      { Items: [{ vehicleId: 'V1' }], LastEvaluatedKey: { stopId: 'S1', vehicleId: 'V1' } },
      { Items: [{ vehicleId: 'V2' }] },
    );

    const stop = await read.getStop('S1');
    const etas = await read.stopEtas('S1');

    expect(stop?.name).toBe('Central');
    expect(sent[1]?.input).toEqual({ TableName: 'Reference', Key: { pk: 'FEED#v2#STOP#S1', sk: 'META' } });
    expect(etas.map((e) => e.vehicleId)).toEqual(['V1', 'V2']);
  });

  it('queries a route partition of anomalies newest first, filtering by type', async () => {
    const { sent, read } = recordingClient({ Items: [] });

    await read.anomaliesOnRoute('R1', { since: 1_000, type: 'stalled' }, { limit: 5 });

    expect(sent[0]?.input).toEqual({
      TableName: 'Anomalies',
      KeyConditionExpression: 'pk = :pk AND #sk >= :since',
      FilterExpression: '#type = :type',
      ExpressionAttributeNames: { '#sk': 'sk', '#type': 'type' },
      ExpressionAttributeValues: { ':pk': 'ROUTE#R1', ':since': '0000000001000', ':type': 'stalled' },
      ScanIndexForward: false,
      Limit: 5,
      ExclusiveStartKey: undefined,
    });
  });

  it('queries one day of the byDay index without a filter when no type is asked for', async () => {
    const { sent, read } = recordingClient({ Items: [] });

    await read.anomaliesOnDay('2025-03-04', { since: 1_000 }, { limit: 5 });

    expect(sent[0]?.input).toMatchObject({
      IndexName: 'byDay',
      KeyConditionExpression: '#day = :day AND #sk >= :since',
      ExpressionAttributeNames: { '#sk': 'sk', '#day': 'day' },
      ExpressionAttributeValues: { ':day': '2025-03-04', ':since': '0000000001000' },
      ScanIndexForward: false,
    });
    expect(sent[0]?.input.FilterExpression).toBeUndefined();
  });

  it('pings with a GetItem on the reference table', async () => {
    const { sent, read } = recordingClient({});

    await read.ping();

    expect(sent).toEqual([
      { command: 'GetCommand', input: { TableName: 'Reference', Key: { pk: 'HEALTH', sk: 'CHECK' } } },
    ]);
  });
});
