/**
 * Fault injection on the real pipeline: 5 % of the ingest and processor invocations crash (seeded),
 * before or after their handler ran. The REST client retries the 502s and the Kinesis event source
 * retries and bisects the failed batches, so the read models still end exactly as the events say.
 * On both of transit's processor cores (`TRANSIT_PROCESSOR`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GTFS_DIR } from '../../local/simulate.js';
import { paceAndSend, restSender } from '../../local/simulator/senders.js';
import { generateWorkload, simNetworkFromFeed } from '../../local/simulator/workload.js';
import { parseGtfsFeed } from '../../pipelines/transit/gtfs/parse-feed.js';
import { expectedFold, expectLatestStates, expectServedWindows, TEMPLATE_SETTINGS } from '../helpers/expected-fold.js';
import { eventually, startTestStack, type TestStack } from '../helpers/local-stack.js';
import { resourceId } from '../helpers/read-models.js';

const MINUTES = 3;

describe.each(['batch', 'engine'])('fault injection on the %s core', (core) => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      seeds: { gtfs: DEFAULT_GTFS_DIR },
      environment: { TRANSIT_PROCESSOR: core },
      // Seed 86 crashes the processor's 2nd invocation after its handler ran and its 5th before, and 4 of
      // the first 40 ingest invocations: this small run sees both kinds on the Kinesis path.
      faultInjection: { rate: 0.05, seed: 86, functions: ['IngestFunction', 'ProcessorFunction'] },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('ends with correct read models when 5 % of ingest and processor invocations crash', async () => {
    const { emissions } = generateWorkload({
      network: simNetworkFromFeed(await parseGtfsFeed(DEFAULT_GTFS_DIR)),
      vehicles: 6,
      rate: 1,
      minutes: MINUTES,
      startTime: Date.now() - (MINUTES + 1) * 60_000,
      seed: 5_005,
      duplicates: 0.02,
      outOfOrder: 0.01,
      invalid: 0,
    });
    const expected = expectedFold(emissions, TEMPLATE_SETTINGS);

    // Paced (about a dozen events a request), so there are enough invocations for 5 % to be a few crashes.
    const counters = await paceAndSend(
      emissions,
      restSender({ target: stack.restUrl, apiKey: stack.apiKey, maxAttempts: 10 }),
      { speedup: 20, concurrency: 1 },
    );
    expect(counters.failed).toBe(0);

    await eventually(() => expectLatestStates(stack.restUrl, expected), 120_000, 1_000);
    await expectServedWindows(stack.restUrl, expected);
    const faults = stack.metrics().injectedFaults;
    expect(faults[resourceId(stack, 'IngestFunction')]).toBeGreaterThan(0);
    expect(faults[resourceId(stack, 'ProcessorFunction')]).toBeGreaterThan(0);
    expect(await stack.drainQueue(resourceId(stack, 'ProcessorFailureQueue'))).toEqual([]);
  });
});
