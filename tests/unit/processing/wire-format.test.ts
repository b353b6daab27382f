import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { describe, expect, it, vi } from 'vitest';
import { decodeCandidates, vehiclePositionFamily as vehicles } from '../../../pipelines/transit/events/formats.js';
import { loadRegistryContents } from '../../../shared/avro/codegen.js';
import { SchemaRegistry, SchemaRegistryError } from '../../../shared/avro/schema-registry.js';
import { kafkaSourceRecords, RecordDecodeError } from '../../../shared/events/source-records.js';
import { decodeConfluentAvro, encodeConfluentAvro, encodeEvent } from '../../../shared/events/wire-format.js';
import { schemaFamilies, schemaIds, type VehiclePosition } from '../../../shared/generated/schemas.js';
import { pipeline, position, sourceRecords, T0 } from '../../helpers/processing.js';

const framed = (schemaId: number, body: Buffer) => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
};
const record = (data: Buffer) => ({ itemIdentifier: 't-0@1', partition: 't-0', position: '1', data });
/** Decodes a record's value as the processor does, reading Avro as vehicle positions. */
const decodeVehicles = (data: Buffer) => decodeCandidates(record(data));
const encode = (event: VehiclePosition, version?: number) => encodeConfluentAvro(event, vehicles, version);

describe('Confluent-framed Avro', () => {
  it('starts with magic byte 0 and the schema id of the version written', () => {
    const v2 = encode(position({ accuracyM: 4.5 }));
    const v1 = encode(position(), 1);

    expect([...v2.subarray(0, 5)]).toEqual([0, 0, 0, 0, 2]);
    expect([...v1.subarray(0, 5)]).toEqual([0, 0, 0, 0, 1]);
  });

  it('round-trips an event written with the latest schema', () => {
    const event = position({ accuracyM: 4.5, occupancy: 12 });

    expect(decodeConfluentAvro(encode(event), vehicles)).toEqual(event);
  });

  it('reads a v1 record as the latest version, with the field v1 lacks null', () => {
    const decoded = decodeConfluentAvro(encode(position({ accuracyM: 4.5 }), 1), vehicles);

    expect(decoded.accuracyM).toBeNull();
    expect(decoded.vehicleId).toBe(position().vehicleId);
  });

  it('names an unknown schema id and the family and ids it expected', () => {
    const bytes = framed(7, encode(position()).subarray(5));

    expect(() => decodeVehicles(bytes)).toThrow(
      new RecordDecodeError(
        'Avro record has schema id 7, which schemas/registry.json does not know; expected vehicle.position (ids 1, 2)',
      ),
    );
  });

  it('names the schema when the datum does not decode with it', () => {
    const truncated = encode(position()).subarray(0, 12);

    expect(() => decodeVehicles(truncated)).toThrow(/does not decode with schema id 2 \(vehicle.position v2\)/);
  });

  it('rejects a record shorter than the header', () => {
    expect(() => decodeVehicles(Buffer.from([0, 0, 1]))).toThrow(/shorter than the 5-byte Confluent header/);
  });

  it('says a record that is neither format is neither, with its first byte', () => {
    expect(() => decodeVehicles(Buffer.from([0xff, 0x01, 0x02]))).toThrow(
      /neither JSON nor Avro in the Confluent wire format \(first byte 0xff\)/,
    );
  });

  it('encodes JSON as the event text', () => {
    const event = position();

    expect(JSON.parse(encodeEvent(event, 'json', vehicles).toString())).toEqual(event);
  });
});

/** schemas/ plus a second family, test.donation (ids 101, 102), from the fixture under tests/events/avro. */
const fixture = loadRegistryContents(fileURLToPath(new URL('../../events/avro', import.meta.url)));
const twoFamilies = () =>
  new SchemaRegistry({
    source: 'the test registry',
    ids: { ...schemaIds, ...fixture.ids },
    families: { ...schemaFamilies, ...fixture.families },
  });
const donation = { donationId: 'D1', campaignId: 'C1', amountCents: 2500, ts: T0 };

describe('schema families', () => {
  it('decodes a record of a second family with that family’s schema', () => {
    const donations = twoFamilies().family('test.donation');

    const decoded = decodeConfluentAvro(encodeConfluentAvro({ ...donation, currency: 'USD' }, donations), donations);

    expect(decoded).toEqual({ ...donation, currency: 'USD' });
  });

  it('reads an older version of the second family as its latest, with the default v1 lacks', () => {
    const donations = twoFamilies().family('test.donation');
    const v1 = encodeConfluentAvro(donation, donations, 1);

    expect([...v1.subarray(0, 5)]).toEqual([0, 0, 0, 0, 101]);
    expect(decodeConfluentAvro(v1, donations)).toEqual({ ...donation, currency: 'EUR' });
  });

  it('refuses a record of another family, naming its id and both families', () => {
    const registry = twoFamilies();
    const donationRecord = encodeConfluentAvro(donation, registry.family('test.donation'));

    expect(() => decodeConfluentAvro(donationRecord, registry.family('vehicle.position'))).toThrow(
      'Avro record has schema id 102, which is test.donation v2, not vehicle.position (ids 1, 2)',
    );
  });

  it('refuses a vehicle position read as a donation, however well its bytes might happen to decode', () => {
    const registry = twoFamilies();
    const vehicleRecord = encodeConfluentAvro(position(), registry.family('vehicle.position'), 1);

    expect(() => decodeConfluentAvro(vehicleRecord, registry.family('test.donation'))).toThrow(
      'Avro record has schema id 1, which is vehicle.position v1, not test.donation (ids 101, 102)',
    );
  });

  it('builds a family’s Avro types on its first record, and only that family’s', () => {
    const forSchema = vi.spyOn(avro.Type, 'forSchema');
    try {
      const registry = twoFamilies();
      const donations = registry.family('test.donation');
      registry.family('vehicle.position');
      expect(forSchema).not.toHaveBeenCalled();

      decodeConfluentAvro(encodeConfluentAvro(donation, donations), donations);

      const records = forSchema.mock.calls
        .map(([schema]) => schema as { type?: string; name?: string })
        .filter((schema) => schema.type === 'record');
      expect(records.map((schema) => schema.name)).toEqual(['Donation']);
    } finally {
      forSchema.mockRestore();
    }
  });

  it('refuses a registry whose id names a version without a schema, or gives a version two ids', () => {
    const build = () =>
      new SchemaRegistry({
        source: 'a broken registry',
        ids: {
          ...fixture.ids,
          103: { family: 'test.donation', version: 3 },
          104: { family: 'test.donation', version: 1 },
        },
        families: fixture.families,
      });

    expect(build).toThrow(SchemaRegistryError);
    expect(build).toThrow(
      'a broken registry: id 103 names test.donation v3, which has no schema; test.donation v1 has two ids (101 and 104)',
    );
  });

  it('names the families it has when asked for one it does not', () => {
    expect(() => twoFamilies().family('donation')).toThrow(
      'the test registry has no schema family donation (families: vehicle.position, test.donation)',
    );
  });
});

describe('mixed formats in one batch', () => {
  it('folds JSON and Avro events alike and dead-letters the undecodable record with its reason', async () => {
    const p = pipeline();
    const records = sourceRecords([position({ eventId: 'json-1' })]);
    const avro = {
      ...records[0]!,
      position: `${'0'.repeat(39)}2`,
      data: encode(position({ eventId: 'avro-1', ts: T0 + 1000 })),
    };
    const junk = { ...records[0]!, position: `${'0'.repeat(39)}3`, data: framed(99, Buffer.from('x')) };

    const { stats } = await p.run([records[0]!, avro, junk]);

    expect(stats.folded).toBe(2);
    expect(p.deadLetters.messages.map((m) => m.reason)).toEqual([
      'Avro record has schema id 99, which schemas/registry.json does not know; expected vehicle.position (ids 1, 2)',
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
