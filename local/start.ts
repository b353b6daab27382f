/**
 * `npm start [-- --no-simulator --port 3000 --ws-port 3001 --seed N --vehicles 50 --kafka --format json|avro
 *   --data-dir DIR | --in-memory --fresh --log-dir DIR --fault-rate 0.05 --fault-seed N --fault-functions A,B
 *   --schedule-scale 0.01]`
 *
 * Synthesizes the CDK app without bundling and runs its template offline: emulators, tables, streams,
 * queues, every function from source, the Kinesis event sources, the REST and WebSocket APIs, the GTFS
 * reference data and (unless `--no-simulator`) the vehicle simulator against the local REST API.
 * Prints a status line every 5 s; Ctrl-C stops everything and exits 0.
 *
 * `--kafka` also runs the template's MSK event sources: on a local Apache Kafka broker (Java 17 needed),
 * or on the broker(s) in `KAFKA_BROKERS=host:port,...`; the simulator then produces to the Kafka topic
 * (`--format json|avro`) instead of posting to the REST ingest.
 *
 * State (streams, tables, queues, checkpoints, the Kafka broker's data) persists in `.local/data`, or
 * `--data-dir DIR`: a stack stopped or killed and started again resumes where it was. `--fresh` empties
 * the data dir first; `--in-memory` keeps everything in memory (lost at stop), as the tests do.
 *
 * `--fault-rate R` (or `STREAMFOLD_FAULT_RATE`) makes a seeded fraction R of function invocations crash,
 * for chaos runs; `--fault-seed` / `STREAMFOLD_FAULT_SEED` and `--fault-functions` /
 * `STREAMFOLD_FAULT_FUNCTIONS` (comma-separated logical ids) narrow it. Off by default.
 *
 * `--schedule-scale S` (or `STREAMFOLD_SCHEDULE_SCALE`) multiplies the period of the template's
 * `rate(...)` rules: 0.01 runs `rate(1 minute)` every 600 ms. 1 by default.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type LocalStack, REPO_ROOT, startLocalStack } from './runtime/local-stack.js';
import { describeSchedule } from './runtime/scheduler.js';
import { DEFAULT_KAFKA_TOPIC, runSimulator, type SimulatorHandle } from './simulate.js';

const GTFS_DIR = join('local', 'gtfs', 'synthetic-city');
const STATUS_INTERVAL_MS = 5_000;

const { values } = parseArgs({
  allowNegative: true,
  options: {
    simulator: { type: 'boolean', default: true },
    port: { type: 'string', default: process.env.STREAMFOLD_PORT ?? '3000' },
    'ws-port': { type: 'string', default: process.env.STREAMFOLD_WS_PORT ?? '3001' },
    seed: { type: 'string' },
    vehicles: { type: 'string' },
    template: { type: 'string' },
    kafka: { type: 'boolean', default: false },
    format: { type: 'string', default: 'json' },
    'data-dir': { type: 'string', default: process.env.STREAMFOLD_DATA_DIR ?? join('.local', 'data') },
    'in-memory': { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    'log-dir': { type: 'string', default: join('.local', 'logs') },
    'fault-rate': { type: 'string', default: process.env.STREAMFOLD_FAULT_RATE ?? '0' },
    'fault-seed': { type: 'string', default: process.env.STREAMFOLD_FAULT_SEED ?? '1' },
    'fault-functions': { type: 'string', default: process.env.STREAMFOLD_FAULT_FUNCTIONS ?? '' },
    'schedule-scale': { type: 'string', default: process.env.STREAMFOLD_SCHEDULE_SCALE ?? '1' },
  },
});

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`--${name} must be a non-negative integer, got "${value}"`);
  return parsed;
}

function statusLine(stack: LocalStack, simulator: SimulatorHandle | undefined): string {
  const { totals, lagMs, kafkaMappings } = stack.metrics();
  const kafkaLag = Object.values(kafkaMappings)
    .flatMap((m) => Object.values(m.offsetLag))
    .reduce((a, b) => a + b, 0);
  const kafka = Object.keys(kafkaMappings).length > 0 ? `, Kafka lag ${kafkaLag} records` : '';
  const sent = simulator ? ` | simulator sent ${simulator.counters.sent}` : '';
  return (
    `[${new Date().toISOString().slice(11, 19)}] ingested ${totals.EventsAccepted ?? 0}, processed ${totals.EventsProcessed ?? 0}, rejected ${totals.EventsRejected ?? 0}, ` +
    `windows written ${totals.WindowsWritten ?? 0}, anomalies ${totals.AnomaliesDetected ?? 0}, lag ${Math.round(lagMs)} ms${kafka}${sent}`
  );
}

async function main(): Promise<void> {
  const port = integer('port', values.port) ?? 3000;
  const wsPort = integer('ws-port', values['ws-port']) ?? 3001;
  const seed = integer('seed', values.seed);
  const vehicles = integer('vehicles', values.vehicles);

  const format = values.format;
  if (format !== 'json' && format !== 'avro') throw new Error(`--format must be json or avro, got "${format}"`);
  const existingBrokers = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim());
  const kafka = values.kafka ? (existingBrokers ? { brokers: existingBrokers } : true) : undefined;

  const faultRate = Number(values['fault-rate']);
  const faultFunctions = values['fault-functions']
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const faultInjection =
    faultRate > 0 || Number.isNaN(faultRate)
      ? {
          rate: faultRate,
          seed: integer('fault-seed', values['fault-seed']) ?? 1,
          ...(faultFunctions.length > 0 ? { functions: faultFunctions } : {}),
        }
      : undefined;
  const scheduleRateScale = Number(values['schedule-scale']);
  if (!(scheduleRateScale > 0 && Number.isFinite(scheduleRateScale))) {
    throw new Error(
      `--schedule-scale (STREAMFOLD_SCHEDULE_SCALE) must be a positive number, got "${values['schedule-scale']}"`,
    );
  }
  const logDir = resolve(REPO_ROOT, values['log-dir']);
  const dataDir = values['in-memory'] ? undefined : resolve(REPO_ROOT, values['data-dir']);
  if (dataDir && values.fresh) rmSync(dataDir, { recursive: true, force: true });

  console.log(values.template ? `reading ${values.template}` : 'synthesizing infra/app.ts (no bundling)...');
  if (kafka === true) console.log('starting a local Apache Kafka broker (first run fetches its jars with Maven)...');
  const stack = await startLocalStack({
    port,
    wsPort,
    seeds: { gtfs: GTFS_DIR },
    logDir,
    ...(dataDir ? { dataDir } : {}),
    ...(faultInjection ? { faultInjection } : {}),
    scheduleRateScale,
    ...(kafka ? { kafka } : {}),
    ...(values.template ? { templatePath: values.template } : {}),
  });
  let simulator: SimulatorHandle | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      console.log(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = true;
    console.log(`\n${signal}: stopping (simulator, pollers, servers, functions, emulators)...`);
    clearInterval(timer);
    await simulator?.stop().catch((error: unknown) => console.error(`simulator: ${(error as Error).message}`));
    await stack.stop();
    console.log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  if (values.simulator) {
    simulator = await runSimulator({
      target: stack.restUrl,
      apiKey: stack.apiKey,
      ...(stack.kafka ? { kafka: { brokers: stack.kafka.brokers, format } } : {}),
      minutes: 0, // endless, in real time
      ...(seed !== undefined ? { seed } : {}),
      ...(vehicles !== undefined ? { vehicles } : {}),
    });
    simulator.done.catch((error: unknown) => console.error(`simulator stopped: ${(error as Error).message}`));
  }

  console.log(
    [
      `Streamfold local stack ready in ${(stack.startupMs / 1000).toFixed(1)} s`,
      `  REST        ${stack.restUrl}   (POST /v1/events needs x-api-key: ${stack.apiKey}; IAM routes such as GET /v1/anomalies need SigV4 with local/local)`,
      `  WebSocket   ${stack.wsUrl}/?token=${stack.apiKey}   (management API ${stack.wsManagementUrl}/@connections/{id})`,
      `  Kinesis     ${stack.endpoints.kinesis}`,
      `  DynamoDB    ${stack.endpoints.dynamodb}`,
      `  SQS         ${stack.endpoints.sqs}`,
      `  Kafka       ${stack.kafka ? `${stack.kafka.brokers.join(',')} (topic ${DEFAULT_KAFKA_TOPIC})` : 'off (--kafka)'}`,
      `  logs        ${logDir}/<LogicalId>.log, runtime.log`,
      `  faults      ${faultInjection ? `${faultInjection.rate} of invocations crash (seed ${faultInjection.seed}, ${faultFunctions.join(', ') || 'every function'})` : 'off (--fault-rate)'}`,
      `  data        ${dataDir ? `${dataDir} (kept; --fresh to empty, --in-memory for none)` : 'in memory (lost at stop)'}`,
      `  simulator   ${simulator ? `on (${vehicles ?? 'default'} vehicles, seed ${seed ?? 'default'}, to ${stack.kafka ? `Kafka as ${format}` : 'REST'})` : 'off'}`,
      ...stack.plan.schedules.map((rule) => `  schedule    ${describeSchedule(rule, scheduleRateScale)}`),
      ...stack.plan.warnings.map((w) => `  note        ${w}`),
      'Ctrl-C to stop.',
    ].join('\n'),
  );
  timer = setInterval(() => console.log(statusLine(stack, simulator)), STATUS_INTERVAL_MS);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
