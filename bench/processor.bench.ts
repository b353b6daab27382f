/**
 * `npm run bench`: one generated workload (default 1,000 vehicles at 1 Hz for 10 minutes of event time,
 * on the synthetic city) through the processor core twice in one process:
 *   - batched: records split over the input stream's shards and folded per event-source batch, as deployed;
 *   - baseline: the same events one at a time (a per-event upsert of every read model).
 * Prints the processor's events per CPU-second (= per core: the fold is single-threaded) and the
 * DynamoDB write and read requests per 1,000 events of each, with the ratio. The store is in memory
 * (and copies nothing), so the figures measure the processor and count the requests it would send, not
 * DynamoDB's latency.
 */
import { parseArgs } from 'node:util';
import type { OutputRecord } from '../pipelines/transit/model.js';
import { MemoryStore } from '../pipelines/transit/processing/memory-store.js';
import { processBatch } from '../pipelines/transit/processing/process-batch.js';
import { BENCH_OPTIONS, fmt, measured, shardBatches, transitBenchWorkload } from './transit-workload.js';

const { values: args } = parseArgs({
  options: {
    ...BENCH_OPTIONS,
    /** `--no-baseline` runs the batched fold alone, e.g. under `node --cpu-prof` to profile its hot path. */
    baseline: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const { reference, events, perShard, shards, batchSize, endOfRun } = await transitBenchWorkload(args);

async function run(label: string, size: number) {
  const store = new MemoryStore();
  let published = 0;
  const deps = {
    store,
    reference,
    publisher: {
      publish: async (records: OutputRecord[]) => {
        published += records.length;
      },
    },
    deadLetters: { send: async () => [] },
    settings: {
      windowSizeMs: 60_000,
      allowedLatenessMs: 120_000,
      maxClockSkewMs: 60_000,
      speedZThreshold: 3,
      stallMs: 300_000,
      maxPlausibleSpeedKmh: 160,
      offRouteMeters: 150,
    },
    clock: () => endOfRun + 60_000,
  };
  const {
    value: folded,
    cpuSeconds,
    wallSeconds,
  } = await measured(async () => {
    let n = 0;
    for (const batch of shardBatches(perShard, size)) n += (await processBatch(batch, deps)).stats.folded;
    return n;
  });
  return { label, size, folded, cpuSeconds, wallSeconds, store, published };
}

const batched = await run('batched', batchSize);
const baseline = args.baseline ? await run('per-event', 1) : undefined;
if (baseline && batched.folded !== baseline.folded)
  throw new Error(`runs disagree: ${batched.folded} vs ${baseline.folded} folded`);

const per1000 = (n: number) => (n / events.length) * 1000;
console.log(
  `workload: ${fmt(events.length)} events (${args.vehicles} vehicles, ${args.rate} Hz, ${args.minutes} min of event time), ` +
    `${shards} shards, batch size ${batchSize}, node ${process.versions.node}`,
);
for (const r of baseline ? [batched, baseline] : [batched]) {
  const models = Object.entries(r.store.writesByModel)
    .map(([model, n]) => `${model} ${fmt(per1000(n), 1)}`)
    .join(', ');
  const reads = Object.entries(r.store.readsByModel)
    .map(([model, n]) => `${model} ${fmt(per1000(n), 1)}`)
    .join(', ');
  console.log(
    `${r.label.padEnd(9)} events/s per core: ${fmt(r.folded / r.cpuSeconds).padStart(9)}  ` +
      `(cpu ${fmt(r.cpuSeconds, 2)} s, wall ${fmt(r.wallSeconds, 2)} s)  ` +
      `write requests per 1,000 events: ${fmt(per1000(r.store.writeRequests), 1)} [${models}], ` +
      `read requests: ${fmt(per1000(r.store.readRequests), 1)} [${reads}]`,
  );
}
if (baseline) {
  console.log(
    `ratio: per-event baseline / batch folding = ${fmt(baseline.store.writeRequests / batched.store.writeRequests, 2)}x write requests; ` +
      `batched processes ${fmt(batched.folded / batched.cpuSeconds / (baseline.folded / baseline.cpuSeconds), 2)}x the events per CPU-second`,
  );
}
