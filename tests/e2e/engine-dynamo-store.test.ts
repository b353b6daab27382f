/**
 * The engine's oracle properties again, on DynamoDB (dynalite through the real SDK) instead of the
 * memory store: conditional writes, the sparse `due` index, write-once outputs and paging as DynamoDB
 * does them. Fewer runs than the unit tests, each on a fresh table.
 */
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '../../local/runtime/emulators.js';
import { DynamoEngineStore } from '../../shared/engine/dynamo-engine-store.js';
import { runBatch, tick } from '../../shared/engine/run-batch.js';
import type { OutputItem, StoredItem } from '../../shared/engine/store.js';
import { tumbling } from '../../shared/engine/window-assigners.js';
import { deliver, partitionsOf, type StoreContents, type TestRecord, workload } from '../helpers/engine-harness.js';
import { everyAccumulator, operatorProperties, testPipeline } from '../helpers/engine-properties.js';
import { createEngineTable } from '../helpers/engine-table.js';

let emulators: Emulators;
let documents: DynamoDBDocumentClient;
let tables = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  documents = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
});
afterAll(() => emulators?.close());

/** A new engine table, as the pipeline construct defines it. */
const freshTable = () => createEngineTable(emulators.dynamodb, `engine-${++tables}`);

async function scan(table: string): Promise<StoreContents> {
  const rows: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    rows.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const strip = ({ dueShard: _d, ttl: _t, ...row }: Record<string, unknown>) => row;
  return {
    items: rows.filter((r) => 'version' in r).map((r) => strip(r) as unknown as StoredItem),
    outputs: rows.filter((r) => !('version' in r)).map((r) => r as unknown as OutputItem),
  };
}

describe.each(operatorProperties)('$name on DynamoDB', (property) => {
  it('end as the naive oracle computes', async () => {
    await fc.assert(
      fc.asyncProperty(workload, async (w) => {
        const table = await freshTable();
        const store = new DynamoEngineStore(documents, table, 'test');
        const partitions = partitionsOf(w);
        property.check(
          partitions,
          await deliver(property.compiled, partitions, w.schedule, { store, dump: () => scan(table) }),
        );
      }),
      { numRuns: 12 },
    );
  });
});

describe('the tick on DynamoDB', () => {
  it('finds due windows through the due index and closes each once', async () => {
    const compiled = testPipeline({
      kind: 'windows',
      name: 'w',
      key: (e) => e.item,
      windows: tumbling(10_000),
      aggregate: everyAccumulator,
    });
    const table = await freshTable();
    const store = new DynamoEngineStore(documents, table, 'test');
    const record = (i: number, ts: number): TestRecord => ({
      event: { entity: 'u1', item: `i${i % 2}`, value: i, stream: 'click', ts },
      eventId: `u1-${i}`,
      ts,
      entity: 'u1',
      stream: 'click',
      partition: 'p0',
      position: String(i).padStart(4, '0'),
    });
    await runBatch(compiled, [record(0, 1_000), record(1, 2_000), record(2, 12_000)], store, { now: 13_000 });

    const first = await tick(compiled, store, { now: 15_000 });
    const second = await tick(compiled, store, { now: 15_000 });
    const later = await tick(compiled, store, { now: 25_000 });

    expect(first.updates.map((u) => u.key).sort()).toEqual(['i0', 'i1']);
    expect(second.closed).toBe(0);
    expect(later.updates.map((u) => [u.key, u.value.windowStart])).toEqual([['i0', 10_000]]);
  });
});
