import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root; entries and the lock file are resolved against it. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Absolute path of a repo-relative file, failing at synth time when the file is missing. */
export function repoPath(relative: string): string {
  if (isAbsolute(relative)) throw new Error(`expected a repo-relative path, got "${relative}"`);
  const absolute = join(repoRoot, relative);
  if (!existsSync(absolute)) throw new Error(`${relative} does not exist (resolved to ${absolute})`);
  return absolute;
}
