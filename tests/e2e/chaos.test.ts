/**
 * Chaos: a seeded run with duplicates, out-of-order, late and invalid events through the real REST ingest,
 * while 5 % of the ingest and processor invocations crash (the local runtime's fault injection), and the
 * whole stack is killed with SIGKILL mid-run and started again on the same data directory. The producer
 * retries what was not acknowledged, as a real one must. Afterwards every route window and vehicle state
 * equals a recomputation from the generated events: nothing lost, nothing counted twice.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GTFS_DIR } from '../../local/simulate.js';
import { chunkForRest } from '../../local/simulator/senders.js';
import { generateWorkload, simNetworkFromFeed } from '../../local/simulator/workload.js';
import { validateVehiclePosition } from '../../pipelines/transit/events/validate.js';
import { parseGtfsFeed } from '../../pipelines/transit/gtfs/parse-feed.js';
import {
  type ExpectedFold,
  expectedFold,
  expectLatestStates,
  expectServedWindows,
  servedRouteWindows,
  TEMPLATE_SETTINGS,
} from '../helpers/expected-fold.js';
import { eventually } from '../helpers/local-stack.js';
import { newPostTally, postUntilAccepted } from '../helpers/rest-ingest.js';
import { type StackProcess, startStackProcess } from '../helpers/stack-process.js';

const MINUTES = 5;
const VEHICLES = 12;
const CHUNK = 20;
// Seed 86 crashes the processor within its first invocations (after and before its handler), so even a
// short run sees both kinds on the processor as well as on ingest.
const FAULTS = { rate: 0.05, seed: 86, functions: ['IngestFunction', 'ProcessorFunction'] };

let stack: StackProcess | undefined;

afterAll(async () => {
  await stack?.stop();
});

/** Events the served route windows lack and hold twice, against the recomputation. */
async function lostAndDoubled(restUrl: string, expected: ExpectedFold) {
  let lost = 0;
  let doubled = 0;
  for (const [routeId, items] of await servedRouteWindows(restUrl, expected)) {
    const served = new Map(items.map((w) => [w.windowStart, w.count]));
    for (const w of [...expected.windows.values()].filter((x) => x.routeId === routeId)) {
      const count = served.get(w.windowStart) ?? 0;
      lost += Math.max(0, w.count - count);
      doubled += Math.max(0, count - w.count);
    }
  }
  return { lost, doubled };
}

describe('chaos', () => {
  it('loses nothing and counts nothing twice under duplicates, late events, crashing handlers and a kill -9', async () => {
    const { emissions, summary } = generateWorkload({
      network: simNetworkFromFeed(await parseGtfsFeed(DEFAULT_GTFS_DIR)),
      vehicles: VEHICLES,
      rate: 1,
      minutes: MINUTES,
      startTime: Date.now() - (MINUTES + 1) * 60_000,
      seed: 20_261_202,
      duplicates: 0.02,
      outOfOrder: 0.02,
      late: 0.005,
      invalid: 0.01,
    });
    const expected = expectedFold(emissions, TEMPLATE_SETTINGS);
    const chunks = chunkForRest(
      emissions.map((e) => e.event),
      CHUNK,
    );
    const dataDir = mkdtempSync(join(tmpdir(), 'streamfold-chaos-'));
    const start = () => startStackProcess({ gtfsDir: DEFAULT_GTFS_DIR, dataDir, faultInjection: FAULTS });
    const tally = newPostTally();
    const faults: Record<string, number> = {};
    const countFaults = async (running: StackProcess) => {
      for (const [id, n] of Object.entries((await running.metrics()).injectedFaults))
        faults[id] = (faults[id] ?? 0) + n;
    };

    stack = await start();
    const killAt = Math.floor(chunks.length / 2);
    for (const chunk of chunks.slice(0, killAt)) await postUntilAccepted(() => stack, chunk, tally);
    // Kill while the second half is being sent and the first is still being processed.
    const rest = (async () => {
      for (const chunk of chunks.slice(killAt)) await postUntilAccepted(() => stack, chunk, tally);
    })();
    await sleep(500);
    await countFaults(stack);
    await stack.kill();
    stack = undefined;
    stack = await start();
    await rest;

    const running = stack;
    await eventually(
      async () => {
        await expectLatestStates(running.restUrl, expected);
        expect(await lostAndDoubled(running.restUrl, expected)).toEqual({ lost: 0, doubled: 0 });
      },
      180_000,
      1_000,
    );
    await countFaults(running);
    const { lost, doubled } = await lostAndDoubled(running.restUrl, expected);
    const deadLetters = await running.drainQueue(running.resourceId('DeadLetterQueue'), 2_000);
    const failures = await running.drainQueue(running.resourceId('ProcessorFailureQueue'));
    const invalid = emissions.filter((e) => !validateVehiclePosition(e.event, TEMPLATE_SETTINGS).ok);
    console.log(
      [
        `chaos: ${emissions.length} events (${summary.byKind.duplicate ?? 0} duplicates, ${summary.byKind['out-of-order'] ?? 0} out of order, ` +
          `${expected.late} late, ${expected.invalid} invalid) from ${VEHICLES} vehicles in ${tally.requests} requests`,
        `  injected crashes: ${Object.entries(faults)
          .map(([id, n]) => `${id} ${n}`)
          .join(', ')}; requests retried ${tally.retried} times; one kill -9 and restart after request ${killAt}`,
        `  read models: ${expected.windows.size} route windows and ${expected.latest.size} vehicle states equal the recomputation; ` +
          `${expected.folded} events folded, lost ${lost}, counted twice ${doubled}`,
        `  dead letters: ${deadLetters.length} for ${invalid.length} invalid events; failure queue ${failures.length}`,
      ].join('\n'),
    );

    await expectServedWindows(running.restUrl, expected);
    const crashes = (prefix: string) =>
      Object.entries(faults).reduce((sum, [id, n]) => (id.startsWith(prefix) ? sum + n : sum), 0);
    expect(crashes('IngestFunction')).toBeGreaterThan(0);
    expect(crashes('ProcessorFunction')).toBeGreaterThan(0);
    expect(expected.late).toBeGreaterThan(0);
    expect(failures).toEqual([]);
    // Dead letters are at least once (a request retried after a crash may dead-letter an event again).
    expect(new Set(deadLetters.map((d) => JSON.stringify((d.body as { payload: unknown }).payload)))).toEqual(
      new Set(invalid.map((e) => JSON.stringify(e.event))),
    );
  });
});
