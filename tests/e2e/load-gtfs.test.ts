// `npm run load-gtfs` as a user runs it, against a running local stack: no variables, no flags. It must
// find the stack through `.local/stack.json` and say which it found.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/runtime/local-stack.js';
import { listRoutes } from '../../pipelines/transit/gtfs/reference-store.js';
import { SYNTHETIC_CITY_DIR, tinyFeed } from '../events/gtfs-feeds.js';
import { startTestStack, type TestStack } from '../helpers/local-stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ seeds: { gtfs: SYNTHETIC_CITY_DIR } });
});

afterAll(async () => {
  await stack?.stop();
});

/** The user's shell without anything that points the AWS SDK somewhere. */
const cleanEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_'))) as NodeJS.ProcessEnv;

describe('npm run load-gtfs against a running local stack', () => {
  it('finds the stack by itself, says which it found and replaces the feed the stack started with', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamfold-feed-'));
    for (const [name, text] of Object.entries(tinyFeed())) writeFileSync(join(dir, name), text);

    const { stdout } = await promisify(execFile)('npx', ['tsx', 'local/load-gtfs.ts', dir], {
      cwd: REPO_ROOT,
      env: cleanEnv(),
    });

    expect(stdout).toContain(`the local stack in .local/stack.json (pid ${process.pid}`);
    expect(stdout).toContain(`on ${stack.endpoints.dynamodb}`);
    expect(stdout).toMatch(/as feed version \S+ \(replacing \S+; \d+ items of earlier feeds deleted\)/);
    const table = stack.resources[Object.keys(stack.resources).find((id) => id.startsWith('ReferenceTable'))!]!;
    // The synthetic city's routes are gone: only the tiny feed's one route is left.
    expect(await listRoutes({ client: stack.dynamo, tableName: table })).toEqual([
      { routeId: 'T1', shortName: '1', longName: 'Oost, via Brug', routeType: 3 },
    ]);
  });
});
