/**
 * How tools find a running local stack: once ready, the stack writes `.local/stack.json` (endpoints,
 * region, resource names, pid) and removes it on stop. A file left by a stack that died without
 * stopping names a pid that no longer runs, and is ignored.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What `.local/stack.json` holds. */
export interface LocalStackDiscovery {
  pid: number;
  /** ISO time the stack became ready. */
  startedAt: string;
  region: string;
  restUrl: string;
  wsUrl: string;
  endpoints: { kinesis: string; dynamodb: string; sqs: string };
  /** Per seed name (`streamfold:seed` metadata, e.g. `gtfs`), the table it loads. */
  seedTables: Record<string, string>;
  /** Logical id → local name (streams, tables, functions) or URL (queues). */
  resources: Record<string, string>;
  /** Tells this stack's file from one another stack wrote later. */
  token: string;
}

/** Where the discovery file of the stack rooted at `root` lives. */
export const discoveryFile = (root: string) => join(root, '.local', 'stack.json');

/**
 * Writes the discovery file (replacing any other: the newest stack is the one tools should find) and
 * returns the step that removes it again, unless a newer stack has replaced it since.
 */
export function announceLocalStack(
  root: string,
  stack: Omit<LocalStackDiscovery, 'pid' | 'startedAt' | 'token'>,
): () => Promise<void> {
  const file = discoveryFile(root);
  const token = randomUUID();
  const content: LocalStackDiscovery = { pid: process.pid, startedAt: new Date().toISOString(), ...stack, token };
  // Write then rename, so a reader never sees half a file.
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`);
  renameSync(temporary, file);
  return async () => {
    if (readDiscovery(file)?.token === token) rmSync(file, { force: true });
  };
}

function readDiscovery(file: string): LocalStackDiscovery | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalStackDiscovery;
  } catch {
    return undefined; // absent, or not ours to understand
  }
}

/** Whether a process with this pid runs (EPERM: it does, under another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running local stack's discovery, `stale` when the file names a process that has gone, or nothing. */
export type DiscoveryResult =
  | { status: 'found'; file: string; stack: LocalStackDiscovery }
  | { status: 'stale'; file: string; stack: LocalStackDiscovery }
  | { status: 'none'; file: string };

/** Looks for the local stack rooted at `root`. */
export function findLocalStack(root: string): DiscoveryResult {
  const file = discoveryFile(root);
  const stack = readDiscovery(file);
  if (!stack || !Number.isInteger(stack.pid) || !stack.endpoints?.dynamodb) return { status: 'none', file };
  return { status: isRunning(stack.pid) ? 'found' : 'stale', file, stack };
}
