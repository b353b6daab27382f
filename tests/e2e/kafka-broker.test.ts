// The local Kafka broker: a real Apache Kafka KRaft node from Maven Central jars, driven through kafkajs.
// Acknowledged messages must survive a stop and restart on the same data dir, and be read exactly once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaBroker, startKafkaBroker } from '../../local/runtime/kafka-broker.js';

const TOPIC = 'telemetry';

let dataDir: string;
let broker: KafkaBroker;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'streamfold-kafka-e2e-'));
  broker = await startKafkaBroker({ dataDir });
});

afterAll(async () => {
  await broker?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const client = (retries = 5) =>
  new Kafka({
    clientId: 'kafka-broker-e2e',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries, initialRetryTime: 100 },
  });

async function produce(values: string[]): Promise<void> {
  const producer = client().producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic: TOPIC, messages: values.map((value) => ({ key: value, value })) });
  } finally {
    await producer.disconnect();
  }
}

/** Reads the topic from the beginning with a new consumer group until `count` messages arrived. */
async function consumeAll(count: number): Promise<string[]> {
  const consumer = client().consumer({ groupId: `e2e-${crypto.randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const values: string[] = [];
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`only ${values.length} of ${count} messages arrived`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value?.toString() ?? '');
          if (values.length >= count) {
            clearTimeout(timer);
            done();
          }
        },
      });
    });
    return values;
  } finally {
    await consumer.disconnect();
  }
}

describe('local Kafka broker', () => {
  it('keeps acknowledged messages across stop and restart, refuses requests while stopped, and serves each once', async () => {
    const admin = client().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const before = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'];
    await produce(before);

    await broker.stop();
    expect(broker.running).toBe(false);
    const offline = client(1).admin();
    await expect(offline.connect().then(() => offline.describeCluster())).rejects.toThrow();
    await offline.disconnect();

    await broker.restart();
    expect(broker.running).toBe(true);
    const after = ['a0', 'a1', 'a2', 'a3'];
    await produce(after);
    const consumed = await consumeAll(before.length + after.length);

    expect(consumed.toSorted()).toEqual([...before, ...after].toSorted());
    const check = client().admin();
    await check.connect();
    const offsets = await check.fetchTopicOffsets(TOPIC);
    await check.disconnect();
    expect(offsets).toHaveLength(2);
    // High watermarks count what the log holds: no duplicate was written by a retried send either.
    expect(offsets.reduce((sum, partition) => sum + Number(partition.high), 0)).toBe(before.length + after.length);
  });
});

describe('local Kafka broker on a kept data dir', () => {
  it('keeps topics and committed offsets when a new broker starts on the same dir, on other ports', async () => {
    const keptDir = mkdtempSync(join(tmpdir(), 'streamfold-kafka-kept-'));
    const connect = (b: KafkaBroker) =>
      new Kafka({ clientId: 'kafka-kept-e2e', brokers: [b.bootstrapServers], logLevel: logLevel.NOTHING });
    /** Produces `value`, then reads with group `g` until `value` arrives, committing; returns what it read. */
    const produceAndRead = async (b: KafkaBroker, value: string) => {
      const kafka = connect(b);
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await producer.send({ topic: 'kept', messages: [{ value }] });
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: 'g' });
      await consumer.connect();
      await consumer.subscribe({ topic: 'kept', fromBeginning: true });
      const read: string[] = [];
      await new Promise<void>((done) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            read.push(message.value?.toString() ?? '');
            if (message.value?.toString() === value) done();
          },
        });
      });
      await consumer.disconnect();
      return read;
    };
    const first = await startKafkaBroker({ dataDir: keptDir });
    try {
      const admin = connect(first).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 1 }], waitForLeaders: true });
      await admin.disconnect();
      expect(await produceAndRead(first, 'before')).toEqual(['before']);
    } finally {
      await first.stop();
    }

    const second = await startKafkaBroker({ dataDir: keptDir });
    try {
      expect(second.bootstrapServers).not.toBe(first.bootstrapServers);
      // The group resumes after its committed offset: 'before' is not read again.
      expect(await produceAndRead(second, 'after')).toEqual(['after']);
    } finally {
      await second.stop();
      rmSync(keptDir, { recursive: true, force: true });
    }
  });
});
