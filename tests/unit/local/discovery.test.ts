import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveLoadTarget } from '../../../local/load-gtfs.js';
import {
  announceLocalStack,
  discoveryFile,
  findLocalStack,
  type LocalStackDiscovery,
} from '../../../local/runtime/discovery.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});
const tempRoot = () => {
  const root = mkdtempSync(path.join(tmpdir(), 'streamfold-root-'));
  roots.push(root);
  return root;
};

const STACK = {
  region: 'us-east-1',
  restUrl: 'http://127.0.0.1:3000',
  wsUrl: 'ws://127.0.0.1:3001',
  endpoints: { kinesis: 'http://127.0.0.1:4001', dynamodb: 'http://127.0.0.1:4002', sqs: 'http://127.0.0.1:4003' },
  seedTables: { gtfs: 'ReferenceTableAB12' },
  resources: { ReferenceTableAB12: 'ReferenceTableAB12' },
};

/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

/** The file a stack that died without stopping leaves behind. */
function writeStale(root: string, pid: number) {
  const stale: LocalStackDiscovery = { ...STACK, pid, startedAt: '2026-12-01T00:00:00.000Z', token: 'gone' };
  mkdirSync(path.dirname(discoveryFile(root)), { recursive: true });
  writeFileSync(discoveryFile(root), JSON.stringify(stale));
}

/** Never asked in these tests unless a test says so. */
const noLookups = {
  offlineTable: async () => {
    throw new Error('unexpected ListTables');
  },
  stackTable: async () => {
    throw new Error('unexpected DescribeStacks');
  },
};

describe('local stack discovery file', () => {
  it('is written with this process as the stack and found while it runs', () => {
    const root = tempRoot();

    announceLocalStack(root, STACK);

    const found = findLocalStack(root);
    expect(found).toMatchObject({ status: 'found', stack: { ...STACK, pid: process.pid } });
  });

  it('is removed on stop', async () => {
    const root = tempRoot();
    const remove = announceLocalStack(root, STACK);

    await remove();

    expect(existsSync(discoveryFile(root))).toBe(false);
    expect(findLocalStack(root).status).toBe('none');
  });

  it('is left alone on stop when a newer stack has replaced it', async () => {
    const root = tempRoot();
    const removeOlder = announceLocalStack(root, STACK);
    announceLocalStack(root, { ...STACK, restUrl: 'http://127.0.0.1:3100' });

    await removeOlder();

    expect(findLocalStack(root)).toMatchObject({ status: 'found', stack: { restUrl: 'http://127.0.0.1:3100' } });
  });

  it('is reported stale when its pid no longer runs', () => {
    const root = tempRoot();
    writeStale(root, deadPid());

    expect(findLocalStack(root).status).toBe('stale');
  });
});

describe('where load-gtfs loads into', () => {
  it('finds the running local stack by itself and says which it found', async () => {
    const root = tempRoot();
    announceLocalStack(root, STACK);

    const target = await resolveLoadTarget({}, { root, env: {}, ...noLookups });

    expect(target).toMatchObject({
      tableName: 'ReferenceTableAB12',
      endpoint: 'http://127.0.0.1:4002',
      region: 'us-east-1',
    });
    expect(target.description).toContain(`pid ${process.pid}`);
    expect(target.description).toContain('table ReferenceTableAB12 on http://127.0.0.1:4002');
  });

  it('ignores a stale discovery file and says so', async () => {
    const root = tempRoot();
    const pid = deadPid();
    writeStale(root, pid);

    const target = await resolveLoadTarget({}, { root, env: {}, ...noLookups, stackTable: async () => 'AwsTable' });

    expect(target).toEqual({
      tableName: 'AwsTable',
      description: expect.stringContaining(`(pid ${pid}) is not running`),
    });
  });

  it('says that no local stack runs when the AWS stack cannot be read either', async () => {
    const root = tempRoot();
    writeStale(root, deadPid());
    const stackTable = async () => {
      throw new Error('Region is missing');
    };

    await expect(resolveLoadTarget({}, { root, env: {}, ...noLookups, stackTable })).rejects.toThrow(
      /no local stack is running \(ignored .*stack\.json: its stack \(pid \d+\) is not running\) and the AWS stack Streamfold could not be read \(Region is missing\)/,
    );
  });

  it('lets an explicit --table, --stack or --endpoint win over the running local stack', async () => {
    const root = tempRoot();
    announceLocalStack(root, STACK);
    const options = {
      root,
      env: {},
      offlineTable: async (endpoint: string | undefined) => `TableOn${endpoint}`,
      stackTable: async (name: string) => `TableOf${name}`,
    };

    expect(await resolveLoadTarget({ table: 'Mine' }, options)).toMatchObject({ tableName: 'Mine' });
    expect(await resolveLoadTarget({ table: 'Mine' }, options)).not.toHaveProperty('endpoint');
    expect(await resolveLoadTarget({ stack: 'Other' }, options)).toMatchObject({ tableName: 'TableOfOther' });
    expect(await resolveLoadTarget({ endpoint: 'http://h:1' }, options)).toMatchObject({
      tableName: 'TableOnhttp://h:1',
      endpoint: 'http://h:1',
    });
  });
});
