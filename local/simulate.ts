/**
 * The vehicle simulator.
 *
 *   npm run simulate -- --vehicles 200 --rate 1 --minutes 5 --target http://127.0.0.1:3000 \
 *     [--stream NAME] [--seed 42] [--speedup 1] [--duplicates 0.01] [--out-of-order 0.01] \
 *     [--late 0.005] [--invalid 0.01] [--anomalies] [--gtfs local/gtfs/synthetic-city] [--api-key local-dev-key]
 *
 * `--stream` sends straight to Kinesis instead of the REST ingest; `--kafka host:port[,host:port]` produces
 * to the Kafka topic (`--format json|avro`, `--topic`, `--msk-iam` for MSK's IAM auth in AWS_REGION).
 * `--minutes 0` runs until Ctrl-C.
 * The local runtime starts the same thing in-process with {@link runSimulator}.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { parseGtfsFeed } from '../pipelines/transit/gtfs/parse-feed.js';
import type { SchemaFamily } from '../shared/avro/schema-registry.js';
import type { WireFormat } from '../shared/events/wire-format.js';
import { kafkaTopics } from '../shared/generated/schemas.js';
import { idempotentProducer, kafkaClient } from '../shared/kafka/client.js';
import { kafkaSender } from './simulator/kafka-sender.js';
import {
  type Delivery,
  kinesisSender,
  newSendCounters,
  paceAndSend,
  restSender,
  type SendCounters,
  type Sender,
} from './simulator/senders.js';
import {
  createWorkload,
  type SimNetwork,
  simNetworkFromFeed,
  type WorkloadOptions,
  type WorkloadSummary,
} from './simulator/workload.js';

export const DEFAULT_GTFS_DIR = path.join(import.meta.dirname, 'gtfs', 'synthetic-city');
export const DEFAULT_TARGET = 'http://127.0.0.1:3000';
export const DEFAULT_API_KEY = 'local-dev-key';

export interface SimulatorOptions extends Omit<WorkloadOptions, 'network'> {
  /** GTFS feed directory to drive. @default local/gtfs/synthetic-city */
  gtfs?: string;
  /** A ready network instead of `gtfs` (saves re-parsing in tests and the local runtime). */
  network?: SimNetwork;
  /** REST base URL. @default http://127.0.0.1:3000 */
  target?: string;
  /** @default STREAMFOLD_API_KEY or local-dev-key */
  apiKey?: string;
  /** Kinesis stream name: when set, events go straight onto the stream instead of the REST ingest. */
  stream?: string;
  kinesisClient?: KinesisClient;
  /** Kafka: when set, events are produced to the topic instead of the REST ingest. */
  kafka?: SimulatorKafkaOptions;
  /** A custom sender (tests); overrides `target`, `stream` and `kafka`. */
  sender?: Sender;
  /** Event time runs this many times faster than real time. @default 1 */
  speedup?: number;
  /** Batches in flight at once. @default 4 */
  concurrency?: number;
}

/** Where and how the simulator produces to Kafka. */
export interface SimulatorKafkaOptions {
  brokers: string[];
  /** @default the first topic of schemas/registry.json (`vehicle.position.v1`) */
  topic?: string;
  /** @default 'json' */
  format?: WireFormat;
  /** Authenticate to MSK with IAM in this region. @default none (plaintext) */
  iamRegion?: string;
  /** The event's schema family, for Avro. @default transit's `vehicle.position` */
  family?: SchemaFamily;
}

/** The default Kafka topic: the first of schemas/registry.json. */
export const DEFAULT_KAFKA_TOPIC: string = kafkaTopics[0].name;

/** A connected idempotent producer and a sender on it. */
async function kafkaDelivery(
  options: SimulatorKafkaOptions,
  clientId: string,
): Promise<{ sender: Sender; close: () => Promise<void> }> {
  const client = kafkaClient({
    brokers: options.brokers,
    clientId,
    ...(options.iamRegion ? { iamRegion: options.iamRegion } : {}),
  });
  const producer = idempotentProducer(client);
  await producer.connect();
  const sender = kafkaSender({
    producer,
    topic: options.topic ?? DEFAULT_KAFKA_TOPIC,
    format: options.format ?? 'json',
    ...(options.family ? { family: options.family } : {}),
  });
  return { sender, close: () => producer.disconnect() };
}

/** Where a simulator's events go, and how fast: the part of {@link SimulatorOptions} every simulator shares. */
export type DeliveryOptions = Pick<
  SimulatorOptions,
  'target' | 'apiKey' | 'stream' | 'kinesisClient' | 'kafka' | 'sender' | 'speedup' | 'concurrency'
> & {
  /** The REST ingest path. @default '/v1/events' */
  path?: string;
  /** The Kafka client id. @default 'streamfold-simulator' */
  clientId?: string;
};

/** Deliveries under way: live counters, the end of the run, and a way to stop it. */
export interface Delivering {
  readonly counters: SendCounters;
  readonly done: Promise<SendCounters>;
  stop(): Promise<SendCounters>;
}

/**
 * Sends `emissions`, paced in event time: through `sender`, else to the Kafka topic, else straight onto
 * the Kinesis stream, else to the REST ingest. Resolves once sending has begun.
 */
export async function startDelivery(emissions: Iterable<Delivery>, options: DeliveryOptions): Promise<Delivering> {
  const kafka =
    !options.sender && options.kafka
      ? await kafkaDelivery(options.kafka, options.clientId ?? 'streamfold-simulator')
      : undefined;
  const sender =
    options.sender ??
    kafka?.sender ??
    (options.stream
      ? kinesisSender({
          streamName: options.stream,
          ...(options.kinesisClient ? { client: options.kinesisClient } : {}),
        })
      : restSender({
          target: options.target ?? DEFAULT_TARGET,
          apiKey: options.apiKey ?? process.env['STREAMFOLD_API_KEY'] ?? DEFAULT_API_KEY,
          ...(options.path ? { path: options.path } : {}),
        }));
  const abort = new AbortController();
  const counters = newSendCounters();
  const done = paceAndSend(emissions, sender, {
    speedup: options.speedup ?? 1,
    signal: abort.signal,
    counters,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  }).finally(() => kafka?.close());
  return {
    counters,
    done,
    async stop() {
      abort.abort();
      return done;
    },
  };
}

/** A running simulator. */
export interface SimulatorHandle {
  /** Live delivery counters. */
  readonly counters: SendCounters;
  /** Live workload summary (emissions generated, by kind, injected anomalies). */
  readonly summary: WorkloadSummary;
  /** Resolves when the run ends (all minutes sent, or stopped). */
  readonly done: Promise<SendCounters>;
  /** Stops generating, waits for in-flight batches. */
  stop(): Promise<SendCounters>;
}

/**
 * Event time starts now in real time; with a speedup the run is placed in the past so that it ends
 * around now, because the ingest rejects events more than 5 minutes in the future.
 */
export function defaultStartTime(minutes: number, speedup: number, now = Date.now()): number {
  return speedup > 1 && minutes > 0 ? now - minutes * 60_000 : now;
}

/** Starts the simulator; resolves once the feed is parsed and sending has begun. */
export async function runSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const network = options.network ?? simNetworkFromFeed(await parseGtfsFeed(options.gtfs ?? DEFAULT_GTFS_DIR));
  const speedup = options.speedup ?? 1;
  const minutes = options.minutes ?? 5;
  const workload = createWorkload({
    ...options,
    network,
    minutes,
    startTime: options.startTime ?? defaultStartTime(minutes, speedup),
  });
  const delivering = await startDelivery(workload.emissions, { ...options, speedup });
  return { ...delivering, summary: workload.summary };
}

const number = (name: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number, got "${raw}"`);
  return value;
};

async function main() {
  const { values } = parseArgs({
    options: {
      vehicles: { type: 'string' },
      rate: { type: 'string' },
      minutes: { type: 'string' },
      target: { type: 'string' },
      stream: { type: 'string' },
      seed: { type: 'string' },
      speedup: { type: 'string' },
      duplicates: { type: 'string' },
      'out-of-order': { type: 'string' },
      late: { type: 'string' },
      invalid: { type: 'string' },
      'omit-event-id': { type: 'string' },
      anomalies: { type: 'boolean' },
      'stall-minutes': { type: 'string' },
      'start-time': { type: 'string' },
      gtfs: { type: 'string' },
      'api-key': { type: 'string' },
      concurrency: { type: 'string' },
      kafka: { type: 'string' },
      topic: { type: 'string' },
      format: { type: 'string' },
      'msk-iam': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run simulate -- [--vehicles 200] [--rate 1] [--minutes 5 (0 = until Ctrl-C)]\n' +
        '  [--target URL | --stream NAME | --kafka BROKERS [--format json|avro] [--topic NAME] [--msk-iam]]\n' +
        '  [--seed 42] [--speedup 1] [--duplicates 0.01] [--out-of-order 0.01] [--late 0.005] [--invalid 0.01]\n' +
        '  [--omit-event-id 0.05] [--anomalies] [--stall-minutes 5] [--start-time ISO] [--gtfs DIR] [--api-key KEY]',
    );
    return;
  }
  if (values.stream && process.env['AWS_ENDPOINT_URL_KINESIS']) {
    // The emulators accept any credentials, but the SDK still insists on having some.
    process.env['AWS_REGION'] ??= 'us-east-1';
    process.env['AWS_ACCESS_KEY_ID'] ??= 'local';
    process.env['AWS_SECRET_ACCESS_KEY'] ??= 'local';
  }
  const format = values.format ?? 'json';
  if (format !== 'json' && format !== 'avro') throw new Error(`--format must be json or avro, got "${format}"`);
  if (values.format && !values.kafka) throw new Error('--format applies to --kafka only');
  const region = process.env['AWS_REGION'];
  if (values['msk-iam'] && !region) throw new Error('--msk-iam signs with IAM in AWS_REGION; set AWS_REGION');
  const kafka: SimulatorKafkaOptions | undefined = values.kafka
    ? {
        brokers: values.kafka.split(',').map((b) => b.trim()),
        format,
        ...(values.topic ? { topic: values.topic } : {}),
        ...(values['msk-iam'] && region ? { iamRegion: region } : {}),
      }
    : undefined;
  const startTime = values['start-time'] ? Date.parse(values['start-time']) : undefined;
  if (Number.isNaN(startTime)) throw new Error(`--start-time must be an ISO-8601 time, got "${values['start-time']}"`);
  const handle = await runSimulator({
    vehicles: number('vehicles', values.vehicles, 200),
    rate: number('rate', values.rate, 1),
    minutes: number('minutes', values.minutes, 5),
    seed: number('seed', values.seed, 42),
    speedup: number('speedup', values.speedup, 1),
    duplicates: number('duplicates', values.duplicates, 0),
    outOfOrder: number('out-of-order', values['out-of-order'], 0),
    late: number('late', values.late, 0),
    invalid: number('invalid', values.invalid, 0),
    omitEventId: number('omit-event-id', values['omit-event-id'], 0.05),
    anomalies: values.anomalies ?? false,
    stallMinutes: number('stall-minutes', values['stall-minutes'], 5),
    concurrency: number('concurrency', values.concurrency, 4),
    ...(startTime === undefined ? {} : { startTime }),
    ...(values.gtfs ? { gtfs: path.resolve(values.gtfs) } : {}),
    ...(values.target ? { target: values.target } : {}),
    ...(values.stream ? { stream: values.stream } : {}),
    ...(kafka ? { kafka } : {}),
    ...(values['api-key'] ? { apiKey: values['api-key'] } : {}),
  });
  const report = () => {
    const c = handle.counters;
    console.log(
      `sent ${c.sent} (accepted ${c.accepted}, rejected ${c.rejected}, failed ${c.failed}) in ${c.batches} batches, lag ${Math.round(c.lagMs)} ms`,
    );
  };
  const timer = setInterval(report, 5_000);
  process.once('SIGINT', () => void handle.stop());
  await handle.done;
  clearInterval(timer);
  report();
  const { byKind, anomalies, skippedAnomalies, eventIdOmitted } = handle.summary;
  console.log(JSON.stringify({ byKind, eventIdOmitted, anomalies, skippedAnomalies }, null, 2));
  if (handle.counters.lastRejections.length > 0) {
    console.log('last rejections:', JSON.stringify(handle.counters.lastRejections.slice(-3)));
  }
  if (handle.counters.failed > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exitCode = 1;
  });
}
