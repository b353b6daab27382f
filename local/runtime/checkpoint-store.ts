/**
 * Where Kinesis event-source pollers keep their checkpoints (the sequence number of the last record of
 * each shard that succeeded or went to the on-failure destination): in memory, or in one JSON file of
 * the data dir so a restarted stack resumes after it, as Lambda's mapping does after a poller restart.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Checkpoints by key (`<mapping logical id>/<shard id>`). */
export interface CheckpointStore {
  get(key: string): string | undefined;
  /** Records `sequenceNumber` as done; durable before it returns when the store is file-backed. */
  set(key: string, sequenceNumber: string): void;
}

/** Checkpoints that live as long as the process (the in-memory stack). */
export function memoryCheckpoints(): CheckpointStore {
  const checkpoints = new Map<string, string>();
  return { get: (key) => checkpoints.get(key), set: (key, seq) => void checkpoints.set(key, seq) };
}

/**
 * Checkpoints in `file`, rewritten whole on every change through a temporary file and a rename, so a
 * kill at any moment leaves either the old or the new content, never half of one. The file is small
 * (one entry per shard and mapping) and written once per batch, not per record.
 */
export function fileCheckpoints(file: string): CheckpointStore {
  const checkpoints: Record<string, string> = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>)
    : {};
  return {
    get: (key) => checkpoints[key],
    set: (key, seq) => {
      if (checkpoints[key] === seq) return;
      checkpoints[key] = seq;
      writeFileSync(`${file}.tmp`, JSON.stringify(checkpoints, null, 2));
      renameSync(`${file}.tmp`, file);
    },
  };
}
