/**
 * A broker outage in the middle of a run: the local Kafka broker is stopped for 20 seconds while the
 * simulator's idempotent producer is sending and the MSK event source is consuming, then restarted.
 * Every route window must then match a recomputation from the generated events exactly: nothing lost
 * (the producer waited and retried, the consumer re-read from its committed offsets) and nothing
 * counted twice (the broker de-duplicated retried sends, the processor re-folded re-read batches once).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GTFS_DIR, DEFAULT_KAFKA_TOPIC } from '../../local/simulate.js';
import { kafkaSender } from '../../local/simulator/kafka-sender.js';
import { paceAndSend } from '../../local/simulator/senders.js';
import { generateWorkload, simNetworkFromFeed } from '../../local/simulator/workload.js';
import { parseGtfsFeed } from '../../pipelines/transit/gtfs/parse-feed.js';
import { idempotentProducer, kafkaClient } from '../../shared/kafka/client.js';
import {
  expectedFold,
  expectLatestStates,
  expectServedWindows,
  streamDeadLetterPayloads,
  TEMPLATE_SETTINGS,
} from '../helpers/expected-fold.js';
import { eventually, startTestStack, type TestStack } from '../helpers/local-stack.js';
import { resourceId } from '../helpers/read-models.js';

const MINUTES = 6;
/** Event time runs this much faster than the wall clock: 6 minutes of traffic take 45 s to send. */
const SPEEDUP = 8;
const OUTAGE_MS = 20_000;

let stack: TestStack;
let producer: Producer;

beforeAll(async () => {
  stack = await startTestStack({ seeds: { gtfs: DEFAULT_GTFS_DIR }, kafka: true });
  producer = idempotentProducer(kafkaClient({ brokers: stack.kafka!.brokers, clientId: 'streamfold-outage-test' }));
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await stack?.stop();
});

describe('Kafka broker outage', () => {
  it('loses nothing and counts nothing twice when the broker is down for 20 s mid-run', async () => {
    const broker = stack.kafka!.broker!;
    const { emissions } = generateWorkload({
      network: simNetworkFromFeed(await parseGtfsFeed(DEFAULT_GTFS_DIR)),
      vehicles: 12,
      rate: 1,
      minutes: MINUTES,
      startTime: Date.now() - (MINUTES + 1) * 60_000,
      seed: 20_000,
      duplicates: 0.02,
      outOfOrder: 0.01,
      invalid: 0.01,
    });
    const expected = expectedFold(emissions, TEMPLATE_SETTINGS);
    let longestWaitMs = 0;
    const sending = paceAndSend(emissions, kafkaSender({ producer, topic: DEFAULT_KAFKA_TOPIC, format: 'json' }), {
      speedup: SPEEDUP,
      concurrency: 1,
      onBatch: (_result, counters) => {
        longestWaitMs = Math.max(longestWaitMs, counters.lagMs);
      },
    });

    await sleep(12_000);
    const processedBefore = stack.metrics().totals.EventsProcessed ?? 0;
    await broker.stop();
    expect(broker.running).toBe(false);
    await sleep(OUTAGE_MS);
    await broker.restart();
    const counters = await sending;

    // The outage really hit the run: processing had started, and sends waited for the broker to return.
    expect(processedBefore).toBeGreaterThan(0);
    expect(longestWaitMs).toBeGreaterThan(OUTAGE_MS / 2);
    expect(counters.failed, JSON.stringify(counters.lastRejections)).toBe(0);
    expect(counters.accepted).toBe(emissions.length);

    await eventually(() => expectLatestStates(stack.restUrl, expected), 180_000, 1_000);
    await expectServedWindows(stack.restUrl, expected);
    // Dead letters are at least once: a batch re-read after the outage, or re-sent by the producer,
    // dead-letters its invalid events again. Each invalid event is there, and nothing else is.
    const deadLetters = (await stack.drainQueue(resourceId(stack, 'DeadLetterQueue'), 2_000)) as Array<{
      payload: unknown;
    }>;
    const invalid = streamDeadLetterPayloads(emissions, TEMPLATE_SETTINGS);
    expect(invalid.length).toBeGreaterThanOrEqual(expected.invalid);
    const deadEvents = new Set(deadLetters.map((d) => JSON.stringify(d.payload)));
    expect(deadEvents, `${deadLetters.length} dead letters`).toEqual(new Set(invalid));
    const failures = await stack.drainQueue(resourceId(stack, 'KafkaProcessorFailureQueue'));
    expect(failures).toEqual([]);
  });
});
