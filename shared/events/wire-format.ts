/**
 * Wire formats of a record's value: JSON, or Avro binary in the Confluent wire format (magic byte 0,
 * a 4-byte big-endian schema id from `schemas/registry.json`, then the Avro datum). Both may share a
 * topic: JSON never starts with a zero byte.
 *
 * Every Avro record is read as one schema family, which the caller names: a record whose id belongs
 * to another family is refused, never decoded with the wrong schema.
 */
import { type SchemaFamily, SchemaRegistry } from '../avro/schema-registry.js';
import { schemaFamilies, schemaIds } from '../generated/schemas.js';

/** The first byte of a Confluent wire-format record. */
export const CONFLUENT_MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/** Wire formats a producer may choose. */
export type WireFormat = 'json' | 'avro';

/** A record value that is not what its wire format says. */
export class WireFormatError extends Error {
  override name = 'WireFormatError';
}

/** The schema families of `schemas/registry.json` (Avro types are built when a family is first used). */
export const schemaRegistry = new SchemaRegistry({
  source: 'schemas/registry.json',
  ids: schemaIds,
  families: schemaFamilies,
});

/** Whether a value is framed in the Confluent wire format (as opposed to JSON text). */
export const isConfluentFramed = (bytes: Buffer) => bytes.length > 0 && bytes[0] === CONFLUENT_MAGIC_BYTE;

/**
 * Encodes a value as Avro in the Confluent wire format, written with the given version of its family
 * (fields that version lacks are dropped, missing ones written as their default or null). Throws
 * `WireFormatError` when the version has no schema id; avsc throws when the value does not fit the schema.
 */
export function encodeConfluentAvro(
  value: object,
  family: SchemaFamily,
  version: number = family.latestVersion,
): Buffer {
  const id = family.idOfVersion.get(version);
  const schema = family.schemaOf(version) as { fields: Array<{ name: string; default?: unknown }> } | undefined;
  const writer = family.writerOf(version);
  if (id === undefined || !schema || !writer) {
    throw new WireFormatError(`${family.name} v${version} has no schema id in ${family.registry.source}`);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(CONFLUENT_MAGIC_BYTE, 0);
  header.writeUInt32BE(id, 1);
  const values = value as Record<string, unknown>;
  // Only the version's fields: a newer value's extra fields are dropped. A missing field takes its
  // default (avsc fills in undefined), or null when it has none (nullable fields without a default).
  const datum = Object.fromEntries(
    schema.fields.map((field) => [field.name, values[field.name] ?? ('default' in field ? undefined : null)]),
  );
  return Buffer.concat([header, writer.toBuffer(datum)]);
}

/** Encodes a value in a wire format: JSON text or Confluent-framed Avro (the family's latest version). */
export function encodeEvent(value: object, format: WireFormat, family: SchemaFamily): Buffer {
  return format === 'avro' ? encodeConfluentAvro(value, family) : Buffer.from(JSON.stringify(value));
}

/** Why a schema id cannot be read as `family`: it belongs to another family, or to none. */
function foreignIdMessage(id: number, family: SchemaFamily): string {
  const expected = `${family.name} (ids ${family.ids.join(', ')})`;
  const owner = family.registry.lookup(id);
  return owner
    ? `Avro record has schema id ${id}, which is ${owner.family} v${owner.version}, not ${expected}`
    : `Avro record has schema id ${id}, which ${family.registry.source} does not know; expected ${expected}`;
}

/**
 * Decodes a Confluent-framed Avro value of `family` into a plain object of the family's latest version
 * (older versions are resolved: fields they lack read as their defaults). Throws `WireFormatError`
 * naming the schema id and what is wrong: a short record, an id of another family or of none (naming
 * both families), or a datum that does not decode.
 */
export function decodeConfluentAvro(bytes: Buffer, family: SchemaFamily): Record<string, unknown> {
  if (bytes.length < HEADER_BYTES) {
    throw new WireFormatError(`Avro record is ${bytes.length} bytes, shorter than the 5-byte Confluent header`);
  }
  const id = bytes.readUInt32BE(1);
  const reader = family.readerOf(id);
  if (!reader) throw new WireFormatError(foreignIdMessage(id, family));
  try {
    return { ...(family.latestType().fromBuffer(bytes.subarray(HEADER_BYTES), reader.resolver) as object) };
  } catch (error) {
    throw new WireFormatError(
      `Avro record does not decode with schema id ${id} (${family.name} v${reader.version}): ${(error as Error).message}`,
      { cause: error },
    );
  }
}
