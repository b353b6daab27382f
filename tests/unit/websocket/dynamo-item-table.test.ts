import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDynamoItemTable, UnprocessedItemsError } from '../../../shared/websocket/dynamo-item-table.js';

type Input = Record<string, unknown> & { RequestItems?: Record<string, unknown[]> };

/** A document client that records commands and answers from `answer`. */
function recordingClient(answer: (input: Input, call: number) => Record<string, unknown> = () => ({})) {
  const sent: { command: string; input: Input }[] = [];
  const client = {
    async send(command: { constructor: { name: string }; input: Input }) {
      sent.push({ command: command.constructor.name, input: command.input });
      return answer(command.input, sent.length);
    },
  };
  return { sent, table: createDynamoItemTable(client as unknown as DynamoDBDocumentClient, () => 'Connections') };
}

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ pk: `TOPIC#route:R${i}`, sk: 'c1' }));

describe('createDynamoItemTable', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes in batches of 25', async () => {
    const { sent, table } = recordingClient();

    await table.putAll(items(30));

    expect(sent.map((s) => s.input.RequestItems?.Connections?.length)).toEqual([25, 5]);
    expect(sent[0]?.input.RequestItems?.Connections?.[0]).toEqual({
      PutRequest: { Item: { pk: 'TOPIC#route:R0', sk: 'c1' } },
    });
  });

  it('retries unprocessed items', async () => {
    const retried = { DeleteRequest: { Key: { pk: 'TOPIC#route:R1', sk: 'c1' } } };
    const { sent, table } = recordingClient((_input, call) =>
      call === 1 ? { UnprocessedItems: { Connections: [retried] } } : {},
    );

    await table.deleteAll(items(2));

    expect(sent.map((s) => s.input.RequestItems?.Connections)).toEqual([
      [{ DeleteRequest: { Key: { pk: 'TOPIC#route:R0', sk: 'c1' } } }, retried],
      [retried],
    ]);
  });

  it('gives up after repeated unprocessed items', async () => {
    vi.useFakeTimers();
    const { sent, table } = recordingClient((input) => ({ UnprocessedItems: input.RequestItems }));

    const result = expect(table.putAll(items(1))).rejects.toThrow(UnprocessedItemsError);
    await vi.runAllTimersAsync();
    await result;

    expect(sent).toHaveLength(5);
  });

  it('sends a key once even when asked twice, as BatchWriteItem requires', async () => {
    const { sent, table } = recordingClient();

    await table.deleteAll([...items(2), ...items(2)]);

    expect(sent[0]?.input.RequestItems?.Connections).toHaveLength(2);
  });

  it('reads a partition across pages', async () => {
    const { sent, table } = recordingClient((_input, call) =>
      call === 1
        ? { Items: [{ pk: 'CONN#c1', sk: 'META' }], LastEvaluatedKey: { pk: 'CONN#c1', sk: 'META' } }
        : { Items: [{ pk: 'CONN#c1', sk: 'TOPIC#vehicles' }] },
    );

    const found = await table.partition('CONN#c1');

    expect(found.map((i) => i.sk)).toEqual(['META', 'TOPIC#vehicles']);
    expect(sent[1]?.input).toMatchObject({
      TableName: 'Connections',
      ExclusiveStartKey: { pk: 'CONN#c1', sk: 'META' },
    });
  });
});
