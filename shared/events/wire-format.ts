/**
 * Wire formats of a record's value: JSON, or Avro binary in the Confluent wire format (magic byte 0,
 * a 4-byte big-endian schema id from `schemas/registry.json`, then the Avro datum). Both may share a
 * topic: JSON never starts with a zero byte.
 */
import avro from 'avsc';
import {
  schemaIds,
  type VehiclePosition,
  vehiclePositionLatestVersion,
  vehiclePositionSchemas,
} from '../generated/schemas.js';

/** The first byte of a Confluent wire-format record. */
export const CONFLUENT_MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/** Wire formats a producer may choose. */
export type WireFormat = 'json' | 'avro';

/** A record value that is not what its wire format says. */
export class WireFormatError extends Error {
  override name = 'WireFormatError';
}

type SchemaId = keyof typeof schemaIds;
type PositionVersion = keyof typeof vehiclePositionSchemas;

const typeOf = (version: PositionVersion) =>
  avro.Type.forSchema(vehiclePositionSchemas[version] as unknown as avro.Schema);
const latestType = typeOf(vehiclePositionLatestVersion);
/** Per schema id: the writer's type and a resolver that reads it as the latest version. */
const readers = new Map(
  Object.entries(schemaIds).map(([id, { version }]) => {
    const writer = typeOf(version);
    return [Number(id), { version, writer, resolver: latestType.createResolver(writer) }];
  }),
);
const idOfVersion = new Map([...readers].map(([id, { version }]) => [version, id]));

/** Whether a value is framed in the Confluent wire format (as opposed to JSON text). */
export const isConfluentFramed = (bytes: Buffer) => bytes.length > 0 && bytes[0] === CONFLUENT_MAGIC_BYTE;

/**
 * Encodes an event as Avro in the Confluent wire format, written with the given schema version
 * (fields that version lacks are dropped).
 */
export function encodeConfluentAvro(event: VehiclePosition, version: PositionVersion = vehiclePositionLatestVersion) {
  const id = idOfVersion.get(version);
  const reader = id === undefined ? undefined : readers.get(id);
  if (id === undefined || !reader) throw new WireFormatError(`vehicle.position v${version} has no schema id`);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(CONFLUENT_MAGIC_BYTE, 0);
  header.writeUInt32BE(id, 1);
  const values = event as unknown as Record<string, unknown>;
  const datum = Object.fromEntries(
    vehiclePositionSchemas[version].fields.map(({ name }) => [name, values[name] ?? null]),
  );
  return Buffer.concat([header, reader.writer.toBuffer(datum)]);
}

/** Encodes an event in a wire format: JSON text or Confluent-framed Avro (latest schema version). */
export function encodeEvent(event: VehiclePosition, format: WireFormat): Buffer {
  return format === 'avro' ? encodeConfluentAvro(event) : Buffer.from(JSON.stringify(event));
}

/**
 * Decodes a Confluent-framed Avro value into a plain object of the latest schema version (older
 * versions are resolved: fields they lack read as their defaults). Throws `WireFormatError` naming
 * the schema id and what is wrong.
 */
export function decodeConfluentAvro(bytes: Buffer): Record<string, unknown> {
  if (bytes.length < HEADER_BYTES) {
    throw new WireFormatError(`Avro record is ${bytes.length} bytes, shorter than the 5-byte Confluent header`);
  }
  const id = bytes.readUInt32BE(1) as SchemaId;
  const reader = readers.get(id);
  if (!reader) {
    throw new WireFormatError(
      `Avro record has schema id ${id}, which schemas/registry.json does not know (known: ${[...readers.keys()].join(', ')})`,
    );
  }
  try {
    return { ...(latestType.fromBuffer(bytes.subarray(HEADER_BYTES), reader.resolver) as Record<string, unknown>) };
  } catch (error) {
    throw new WireFormatError(
      `Avro record does not decode with schema id ${id} (vehicle.position v${reader.version}): ${(error as Error).message}`,
    );
  }
}
