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
import { DEFAULT_GTFS_DIR } from '../local/simulate.js';
import { generateWorkload, simNetworkFromFeed } from '../local/simulator/workload.js';
import type { SourceRecord } from '../shared/events/source-records.js';
import { padPosition } from '../shared/events/source-records.js';
import { parseGtfsFeed } from '../shared/gtfs/parse-feed.js';
import type { OutputRecord } from '../shared/model.js';
import { MemoryStore } from '../shared/processing/memory-store.js';
import type { ReferenceSource, ShapeRef } from '../shared/processing/ports.js';
import { processBatch } from '../shared/processing/process-batch.js';

const { values: args } = parseArgs({
  options: {
    vehicles: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '1' },
    minutes: { type: 'string', default: '10' },
    shards: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '500' },
    seed: { type: 'string', default: '7' },
    /** `--no-baseline` runs the batched fold alone, e.g. under `node --cpu-prof` to profile its hot path. */
    baseline: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const shards = Number(args.shards);
const batchSize = Number(args['batch-size']);

const feed = await parseGtfsFeed(DEFAULT_GTFS_DIR);
const shapesByRoute = new Map<string, Map<string, ShapeRef>>();
for (const rs of feed.routeShapes) {
  const shapes = shapesByRoute.get(rs.routeId) ?? new Map<string, ShapeRef>();
  shapes.set(rs.shapeId, { shapeId: rs.shapeId, points: rs.points, stops: rs.stops });
  shapesByRoute.set(rs.routeId, shapes);
}
const reference: ReferenceSource = {
  routeShapes: async (routeId) => shapesByRoute.get(routeId),
  tripShapeId: async (tripId) => feed.trips.get(tripId)?.shapeId,
};

const startTime = Date.UTC(2026, 0, 5, 7, 0, 0);
const { emissions } = generateWorkload({
  network: simNetworkFromFeed(feed),
  vehicles: Number(args.vehicles),
  rate: Number(args.rate),
  minutes: Number(args.minutes),
  startTime,
  seed: Number(args.seed),
});
const events = emissions.map((e) => e.event as { vehicleId: string });
const endOfRun = startTime + Number(args.minutes) * 60_000;

/** Kinesis hashes the partition key to a shard; any stable hash spreads vehicles the same way. */
const shardOf = (vehicleId: string) => {
  let h = 0;
  for (const c of vehicleId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % shards;
};
const perShard: SourceRecord[][] = Array.from({ length: shards }, () => []);
for (const event of events) {
  const shard = shardOf(event.vehicleId);
  const list = perShard[shard]!;
  list.push({
    itemIdentifier: String(list.length + 1),
    partition: `shardId-${String(shard).padStart(12, '0')}`,
    position: padPosition(list.length + 1),
    data: Buffer.from(JSON.stringify(event)),
  });
}

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
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  // Shards are processed round-robin, batch by batch, as concurrent event-source pollers would interleave.
  const cursors = perShard.map(() => 0);
  let folded = 0;
  while (cursors.some((c, i) => c < perShard[i]!.length)) {
    for (let i = 0; i < shards; i++) {
      const records = perShard[i]!;
      if (cursors[i]! >= records.length) continue;
      const batch = records.slice(cursors[i], cursors[i]! + size);
      cursors[i]! += batch.length;
      folded += (await processBatch(batch, deps)).stats.folded;
    }
  }
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wallSeconds = (performance.now() - wallBefore) / 1000;
  return { label, size, folded, cpuSeconds, wallSeconds, store, published };
}

const batched = await run('batched', batchSize);
const baseline = args.baseline ? await run('per-event', 1) : undefined;
if (baseline && batched.folded !== baseline.folded)
  throw new Error(`runs disagree: ${batched.folded} vs ${baseline.folded} folded`);

const per1000 = (n: number) => (n / events.length) * 1000;
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
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
