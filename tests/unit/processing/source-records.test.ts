import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeCandidates } from '../../../pipelines/transit/events/formats.js';
import { kinesisSourceRecords } from '../../../shared/events/source-records.js';
import { kinesisRecords, pipeline, position, sourceRecords, T0 } from '../../helpers/processing.js';

const agg = createRequire(import.meta.url)('aws-kinesis-agg') as {
  aggregate: (
    records: Array<{ partitionKey: string; data: Buffer }>,
    onEncoded: (encoded: { partitionKey: string; data: Buffer }, done: () => void) => void,
    afterAll: () => void,
    onError: (err: Error) => void,
  ) => void;
};

/** Builds a KPL aggregated payload the way the KPL does, with the library's own aggregator. */
function kplAggregate(events: object[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const blobs: Buffer[] = [];
    agg.aggregate(
      events.map((e) => ({ partitionKey: 'V1', data: Buffer.from(JSON.stringify(e)) })),
      (encoded, done) => {
        blobs.push(encoded.data);
        done();
      },
      () => resolve(blobs[0]!),
      reject,
    );
  });
}

describe('Kinesis source records', () => {
  it('de-aggregates a KPL record into its user records, in order', async () => {
    const blob = await kplAggregate([position({ eventId: 'k1' }), position({ eventId: 'k2', ts: T0 + 1 })]);
    const [record] = kinesisRecords(['placeholder']);
    record!.kinesis.data = blob.toString('base64');
    const records = kinesisSourceRecords([record!]);

    expect(records.map((r) => JSON.parse(r.data.toString()).eventId)).toEqual(['k1', 'k2']);
    expect(records[0]!.position < records[1]!.position).toBe(true);
    expect(new Set(records.map((r) => r.itemIdentifier)).size).toBe(1);
  });

  it('dead-letters a corrupt KPL record instead of failing the batch', async () => {
    const blob = await kplAggregate([position({ eventId: 'k1' })]);
    blob.writeUInt8(blob.readUInt8(blob.length - 1) ^ 0xff, blob.length - 1);
    const [record] = kinesisRecords(['placeholder']);
    record!.kinesis.data = blob.toString('base64');
    const p = pipeline();
    const { stats } = await p.run([
      ...kinesisSourceRecords([record!]),
      ...sourceRecords([position({ eventId: 'ok' })], 2),
    ]);

    expect(stats.rejected).toBe(1);
    expect(p.deadLetters.messages[0]!.reason).toMatch(/KPL/);
    expect(stats.folded).toBe(1);
  });

  it('accepts a JSON array or an events envelope from direct producers', () => {
    const [array] = sourceRecords([[position({ eventId: 'a' }), position({ eventId: 'b' })]]);
    const [envelope] = sourceRecords([{ events: [position({ eventId: 'c' })] }]);
    expect(decodeCandidates(array!).map((c) => (c.value as { eventId: string }).eventId)).toEqual(['a', 'b']);
    expect(decodeCandidates(envelope!)).toHaveLength(1);
  });

  it.each([
    ['[]', 'record holds an empty JSON array: no event to read'],
    ['{"events":[]}', 'record holds an empty "events" array: no event to read'],
  ])('dead-letters the record %s with a reason instead of consuming it without a trace', async (payload, reason) => {
    const p = pipeline();
    const { stats } = await p.run(sourceRecords([payload, position({ eventId: 'ok' })]));

    expect(p.deadLetters.messages).toMatchObject([{ reason, record: { position: expect.any(String) } }]);
    expect(stats).toMatchObject({ rejected: 1, folded: 1 });
  });

  it('dead-letters an event nested 20,000 levels deep, keeping the good events of the same record', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const p = pipeline();
    const { stats } = await p.run(sourceRecords([`[${JSON.stringify(position({ eventId: 'ok' }))},${deep}]`]));

    expect(stats).toMatchObject({ rejected: 1, folded: 1 });
    expect(p.deadLetters.messages[0]!.reason).toBe('invalid event: (event): must be a JSON object, got [["…"]]');
  });

  it('reads an event that carries an undeclared "events" field as one event, not as an envelope', () => {
    const [record] = sourceRecords([{ ...position({ eventId: 'own' }), events: [1, 2] }]);
    expect(decodeCandidates(record!).map((c) => (c.value as { eventId: string }).eventId)).toEqual(['own']);
  });

  it('reads an envelope with other fields as a batch, as the REST ingest does', () => {
    const [record] = sourceRecords([
      { routeId: 'R1', events: [position({ eventId: 'a' }), position({ eventId: 'b' })] },
    ]);
    expect(decodeCandidates(record!).map((c) => (c.value as { eventId: string }).eventId)).toEqual(['a', 'b']);
  });

  it('orders positions of long sequence numbers correctly as strings', () => {
    const [a, b] = kinesisSourceRecords(kinesisRecords([position(), position()], 999));
    expect(a!.position < b!.position).toBe(true);
    expect(a!.position.length).toBe(b!.position.length);
  });
});
