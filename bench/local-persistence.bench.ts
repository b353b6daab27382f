/**
 * `npx tsx bench/local-persistence.bench.ts [--vehicles 40 --minutes 5]`: what the local stack's data dir
 * costs. Starts the stack in memory, then on a fresh data dir, then again on that (now filled) dir, and
 * for each start prints its startup time and the events per second from the first POST /v1/events to the
 * last event folded (EventsProcessed), for one generated workload sent through the REST ingest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startLocalStack } from '../local/runtime/local-stack.js';
import { DEFAULT_GTFS_DIR } from '../local/simulate.js';
import { chunkForRest } from '../local/simulator/senders.js';
import { generateWorkload, simNetworkFromFeed } from '../local/simulator/workload.js';
import { validateVehiclePosition } from '../pipelines/transit/events/validate.js';
import { parseGtfsFeed } from '../pipelines/transit/gtfs/parse-feed.js';

const { values: args } = parseArgs({
  options: { vehicles: { type: 'string', default: '40' }, minutes: { type: 'string', default: '5' } },
});

const network = simNetworkFromFeed(await parseGtfsFeed(DEFAULT_GTFS_DIR));
const dataDir = mkdtempSync(join(tmpdir(), 'streamfold-bench-data-'));
const logDir = mkdtempSync(join(tmpdir(), 'streamfold-bench-logs-'));

const minutes = Number(args.minutes);

/** `endsAgo`: how many workload lengths before now the events end (a restart must not send events older than the state it kept). */
async function measure(label: string, options: { dataDir?: string }, seed: number, endsAgo: number): Promise<void> {
  const { emissions } = generateWorkload({
    network,
    vehicles: Number(args.vehicles),
    rate: 1,
    minutes,
    startTime: Date.now() - ((endsAgo + 1) * minutes + 1) * 60_000,
    seed,
  });
  const valid = emissions.filter(
    (e) => validateVehiclePosition(e.event, { maxClockSkewMs: 60_000 }, Date.now()).ok,
  ).length;
  const stack = await startLocalStack({ seeds: { gtfs: DEFAULT_GTFS_DIR }, logDir, log: () => undefined, ...options });
  try {
    const processedBefore = stack.metrics().totals.EventsProcessed ?? 0;
    const started = Date.now();
    for (const events of chunkForRest(emissions.map((e) => e.event))) {
      const response = await fetch(`${stack.restUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
        body: JSON.stringify({ events }),
      });
      if (response.status !== 202 && response.status !== 207) throw new Error(`HTTP ${response.status}`);
    }
    while ((stack.metrics().totals.EventsProcessed ?? 0) - processedBefore < valid) await sleep(50);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `${label.padEnd(24)} startup ${String(stack.startupMs).padStart(6)} ms, ${valid} events in ${seconds.toFixed(1)} s = ${Math.round(valid / seconds)} events/s`,
    );
  } finally {
    await stack.stop();
  }
}

try {
  await measure('in memory', {}, 1, 1);
  await measure('data dir, first start', { dataDir }, 2, 1);
  await measure('data dir, restart', { dataDir }, 3, 0);
  await measure('in memory, again', {}, 4, 0);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(logDir, { recursive: true, force: true });
}
