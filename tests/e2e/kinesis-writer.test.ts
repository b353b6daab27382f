/**
 * The Kinesis writer against kinesalite through the real SDK: PutRecords in chunks of 500, each
 * entity's events in order on its shard, and a partial failure retried for the failed entries only.
 * Kinesalite never rejects part of a request, so a middleware on the client plays Kinesis under load:
 * it sends only some entries of a request on and reports the others failed, as PutRecords does.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStream, type Emulators, emulatorClientConfig, startEmulators } from '../../local/runtime/emulators.js';
import { KinesisEventWriter, PublishError } from '../../shared/streams/kinesis-writer.js';

interface Reading {
  id: string;
  entity: string;
  seq: number;
}

let emulators: Emulators;
let streams = 0;

beforeAll(async () => {
  emulators = await startEmulators();
});
afterAll(() => emulators?.close());

async function freshStream(shardCount = 2) {
  const name = `writer-${++streams}`;
  const shards = await createStream(emulators.kinesis, { logicalId: name, name, shardCount });
  return { name, shards };
}

/** Every record of the stream, shard by shard, in each shard's order. */
async function readAll(name: string, shards: string[]): Promise<Reading[][]> {
  return Promise.all(
    shards.map(async (ShardId) => {
      const { ShardIterator } = await emulators.kinesis.send(
        new GetShardIteratorCommand({ StreamName: name, ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      const out: Reading[] = [];
      let iterator = ShardIterator;
      while (iterator) {
        const page = await emulators.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        out.push(...(page.Records ?? []).map((r) => JSON.parse(Buffer.from(r.Data ?? []).toString()) as Reading));
        iterator = (page.Records ?? []).length > 0 ? page.NextShardIterator : undefined;
      }
      return out;
    }),
  );
}

const readings = (count: number, entities: number): Reading[] =>
  Array.from({ length: count }, (_, i) => ({ id: `r${i}`, entity: `e${i % entities}`, seq: Math.floor(i / entities) }));

/**
 * A client whose PutRecords requests lose the entries `reject` picks (by attempt and index): they are
 * not sent, and come back with Kinesis' throughput error, the others with the emulator's result.
 */
function throttledClient(reject: (call: number, index: number) => boolean) {
  const client = new KinesisClient(emulatorClientConfig(emulators.endpoints.kinesis));
  const calls: number[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutRecordsCommand') return next(args);
      const input = args.input as PutRecordsCommandInput;
      const records = input.Records ?? [];
      const call = calls.push(records.length) - 1;
      const kept = records.map((_, index) => !reject(call, index));
      // A request of no entries is invalid: when every entry is rejected, nothing is sent.
      const sent = kept.some(Boolean)
        ? await next({ ...args, input: { ...input, Records: records.filter((_, i) => kept[i]) } })
        : { response: {}, output: { $metadata: {} } };
      const results = [...((sent.output as PutRecordsCommandOutput).Records ?? [])];
      const output: PutRecordsCommandOutput = {
        ...(sent.output as PutRecordsCommandOutput),
        FailedRecordCount: kept.filter((k) => !k).length,
        Records: kept.map((k) =>
          k
            ? (results.shift() ?? {})
            : { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' },
        ),
      };
      return { ...sent, output };
    },
    { step: 'initialize', name: 'throttleSomeEntries' },
  );
  return { client, calls };
}

describe('KinesisEventWriter on kinesalite', () => {
  it('puts every event once in chunks of 500, each entity in order on one shard', async () => {
    const { name, shards } = await freshStream();
    const writer = new KinesisEventWriter<Reading>(emulators.kinesis, name, (r) => r.entity);
    const sent = readings(1_203, 7);

    await writer.write(sent);

    const perShard = await readAll(name, shards);
    expect(
      perShard
        .flat()
        .map((r) => r.id)
        .sort(),
    ).toEqual(sent.map((r) => r.id).sort());
    for (const shard of perShard) {
      const entities = new Set(shard.map((r) => r.entity));
      for (const entity of entities) {
        const seqs = shard.filter((r) => r.entity === entity).map((r) => r.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
    }
    expect(perShard.filter((shard) => shard.length > 0)).toHaveLength(2);
  });

  it('retries only the entries Kinesis rejected, so none is lost and none is written twice', async () => {
    const { name, shards } = await freshStream();
    const { client, calls } = throttledClient((call, index) => call === 0 && index % 3 === 0);
    const sent = readings(300, 5);

    await new KinesisEventWriter<Reading>(client, name, (r) => r.entity).write(sent);

    expect(calls).toEqual([300, 100]);
    expect(
      (await readAll(name, shards))
        .flat()
        .map((r) => r.id)
        .sort(),
    ).toEqual(sent.map((r) => r.id).sort());
    client.destroy();
  });

  it('fails with the count and the stream when some entries are rejected on every attempt', async () => {
    const { name } = await freshStream(1);
    const { client, calls } = throttledClient((_, index) => index === 0);

    const write = new KinesisEventWriter<Reading>(client, name, (r) => r.entity).write(readings(4, 2));

    await expect(write).rejects.toThrow(PublishError);
    await expect(write).rejects.toThrow(`1 records not accepted by ${name}`);
    expect(calls).toEqual([4, 1, 1, 1, 1, 1]);
    client.destroy();
  });
});
