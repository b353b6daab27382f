/**
 * Schema families and their wire-format ids, as `schemas/registry.json` and the `.avsc` files define
 * them: a family is every version of one event type (`vehicle.position.v1.avsc`, `v2`, ...), each
 * version has one schema id, and an id belongs to exactly one family. Avro types are built the first
 * time a family (or one of its ids) is used, not at load time, so a function that reads one family
 * never pays for the others.
 */
import avro from 'avsc';

/** What a registry is built from: the shape `npm run codegen` generates (and `loadRegistry` reads). */
export interface RegistryContents {
  /** Where the ids are defined, as error messages should name it (e.g. `schemas/registry.json`). */
  source: string;
  /** Schema id → its family and version. */
  ids: Readonly<Record<number, { readonly family: string; readonly version: number }>>;
  /** Family → version → Avro schema. */
  families: Readonly<Record<string, Readonly<Record<number, object>>>>;
}

/** A registry whose ids and schemas disagree (an id naming a family or version that has no schema). */
export class SchemaRegistryError extends Error {
  override name = 'SchemaRegistryError';
}

/** How a record written with one schema id is read: the writer's type, and a resolver to the latest version. */
export interface VersionReader {
  id: number;
  version: number;
  writer: avro.Type;
  resolver: avro.Resolver;
}

const typeOf = (schema: object) => avro.Type.forSchema(schema as avro.Schema);

/** One schema family: its versions, their ids, and the types that read any version as the latest. */
export class SchemaFamily {
  /** The highest version; every record of the family is read as this one. */
  readonly latestVersion: number;
  /** Schema id of each version. */
  readonly idOfVersion: ReadonlyMap<number, number>;
  private latest?: avro.Type;
  private readonly readers = new Map<number, VersionReader>();
  private readonly writers = new Map<number, avro.Type>();

  constructor(
    readonly name: string,
    private readonly schemas: Readonly<Record<number, object>>,
    idOfVersion: ReadonlyMap<number, number>,
    /** The registry the family belongs to: it knows which family any other id belongs to. */
    readonly registry: SchemaRegistry,
  ) {
    const versions = Object.keys(schemas).map(Number);
    if (versions.length === 0) throw new SchemaRegistryError(`schema family ${name} has no versions`);
    this.latestVersion = Math.max(...versions);
    this.idOfVersion = idOfVersion;
  }

  /** The family's schema ids, lowest first. */
  get ids(): number[] {
    return [...this.idOfVersion.values()].sort((a, b) => a - b);
  }

  /** The Avro schema of a version, or undefined if the family has no such version. */
  schemaOf(version: number): object | undefined {
    return this.schemas[version];
  }

  /** The type of the latest version (built on first use). */
  latestType(): avro.Type {
    this.latest ??= typeOf(this.schemas[this.latestVersion]!);
    return this.latest;
  }

  /** The writer type of a version (built on first use), or undefined if the family has no such version. */
  writerOf(version: number): avro.Type | undefined {
    const schema = this.schemas[version];
    if (!schema) return undefined;
    let writer = this.writers.get(version);
    if (!writer) {
      writer = version === this.latestVersion ? this.latestType() : typeOf(schema);
      this.writers.set(version, writer);
    }
    return writer;
  }

  /** How to read a record written with `id`, built on first use; undefined if the id is not this family's. */
  readerOf(id: number): VersionReader | undefined {
    const cached = this.readers.get(id);
    if (cached) return cached;
    const version = [...this.idOfVersion].find(([, versionId]) => versionId === id)?.[0];
    if (version === undefined) return undefined;
    const writer = this.writerOf(version)!;
    const reader = { id, version, writer, resolver: this.latestType().createResolver(writer) };
    this.readers.set(id, reader);
    return reader;
  }
}

/**
 * Every schema family of a registry, by name, and which family each schema id belongs to. Building it
 * checks that every id names a family and version that has a schema, and that no version has two ids.
 */
export class SchemaRegistry {
  readonly source: string;
  private readonly ids: RegistryContents['ids'];
  private readonly families = new Map<string, SchemaFamily>();

  constructor(contents: RegistryContents) {
    this.source = contents.source;
    this.ids = contents.ids;
    const idsByFamily = new Map<string, Map<number, number>>();
    const problems: string[] = [];
    for (const [key, { family, version }] of Object.entries(contents.ids)) {
      const id = Number(key);
      if (!contents.families[family]?.[version])
        problems.push(`id ${id} names ${family} v${version}, which has no schema`);
      const versions = idsByFamily.get(family) ?? new Map<number, number>();
      const other = versions.get(version);
      if (other !== undefined) problems.push(`${family} v${version} has two ids (${other} and ${id})`);
      versions.set(version, id);
      idsByFamily.set(family, versions);
    }
    if (problems.length > 0) throw new SchemaRegistryError(`${this.source}: ${problems.join('; ')}`);
    for (const [name, schemas] of Object.entries(contents.families)) {
      this.families.set(name, new SchemaFamily(name, schemas, idsByFamily.get(name) ?? new Map(), this));
    }
  }

  /** The family called `name`; throws `SchemaRegistryError` for a family the registry does not have. */
  family(name: string): SchemaFamily {
    const family = this.families.get(name);
    if (!family) {
      throw new SchemaRegistryError(
        `${this.source} has no schema family ${name} (families: ${[...this.families.keys()].join(', ')})`,
      );
    }
    return family;
  }

  /** The family and version a schema id belongs to, or undefined for an id the registry does not know. */
  lookup(id: number): { family: string; version: number } | undefined {
    return Object.hasOwn(this.ids, id) ? this.ids[id] : undefined;
  }
}
