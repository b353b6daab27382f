import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { loadGtfs } from '../../../local/load-gtfs.js';
import { tinyFeed } from '../../events/gtfs-feeds.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes a feed (file name → text) to a temporary directory, as a user's unzipped feed. */
function feedDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gtfs-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const acceptAll = { send: async () => ({}) } as unknown as DynamoDBDocumentClient;

describe('loadGtfs', () => {
  it('loads a feed without shapes.txt and says how many shapes it derived for how many routes', async () => {
    const files = tinyFeed({
      'trips.txt': 'route_id,service_id,trip_id,direction_id\nT1,W,T1-1,0\n',
    });
    delete files['shapes.txt'];
    const lines: string[] = [];

    const result = await loadGtfs(feedDir(files), 'Ref', { client: acceptAll, log: (line) => lines.push(line) });

    expect(result).toMatchObject({ routes: 1, shapes: 1, trips: 1, stops: 3, derivedShapes: 1, derivedRoutes: 1 });
    expect(lines).toContain(
      "derived 1 shape for 1 route from their trips' stop sequences (trips without a usable shape in shapes.txt)",
    );
  });
});
