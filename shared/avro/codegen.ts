/**
 * Generates `shared/generated/schemas.ts` from the Avro files in `schemas/`: the schemas as constants
 * (so bundled functions need no file access) and a TypeScript interface per record, from the latest version.
 * Run with `npm run codegen`; a unit test fails when the committed file is out of date.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegistryContents } from './schema-registry.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const schemasDir = join(root, 'schemas');
export const generatedFile = join(root, 'shared', 'generated', 'schemas.ts');

type AvroType = string | { type: string; logicalType?: string; items?: AvroType } | AvroType[];
interface AvroField {
  name: string;
  type: AvroType;
  doc?: string;
  default?: unknown;
}
interface AvroRecord {
  type: 'record';
  name: string;
  doc?: string;
  fields: AvroField[];
}

const primitives: Record<string, string> = {
  string: 'string',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  null: 'null',
};

function tsType(type: AvroType): string {
  if (Array.isArray(type)) return type.map(tsType).join(' | ');
  if (typeof type === 'string') {
    const mapped = primitives[type];
    if (!mapped) throw new Error(`codegen: unsupported Avro type "${type}"`);
    return mapped;
  }
  if (type.type === 'array' && type.items) return `Array<${tsType(type.items)}>`;
  return tsType(type.type);
}

/** `vehicle.position.v2.avsc` → { base: 'vehicle.position', version: 2 } */
export function parseSchemaFileName(file: string): { base: string; version: number } | undefined {
  const match = /^(?<base>.+)\.v(?<version>\d+)\.avsc$/.exec(file);
  if (!match?.groups) return undefined;
  return { base: match.groups['base']!, version: Number(match.groups['version']) };
}

const camel = (base: string) => base.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase());
const pascal = (base: string) => camel(base).replace(/^\w/, (c) => c.toUpperCase());

interface Registry {
  schemas: { id: number; file: string }[];
  topics: { name: string; partitions: number; doc?: string }[];
}

/** Thrown when `schemas/registry.json` and the `.avsc` files disagree. */
export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** Checks the registry against the schema files: every file has exactly one id, every id one existing file. */
export function checkRegistry(registry: Registry, schemaFiles: string[]): string[] {
  const problems: string[] = [];
  const ids = new Set<number>();
  const files = new Set<string>();
  for (const { id, file } of registry.schemas) {
    if (!Number.isInteger(id) || id < 1 || id > 0x7fffffff)
      problems.push(`id ${id} of ${file} is not a positive 32-bit integer`);
    if (ids.has(id)) problems.push(`id ${id} is assigned twice`);
    if (files.has(file)) problems.push(`${file} has more than one id`);
    if (!schemaFiles.includes(file)) problems.push(`${file} (id ${id}) does not exist in schemas/`);
    ids.add(id);
    files.add(file);
  }
  for (const file of schemaFiles) if (!files.has(file)) problems.push(`${file} has no id in schemas/registry.json`);
  for (const topic of registry.topics) {
    if (!Number.isInteger(topic.partitions) || topic.partitions < 1)
      problems.push(`topic ${topic.name} needs partitions >= 1`);
  }
  return problems;
}

/** A registry directory read and checked: `registry.json` and every schema family's versions. */
export interface RegistryDirectory {
  registry: Registry;
  /** Family → version → schema, versions in file-name order. */
  families: Map<string, Map<number, AvroRecord>>;
}

/**
 * Reads `registry.json` and the `<family>.v<version>.avsc` files of a directory (`schemas/`, or a test
 * fixture's); throws `RegistryError` naming every disagreement between them.
 */
export function readRegistryDirectory(dir: string): RegistryDirectory {
  const families = new Map<string, Map<number, AvroRecord>>();
  const schemaFiles = readdirSync(dir)
    .filter((file) => parseSchemaFileName(file))
    .sort();
  const registry = JSON.parse(readFileSync(join(dir, 'registry.json'), 'utf8')) as Registry;
  const problems = checkRegistry(registry, schemaFiles);
  if (problems.length > 0)
    throw new RegistryError(`${relative(root, join(dir, 'registry.json'))}: ${problems.join('; ')}`);
  for (const file of schemaFiles) {
    const parsed = parseSchemaFileName(file);
    if (!parsed) throw new Error(`codegen: ${file} is not a schema file name`);
    const schema = JSON.parse(readFileSync(join(dir, file), 'utf8')) as AvroRecord;
    const versions = families.get(parsed.base) ?? new Map<number, AvroRecord>();
    versions.set(parsed.version, schema);
    families.set(parsed.base, versions);
  }
  return { registry, families };
}

/**
 * A registry directory as a `SchemaRegistry` reads it: what the generated module holds for `schemas/`,
 * read at run time, so tests can register fixture families without touching `schemas/`.
 */
export function loadRegistryContents(dir: string): RegistryContents {
  const { registry, families } = readRegistryDirectory(dir);
  return {
    source: relative(root, join(dir, 'registry.json')),
    ids: Object.fromEntries(
      registry.schemas.map(({ id, file }) => {
        const { base, version } = parseSchemaFileName(file)!;
        return [id, { family: base, version }];
      }),
    ),
    families: Object.fromEntries([...families].map(([family, versions]) => [family, Object.fromEntries(versions)])),
  };
}

/** The text of `shared/generated/schemas.ts` for the files in `schemas/`. */
export function generate(): string {
  const { registry, families } = readRegistryDirectory(schemasDir);
  const out = ['// Generated by `npm run codegen` from schemas/*.avsc. Do not edit.', ''];
  for (const [base, versions] of families) {
    const ordered = [...versions.entries()].sort(([a], [b]) => a - b);
    const [latestVersion, latest] = ordered.at(-1)!;
    out.push(`/** Every version of \`${base}\`, oldest first. */`);
    out.push(`export const ${camel(base)}Schemas = {`);
    for (const [version, schema] of ordered) out.push(`  ${version}: ${JSON.stringify(schema)},`);
    out.push('} as const;', '');
    out.push(`export const ${camel(base)}LatestVersion = ${latestVersion};`, '');
    out.push(`/** ${latest.doc ?? latest.name} */`);
    out.push(`export interface ${pascal(base)} {`);
    for (const field of latest.fields) {
      const optional = Array.isArray(field.type) && field.type.includes('null');
      if (field.doc) out.push(`  /** ${field.doc} */`);
      out.push(`  ${field.name}${optional ? '?' : ''}: ${tsType(field.type)};`);
    }
    out.push('}', '');
  }
  out.push('/** Confluent wire-format schema ids (schemas/registry.json) → schema family and version. */');
  out.push('export const schemaIds = {');
  for (const { id, file } of [...registry.schemas].sort((a, b) => a.id - b.id)) {
    const { base, version } = parseSchemaFileName(file)!;
    out.push(`  ${id}: { family: '${base}', version: ${version} },`);
  }
  out.push('} as const;', '');
  out.push('/** Every schema family (`<family>.v<version>.avsc`) by name: its versions, oldest first. */');
  out.push('export const schemaFamilies = {');
  for (const base of families.keys()) out.push(`  '${base}': ${camel(base)}Schemas,`);
  out.push('} as const;', '');
  out.push('/** Kafka topics (schemas/registry.json). */');
  out.push(
    `export const kafkaTopics = ${JSON.stringify(registry.topics.map(({ name, partitions }) => ({ name, partitions })))} as const;`,
    '',
  );
  return out.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(generatedFile, generate());
  console.log(`wrote ${generatedFile}`);
}
