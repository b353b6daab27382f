/**
 * Records on the output stream (docs/contracts.md): `{kind, data}` JSON, already in their public shape.
 * An engine pipeline's records are of kind `pipeline` and carry their topics and key; a pipeline that
 * publishes kinds of its own (transit's `vehicle`, `window`, `anomaly`) declares how each is read.
 */

/**
 * A message of a pipeline on the engine: already in its public shape (the pipeline's `publish`
 * shapes it), with the topics it goes to and the key that keeps one key's messages in order.
 */
export interface PipelineOutputRecord {
  kind: 'pipeline';
  /** What it is, as subscribers see it in `kind`, e.g. `alert`, `window`. */
  type: string;
  topics: string[];
  key: string;
  data: Record<string, unknown>;
}

/** How a pipeline's own kind of output record is read: the topics it goes to and its public shape. */
export interface OutputKind {
  topics(data: Record<string, unknown>): string[];
  /** The public shape; projecting a public record changes nothing (a record an older processor wrote is shaped too). */
  project(data: Record<string, unknown>): Record<string, unknown>;
}

/** The record kinds a stack's pipelines publish besides `pipeline`, by kind. */
export type OutputKinds = Readonly<Record<string, OutputKind>>;

/** An output record as the broadcaster pushes it: the kind subscribers see, its topics and public data. */
export interface ReadOutputRecord {
  kind: string;
  topics: string[];
  data: Record<string, unknown>;
}

/** Thrown for an output-stream value that is not a record of a known kind; the message says what is wrong. */
export class InvalidOutputRecordError extends Error {
  override name = 'InvalidOutputRecordError';
}

/** Reads a parsed output-stream value (`what` names it in errors, e.g. its sequence number). */
export function readOutputRecord(value: unknown, kinds: OutputKinds, what: string): ReadOutputRecord {
  const { kind, data } = (value ?? {}) as { kind?: unknown; data?: unknown };
  const known = kind === 'pipeline' || (typeof kind === 'string' && Object.hasOwn(kinds, kind));
  if (typeof kind !== 'string' || !known || typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InvalidOutputRecordError(
      `${what} is not {kind, data} with kind one of ${['pipeline', ...Object.keys(kinds)].join(', ')}`,
    );
  }
  const record = data as Record<string, unknown>;
  if (kind === 'pipeline') {
    const { type, topics, key } = value as { type?: unknown; topics?: unknown; key?: unknown };
    const named = Array.isArray(topics) && topics.every((t) => typeof t === 'string');
    if (typeof type !== 'string' || !named || typeof key !== 'string') {
      throw new InvalidOutputRecordError(`${what} is a pipeline message without type, topics or key`);
    }
    return { kind: type, topics: [...new Set(topics as string[])], data: record };
  }
  const reader = kinds[kind] as OutputKind;
  return { kind, topics: [...new Set(reader.topics(record))], data: reader.project(record) };
}
