import { describe, expect, it } from 'vitest';
import { decodeCandidates, kafkaSourceRecords, RecordDecodeError } from '../../../shared/events/source-records.js';
import { decodeConfluentAvro, encodeConfluentAvro, encodeEvent } from '../../../shared/events/wire-format.js';
import { pipeline, position, sourceRecords, T0 } from '../../helpers/processing.js';

const framed = (schemaId: number, body: Buffer) => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
};
const record = (data: Buffer) => ({ itemIdentifier: 't-0@1', partition: 't-0', position: '1', data });

describe('Confluent-framed Avro', () => {
  it('starts with magic byte 0 and the schema id of the version written', () => {
    const v2 = encodeConfluentAvro(position({ accuracyM: 4.5 }));
    const v1 = encodeConfluentAvro(position(), 1);

    expect([...v2.subarray(0, 5)]).toEqual([0, 0, 0, 0, 2]);
    expect([...v1.subarray(0, 5)]).toEqual([0, 0, 0, 0, 1]);
  });

  it('round-trips an event written with the latest schema', () => {
    const event = position({ accuracyM: 4.5, occupancy: 12 });

    expect(decodeConfluentAvro(encodeConfluentAvro(event))).toEqual(event);
  });

  it('reads a v1 record as the latest version, with the field v1 lacks null', () => {
    const decoded = decodeConfluentAvro(encodeConfluentAvro(position({ accuracyM: 4.5 }), 1));

    expect(decoded.accuracyM).toBeNull();
    expect(decoded.vehicleId).toBe(position().vehicleId);
  });

  it('names an unknown schema id and the ids it knows', () => {
    const bytes = framed(7, encodeConfluentAvro(position()).subarray(5));

    expect(() => decodeCandidates(record(bytes))).toThrow(
      new RecordDecodeError('Avro record has schema id 7, which schemas/registry.json does not know (known: 1, 2)'),
    );
  });

  it('names the schema when the datum does not decode with it', () => {
    const truncated = encodeConfluentAvro(position()).subarray(0, 12);

    expect(() => decodeCandidates(record(truncated))).toThrow(
      /does not decode with schema id 2 \(vehicle.position v2\)/,
    );
  });

  it('rejects a record shorter than the header', () => {
    expect(() => decodeCandidates(record(Buffer.from([0, 0, 1])))).toThrow(/shorter than the 5-byte Confluent header/);
  });

  it('says a record that is neither format is neither, with its first byte', () => {
    expect(() => decodeCandidates(record(Buffer.from([0xff, 0x01, 0x02])))).toThrow(
      /neither JSON nor Avro in the Confluent wire format \(first byte 0xff\)/,
    );
  });

  it('encodes JSON as the event text', () => {
    const event = position();

    expect(JSON.parse(encodeEvent(event, 'json').toString())).toEqual(event);
  });
});

describe('mixed formats in one batch', () => {
  it('folds JSON and Avro events alike and dead-letters the undecodable record with its reason', async () => {
    const p = pipeline();
    const records = sourceRecords([position({ eventId: 'json-1' })]);
    const avro = {
      ...records[0]!,
      position: `${'0'.repeat(39)}2`,
      data: encodeConfluentAvro(position({ eventId: 'avro-1', ts: T0 + 1000 })),
    };
    const junk = { ...records[0]!, position: `${'0'.repeat(39)}3`, data: framed(99, Buffer.from('x')) };

    const { stats } = await p.run([records[0]!, avro, junk]);

    expect(stats.folded).toBe(2);
    expect(p.deadLetters.messages.map((m) => m.reason)).toEqual([
      'Avro record has schema id 99, which schemas/registry.json does not know (known: 1, 2)',
    ]);
  });
});

describe('Kafka source records', () => {
  const kafkaRecord = (partition: number, offset: number, value?: string) => ({
    topic: 'vehicle.position.v1',
    partition,
    offset,
    timestamp: T0,
    timestampType: 'CREATE_TIME' as const,
    key: Buffer.from('V1').toString('base64'),
    value: value as string,
    headers: [],
  });

  it('keys records by topic-partition and orders them by offset, positions comparing as strings', () => {
    const value = Buffer.from(JSON.stringify(position())).toString('base64');
    const records = kafkaSourceRecords({
      records: {
        'vehicle.position.v1-1': [kafkaRecord(1, 10, value), kafkaRecord(1, 9, value)],
        'vehicle.position.v1-0': [kafkaRecord(0, 3, value)],
      },
    });

    expect(records.map((r) => [r.partition, r.itemIdentifier])).toEqual([
      ['vehicle.position.v1-1', 'vehicle.position.v1-1@9'],
      ['vehicle.position.v1-1', 'vehicle.position.v1-1@10'],
      ['vehicle.position.v1-0', 'vehicle.position.v1-0@3'],
    ]);
    expect(records[0]!.position < records[1]!.position).toBe(true);
  });

  it('marks a tombstone (no value) for the DLQ', () => {
    const [tombstone] = kafkaSourceRecords({ records: { 'vehicle.position.v1-0': [kafkaRecord(0, 1)] } });

    expect(() => decodeCandidates(tombstone!)).toThrow('Kafka record has no value (a tombstone)');
  });

  it('calls an empty value an empty record, not a first byte 0x00', () => {
    const [empty] = kafkaSourceRecords({ records: { 'vehicle.position.v1-0': [kafkaRecord(0, 1, '')] } });

    expect(() => decodeCandidates(empty!)).toThrow('record is empty (0 bytes): no event to read');
  });
});
