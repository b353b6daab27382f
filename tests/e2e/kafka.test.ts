/**
 * The Kafka path against a real Apache Kafka broker that the local runtime starts (Java 17): the same
 * seeded workload through Kafka (Avro) and through Kinesis ends in identical read models, and records
 * written by a producer that is not ours (Debian's kcat) and by ours, in JSON and Avro, are folded
 * while a record that is neither goes to the DLQ with its reason.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GTFS_DIR, DEFAULT_KAFKA_TOPIC } from '../../local/simulate.js';
import { kafkaSender } from '../../local/simulator/kafka-sender.js';
import { kinesisSender, paceAndSend } from '../../local/simulator/senders.js';
import { generateWorkload, simNetworkFromFeed } from '../../local/simulator/workload.js';
import { vehiclePositionFamily } from '../../pipelines/transit/events/formats.js';
import { parseGtfsFeed } from '../../pipelines/transit/gtfs/parse-feed.js';
import type { VehicleState } from '../../pipelines/transit/model.js';
import { encodeConfluentAvro } from '../../shared/events/wire-format.js';
import type { VehiclePosition } from '../../shared/generated/schemas.js';
import { idempotentProducer, kafkaClient } from '../../shared/kafka/client.js';
import {
  type ExpectedFold,
  expectedFold,
  streamDeadLetterPayloads,
  TEMPLATE_SETTINGS,
} from '../helpers/expected-fold.js';
import { eventually, startTestStack, type TestStack } from '../helpers/local-stack.js';
import { readModelSnapshot, resourceId } from '../helpers/read-models.js';

const MINUTES = 8;
const SPEEDUP = 10;

let kafkaStack: TestStack;
let producer: Producer;

/** Runs kcat as a producer; `files` are sent one message each, otherwise each stdin line is one. */
function kcat(args: string[], stdin = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-P', '-b', kafkaStack.kafka!.brokers.join(','), '-t', DEFAULT_KAFKA_TOPIC, ...args]);
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited ${code}: ${stderr}`))));
    child.stdin.end(stdin);
  });
}

/** Waits until the processors saw every event of the expected fold (folded, late or duplicate). */
async function untilFolded(stack: TestStack, expected: ExpectedFold): Promise<void> {
  const target = expected.folded + expected.late + expected.duplicates;
  await eventually(
    () => {
      const { totals } = stack.metrics();
      const seen = (totals.EventsProcessed ?? 0) + (totals.LateEvents ?? 0) + (totals.DuplicatesSkipped ?? 0);
      expect(seen).toBeGreaterThanOrEqual(target);
    },
    240_000,
    1_000,
  );
}

beforeAll(async () => {
  kafkaStack = await startTestStack({ seeds: { gtfs: DEFAULT_GTFS_DIR }, kafka: true });
  producer = idempotentProducer(kafkaClient({ brokers: kafkaStack.kafka!.brokers, clientId: 'streamfold-e2e' }));
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await kafkaStack?.stop();
});

describe('Kafka ingest on a real broker', () => {
  it('ends in the same read models as the Kinesis path for the same seeded workload', async () => {
    const kinesisStack = await startTestStack({ seeds: { gtfs: DEFAULT_GTFS_DIR } });
    try {
      const { emissions, summary } = generateWorkload({
        network: simNetworkFromFeed(await parseGtfsFeed(DEFAULT_GTFS_DIR)),
        vehicles: 24,
        rate: 1,
        minutes: MINUTES,
        startTime: Date.now() - (MINUTES + 2) * 60_000,
        seed: 3_2026,
        duplicates: 0.02,
        outOfOrder: 0.02,
        late: 0.004,
        invalid: 0.01,
        anomalies: true,
      });
      const expected = expectedFold(emissions, TEMPLATE_SETTINGS);
      expect(expected.late).toBeGreaterThan(0);
      expect(summary.anomalies.length).toBeGreaterThan(0);

      // One batch at a time on each path keeps every vehicle's events in the same order on both. Paced
      // (8 minutes in 48 s) so that neither path's partitions drift apart by more than the allowed
      // lateness, the documented limit of batch independence (docs/exactly-once.md).
      const [viaKafka, viaKinesis] = await Promise.all([
        paceAndSend(emissions, kafkaSender({ producer, topic: DEFAULT_KAFKA_TOPIC, format: 'avro' }), {
          speedup: SPEEDUP,
          concurrency: 1,
        }),
        paceAndSend(
          emissions,
          kinesisSender({
            streamName: kinesisStack.resources[resourceId(kinesisStack, 'InputStream')]!,
            client: kinesisStack.kinesis,
          }),
          { speedup: SPEEDUP, concurrency: 1 },
        ),
      ]);
      expect([viaKafka.failed, viaKinesis.failed]).toEqual([0, 0]);
      await Promise.all([untilFolded(kafkaStack, expected), untilFolded(kinesisStack, expected)]);

      const [kafkaModels, kinesisModels] = await Promise.all([
        readModelSnapshot(kafkaStack),
        readModelSnapshot(kinesisStack),
      ]);
      expect(kafkaModels.WindowsTable!.length).toBeGreaterThan(0);
      expect(kafkaModels.AnomaliesTable!.length).toBeGreaterThan(0);
      expect(kafkaModels.LateEventsTable!.length).toBe(expected.late);
      expect(kafkaModels).toEqual(kinesisModels);

      // Dead letters are at least once (a retried batch sends them again): count distinct records.
      const deadLetters = async (stack: TestStack) => {
        const messages = (await stack.drainQueue(resourceId(stack, 'DeadLetterQueue'), 2_000)) as Array<{
          record: { partition: string; position: string };
        }>;
        return new Set(messages.map((m) => `${m.record.partition}@${m.record.position}`)).size;
      };
      const invalid = streamDeadLetterPayloads(emissions, TEMPLATE_SETTINGS).length;
      expect([await deadLetters(kafkaStack), await deadLetters(kinesisStack)]).toEqual([invalid, invalid]);
    } finally {
      await kinesisStack.stop();
    }
  });

  it('folds records from kcat and from our producer, in JSON and in Avro, and dead-letters one that is neither', async () => {
    const now = Date.now();
    const event = (vehicleId: string, n: number): VehiclePosition => ({
      eventId: `${vehicleId}-${n}`,
      vehicleId,
      routeId: 'KAFKA-FORMATS',
      tripId: null,
      lat: 52.37 + n / 1000,
      lon: 4.9,
      speedKmh: 30,
      headingDeg: 0,
      ts: now - 10_000 + n * 1000,
      occupancy: null,
      accuracyM: 3,
    });
    const kcatJson = event('K-KCAT-JSON', 1);
    const kcatAvro = event('K-KCAT-AVRO', 2);
    const oursJson = event('K-OURS-JSON', 3);
    const oursAvro = event('K-OURS-AVRO', 4);
    const deadLetterQueue = resourceId(kafkaStack, 'DeadLetterQueue');
    await kafkaStack.drainQueue(deadLetterQueue, 3_000);
    const avroFile = join(mkdtempSync(join(tmpdir(), 'streamfold-kcat-')), 'event.avro');
    writeFileSync(avroFile, encodeConfluentAvro(kcatAvro, vehiclePositionFamily));

    // The junk record shares its key, so its partition and batch, with a good one.
    await kcat(['-k', kcatJson.vehicleId], `this is not an event\n${JSON.stringify(kcatJson)}\n`);
    await kcat(['-k', kcatAvro.vehicleId, avroFile]);
    const emit = (e: VehiclePosition) => ({ sendAtMs: 0, event: e, key: e.vehicleId });
    for (const [e, format] of [
      [oursJson, 'json'],
      [oursAvro, 'avro'],
    ] as const) {
      const result = await kafkaSender({ producer, topic: DEFAULT_KAFKA_TOPIC, format }).send([emit(e)]);
      expect(result.accepted).toBe(1);
    }

    for (const sent of [kcatJson, kcatAvro, oursJson, oursAvro]) {
      await eventually(async () => {
        const response = await fetch(`${kafkaStack.restUrl}/v1/vehicles/${sent.vehicleId}`);
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({
          eventId: sent.eventId,
          ts: sent.ts,
          lat: sent.lat,
        } satisfies Partial<VehicleState>);
      }, 30_000);
    }
    const dead = (await kafkaStack.drainQueue(deadLetterQueue, 2_000)) as Array<{
      reason: string;
      record: { partition: string };
      payload: string;
    }>;
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(
      /^record is neither JSON nor Avro in the Confluent wire format \(first byte 0x74\)/,
    );
    expect(dead[0]!.record.partition).toMatch(/^vehicle\.position\.v1-\d$/);
    expect(Buffer.from(dead[0]!.payload, 'base64').toString()).toBe('this is not an event');
  });
});
