/**
 * The benches' workload: 1,000 vehicles at 1 Hz for 10 minutes of event time (by default) on the
 * synthetic city, as Kinesis records spread over the input stream's shards by vehicle.
 */
import { DEFAULT_GTFS_DIR } from '../local/simulate.js';
import { generateWorkload, simNetworkFromFeed } from '../local/simulator/workload.js';
import { parseGtfsFeed } from '../pipelines/transit/gtfs/parse-feed.js';
import type { ReferenceSource, ShapeRef } from '../pipelines/transit/processing/ports.js';
import { padPosition, type SourceRecord } from '../shared/events/source-records.js';

/** The command-line options every bench of this workload takes. */
export const BENCH_OPTIONS = {
  vehicles: { type: 'string', default: '1000' },
  rate: { type: 'string', default: '1' },
  minutes: { type: 'string', default: '10' },
  shards: { type: 'string', default: '2' },
  'batch-size': { type: 'string', default: '500' },
  seed: { type: 'string', default: '7' },
} as const;

export interface BenchArgs {
  vehicles: string;
  rate: string;
  minutes: string;
  shards: string;
  'batch-size': string;
  seed: string;
}

export async function transitBenchWorkload(args: BenchArgs) {
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
    const list = perShard[shard] as SourceRecord[];
    list.push({
      itemIdentifier: String(list.length + 1),
      partition: `shardId-${String(shard).padStart(12, '0')}`,
      position: padPosition(list.length + 1),
      data: Buffer.from(JSON.stringify(event)),
    });
  }
  return { feed, reference, events, perShard, shards, batchSize, startTime, endOfRun };
}

/** Batches round-robin over the shards, as concurrent event-source pollers interleave. */
export function* shardBatches(perShard: SourceRecord[][], size: number): Generator<SourceRecord[]> {
  const cursors = perShard.map(() => 0);
  while (cursors.some((c, i) => c < (perShard[i] as SourceRecord[]).length)) {
    for (let i = 0; i < perShard.length; i++) {
      const records = perShard[i] as SourceRecord[];
      const at = cursors[i] as number;
      if (at >= records.length) continue;
      const batch = records.slice(at, at + size);
      cursors[i] = at + batch.length;
      yield batch;
    }
  }
}

/**
 * The floor of any fold of these records: JSON.parse and a Map per (route, window) adding count and
 * speed sum. Returns how many events it folded.
 */
export function trivialFold(perShard: SourceRecord[][], batchSize: number, windowMs: number): number {
  const windows = new Map<string, { count: number; sum: number }>();
  let n = 0;
  for (const batch of shardBatches(perShard, batchSize)) {
    for (const record of batch) {
      const e = JSON.parse(record.data.toString('utf8')) as { routeId: string; ts: number; speedKmh: number };
      const key = `${e.routeId}|${Math.floor(e.ts / windowMs)}`;
      const w = windows.get(key);
      if (w) {
        w.count++;
        w.sum += e.speedKmh;
      } else windows.set(key, { count: 1, sum: e.speedKmh });
      n++;
    }
  }
  return n;
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** CPU seconds (user + system) and wall seconds of an async step. */
export async function measured<T>(
  step: () => Promise<T>,
): Promise<{ value: T; cpuSeconds: number; wallSeconds: number }> {
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const value = await step();
  const cpu = process.cpuUsage(cpuBefore);
  return { value, cpuSeconds: (cpu.user + cpu.system) / 1e6, wallSeconds: (performance.now() - wallBefore) / 1000 };
}
