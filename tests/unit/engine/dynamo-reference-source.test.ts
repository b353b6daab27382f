/**
 * The DynamoDB reference source over a stand-in document client that answers BatchGetItem (and
 * leaves a key unprocessed once, as throttling does): what it asks for, what it keeps, for how long.
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoReferenceSource } from '../../../shared/engine/dynamo-reference-source.js';

const TABLE = 'Reference';

function table(rows: Record<string, Record<string, unknown>>, { throttleOnce = false, failing = false } = {}) {
  const requests: string[][] = [];
  let throttled = !throttleOnce;
  const client = {
    async send(command: unknown) {
      if (!(command instanceof BatchGetCommand)) throw new Error('only BatchGetItem is expected');
      if (failing) throw new Error('ProvisionedThroughputExceededException');
      const keys = (command.input.RequestItems?.[TABLE]?.Keys ?? []).map((k) => String(k.pk));
      requests.push(keys);
      const [held, ...answered] = throttled ? [undefined, ...keys] : keys;
      throttled = true;
      return {
        Responses: { [TABLE]: answered.filter((k) => k && rows[k]).map((k) => ({ pk: k, ...rows[k as string] })) },
        ...(held ? { UnprocessedKeys: { [TABLE]: { Keys: [{ pk: held }] } } } : {}),
      };
    },
  };
  return { client: client as unknown as DynamoDBDocumentClient, requests };
}

describe('the DynamoDB reference source', () => {
  it('reads the keys by pk in one BatchGetItem, retries what was left unprocessed, and returns items without pk', async () => {
    const { client, requests } = table({ s1: { siteId: 'a' }, s2: { siteId: 'b' } }, { throttleOnce: true });
    const source = new DynamoReferenceSource(client, TABLE);

    const found = await source.load(['s1', 's2', 'ghost']);

    expect(requests).toEqual([['s1', 's2', 'ghost'], ['s1']]);
    expect(found).toEqual(
      new Map([
        ['s1', { siteId: 'a' }],
        ['s2', { siteId: 'b' }],
      ]),
    );
  });

  it('keeps what it read, found or not, for its TTL, then reads again', async () => {
    let now = 1_000;
    const { client, requests } = table({ s1: { siteId: 'a' } });
    const source = new DynamoReferenceSource(client, TABLE, { ttlMs: 60_000, clock: () => now });

    await source.load(['s1', 'ghost']);
    now = 60_999;
    const cached = await source.load(['s1', 'ghost', 's2']);
    now = 61_001;
    await source.load(['s1']);

    expect(requests).toEqual([['s1', 'ghost'], ['s2'], ['s1']]);
    expect(cached).toEqual(new Map([['s1', { siteId: 'a' }]]));
  });

  it('reads every key every time with a TTL of 0, and lets a failed read throw', async () => {
    const { client, requests } = table({ s1: { siteId: 'a' } });
    const uncached = new DynamoReferenceSource(client, TABLE, { ttlMs: 0 });

    await uncached.load(['s1']);
    await uncached.load(['s1']);

    expect(requests).toEqual([['s1'], ['s1']]);
    await expect(new DynamoReferenceSource(table({}, { failing: true }).client, TABLE).load(['s1'])).rejects.toThrow(
      'ProvisionedThroughputExceededException',
    );
  });
});
