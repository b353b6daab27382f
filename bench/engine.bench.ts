/**
 * `npm run bench` (second part): the engine on the transit bench workload, beside a trivial fold of
 * the same records in the same process.
 *   - engine: `processRecords` of a transit-shaped definition (vehicle-position validation from the Avro
 *     schema; route windows with count, min, max, mean, variance and distinct vehicles; vehicle windows;
 *     keyed vehicle state), per event-source batch, on the memory engine store (it copies nothing);
 *   - trivial: JSON.parse and a Map per (route, window) adding count and speed sum: the floor of any fold.
 *   - per-event: the engine with batches of one record, i.e. one write per read model per event.
 * Prints events per CPU-second (the fold is single-threaded, so per core), the engine/trivial ratio and
 * write requests per 1,000 events beside the per-event baseline.
 */
import { parseArgs } from 'node:util';
import { decodeCandidates } from '../pipelines/transit/events/formats.js';
import { vehiclePositionValidator } from '../pipelines/transit/events/validate.js';
import type { VehiclePosition } from '../pipelines/transit/model.js';
import { count, distinctCount, max, mean, min, stats } from '../shared/engine/accumulators.js';
import { field } from '../shared/engine/aggregate.js';
import type { PipelineDefinition } from '../shared/engine/pipeline.js';
import { processRecords, runnable } from '../shared/engine/process-records.js';
import { MemoryEngineStore } from '../shared/engine/store.js';
import { tumbling } from '../shared/engine/window-assigners.js';
import { BENCH_OPTIONS, fmt, measured, shardBatches, transitBenchWorkload, trivialFold } from './transit-workload.js';

const { values: args } = parseArgs({
  options: {
    ...BENCH_OPTIONS,
    /** `--no-baseline` runs the engine alone (no per-event run), e.g. under `node --cpu-prof`. */
    baseline: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const { events, perShard, batchSize, endOfRun } = await transitBenchWorkload(args);

const MINUTE = 60_000;
const definition: PipelineDefinition<VehiclePosition> = {
  description: {
    name: 'bench',
    constructId: 'BenchPipeline',
    description: 'transit-shaped bench pipeline',
    handlers: 'bench/engine.bench.ts',
    topic: 'vehicle.position.v1',
    partitionKeyField: 'vehicleId',
    routes: [],
    topics: [],
    tickRate: 'rate(1 minute)',
    shards: 2,
  },
  event: {
    validator: vehiclePositionValidator,
    id: (e) => e.eventId,
    time: (e) => e.ts,
    entity: (e) => e.vehicleId,
  },
  allowedLatenessMs: 120_000,
  maxClockSkewMs: 60_000,
  operators: [
    {
      kind: 'windows',
      name: 'route',
      key: (e) => e.routeId,
      windows: tumbling(MINUTE),
      aggregate: {
        count: field(count(), () => 1),
        minSpeedKmh: field(min(), (e) => e.speedKmh),
        maxSpeedKmh: field(max(), (e) => e.speedKmh),
        avgSpeedKmh: field(mean(), (e) => e.speedKmh),
        speed: field(stats(), (e) => e.speedKmh),
        vehicles: field(distinctCount(), (e) => e.vehicleId),
      },
    },
    {
      kind: 'windows',
      name: 'vehicle',
      key: (e) => e.vehicleId,
      windows: tumbling(MINUTE),
      aggregate: { count: field(count(), () => 1), avgSpeedKmh: field(mean(), (e) => e.speedKmh) },
    },
    {
      kind: 'state',
      name: 'position',
      key: (e) => e.vehicleId,
      fold: (state: { ts: number; lat: number; lon: number; speedKmh: number } | undefined, e) =>
        state && state.ts >= e.ts ? state : { ts: e.ts, lat: e.lat, lon: e.lon, speedKmh: e.speedKmh },
    },
  ],
};
const pipeline = runnable(definition, decodeCandidates);

async function engine(size: number) {
  const store = new MemoryEngineStore();
  const ports = {
    store,
    deadLetters: { send: async () => [] },
    publish: async () => undefined,
    clock: () => endOfRun + MINUTE,
  };
  const run = await measured(async () => {
    let accepted = 0;
    for (const batch of shardBatches(perShard, size)) {
      accepted += (await processRecords(pipeline, batch, ports)).stats.accepted;
    }
    return accepted;
  });
  return { ...run, writes: store.requests.writes, reads: store.requests.reads };
}

const fold = await measured(async () => trivialFold(perShard, batchSize, MINUTE));
const batched = await engine(batchSize);
const perEvent = args.baseline ? await engine(1) : undefined;
if (perEvent && batched.value !== perEvent.value) {
  throw new Error(`runs disagree: ${batched.value} vs ${perEvent.value} accepted`);
}

const rate = (r: { value: number; cpuSeconds: number }) => r.value / r.cpuSeconds;
const per1000 = (n: number) => (n / events.length) * 1000;
console.log(`engine bench: ${fmt(events.length)} events, batch size ${batchSize}, node ${process.versions.node}`);
console.log(`trivial fold  events/s per core: ${fmt(rate(fold)).padStart(10)}  (cpu ${fmt(fold.cpuSeconds, 2)} s)`);
for (const [label, r] of [['engine', batched] as const, ...(perEvent ? [['per-event', perEvent] as const] : [])]) {
  console.log(
    `${label.padEnd(13)} events/s per core: ${fmt(rate(r)).padStart(10)}  (cpu ${fmt(r.cpuSeconds, 2)} s)  ` +
      `writes/1k: ${fmt(per1000(r.writes), 1)}  reads/1k: ${fmt(per1000(r.reads), 1)}`,
  );
}
console.log(
  `ratios: trivial/engine ${fmt(rate(fold) / rate(batched), 1)}x` +
    (perEvent ? `, per-event/engine writes ${fmt(perEvent.writes / batched.writes, 2)}x` : ''),
);
