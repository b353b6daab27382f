/**
 * `npm run bench` (third part): transit on the engine beside today's `processBatch` and a trivial fold,
 * on the transit bench workload, in one process, in alternating rounds (the machine is shared, so each
 * figure is the median of its rounds):
 *   - trivial fold: JSON.parse and a Map per (route, window) adding count and speed sum, the floor of any fold;
 *   - processBatch: every read model, with the route shapes, as deployed;
 *   - processBatch without shapes: the reference knows no route, so no ETAs and no off-route checks
 *     (windows, vehicle states, stall and jump checks, speed z-scores remain): the closest it gets to
 *     "windows only";
 *   - engine windows: `processRecords` with `pipelines/transit/engine/`'s two windows operators;
 *   - engine windows + state: the same plus the route reference (in memory), the `vehicle-state` fold
 *     (shape choice, track, ETA refresh), its track-anomaly detector and the stop-ETA sink (`transitStatePart`);
 *   - engine windows + speed z-score: the windows with the speed z-score detector (`speed-score.ts`);
 *   - engine, all of transit: `transitDefinition`, what `TRANSIT_PROCESSOR=engine` runs (state, ETAs,
 *     both detectors, the published records): the like-for-like comparison with processBatch.
 * Then, once, all of transit with batches of one record (the per-event baseline; `--no-baseline` skips it).
 * Prints events per CPU-second (per core: the fold is single-threaded), the ratios, and for the engine
 * the store's write requests and the ETA rows (puts and deletes) per 1,000 events. Both stores are in
 * memory and copy nothing; the engine's ETA rows are built and discarded. `--only <text>,...` runs
 * the variants whose label contains one of the texts (e.g. under `node --cpu-prof`).
 */
import { parseArgs } from 'node:util';
import { TRANSIT_PIPELINE, transitStatePart, transitWindowsPart } from '../pipelines/transit/engine/definition.js';
import type { PlacedPosition } from '../pipelines/transit/engine/route-reference.js';
import { routeReferenceItems } from '../pipelines/transit/engine/route-reference.js';
import { speedZScore } from '../pipelines/transit/engine/speed-score.js';
import { transitDefinition } from '../pipelines/transit/engine/transit-pipeline.js';
import { decodeCandidates } from '../pipelines/transit/events/formats.js';
import type { VehiclePosition } from '../pipelines/transit/model.js';
import { MemoryStore } from '../pipelines/transit/processing/memory-store.js';
import type { ReferenceSource as TransitReferenceSource } from '../pipelines/transit/processing/ports.js';
import { processBatch } from '../pipelines/transit/processing/process-batch.js';
import type { PipelineDefinition } from '../shared/engine/pipeline.js';
import { processRecords, runnable } from '../shared/engine/process-records.js';
import type { ReferenceSource } from '../shared/engine/reference.js';
import { MemoryEngineStore } from '../shared/engine/store.js';
import { BENCH_OPTIONS, fmt, measured, shardBatches, transitBenchWorkload, trivialFold } from './transit-workload.js';

const { values: args } = parseArgs({
  options: {
    ...BENCH_OPTIONS,
    rounds: { type: 'string', default: '3' },
    /** Runs only the variants whose label contains one of these comma-separated texts, e.g. `--only "trivial,all of transit"`. */
    only: { type: 'string' },
    /** `--no-baseline` skips the per-event run (all of transit with batches of one record). */
    baseline: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const { feed, reference, events, perShard, batchSize, endOfRun } = await transitBenchWorkload(args);
const clock = () => endOfRun + 60_000;
const settings = {
  windowSizeMs: 60_000,
  allowedLatenessMs: 120_000,
  maxClockSkewMs: 60_000,
  speedZThreshold: 3,
  stallMs: 300_000,
  maxPlausibleSpeedKmh: 160,
  offRouteMeters: 150,
};

const description: PipelineDefinition<VehiclePosition>['description'] = {
  name: TRANSIT_PIPELINE,
  constructId: 'TransitWindowsBench',
  description: "transit's windows on the engine",
  handlers: 'bench/transit-windows.bench.ts',
  topic: 'vehicle.position.v1',
  partitionKeyField: 'vehicleId',
  routes: [],
  topics: [],
  tickRate: 'rate(1 minute)',
  shards: 2,
};
const windowsPipeline = runnable({ description, ...transitWindowsPart(settings) }, decodeCandidates);
const scoringPipeline = runnable(
  { description, ...transitWindowsPart(settings), detectors: [speedZScore(settings)] },
  decodeCandidates,
);
const statePipeline = runnable<PlacedPosition, VehiclePosition>(
  { description: { ...description, reference: {} }, ...transitStatePart(settings) },
  decodeCandidates,
);
const fullPipeline = runnable(transitDefinition(settings, clock), decodeCandidates);
const routeItems = routeReferenceItems(feed);
const warmReferences: ReferenceSource = {
  load: async (keys) => new Map(keys.flatMap((key) => (routeItems.has(key) ? [[key, routeItems.get(key)!]] : []))),
};
const noShapes: TransitReferenceSource = { routeShapes: async () => undefined, tripShapeId: async () => undefined };

async function transit(source: TransitReferenceSource) {
  const deps = {
    store: new MemoryStore(),
    reference: source,
    publisher: { publish: async () => undefined },
    deadLetters: { send: async () => [] },
    settings,
    clock,
  };
  const run = await measured(async () => {
    let folded = 0;
    for (const batch of shardBatches(perShard, batchSize)) folded += (await processBatch(batch, deps)).stats.folded;
    return folded;
  });
  return { ...run, writes: undefined };
}

async function engine(
  pipeline: typeof windowsPipeline | typeof statePipeline | typeof scoringPipeline | typeof fullPipeline,
  size = batchSize,
) {
  const store = new MemoryEngineStore();
  const ports = {
    store,
    sinks: { write: async () => undefined },
    deadLetters: { send: async () => [] },
    // A warm container: every route in its cache, handed out uncopied (as RouteReferenceSource does).
    references: warmReferences,
    publish: async () => undefined,
    clock,
  };
  let sinkWrites = 0;
  const run = await measured(async () => {
    let accepted = 0;
    for (const batch of shardBatches(perShard, size)) {
      const { stats } = await processRecords<PlacedPosition, VehiclePosition>(pipeline, batch, ports);
      accepted += stats.accepted;
      sinkWrites += stats.sinkWrites;
    }
    return accepted;
  });
  return { ...run, writes: { store: store.requests.writes, sink: sinkWrites } };
}

/** The floor of any fold of these records (`trivialFold`). */
async function trivial() {
  const run = await measured(async () => trivialFold(perShard, batchSize, settings.windowSizeMs));
  return { ...run, writes: undefined };
}

const runs = {
  'trivial fold': trivial,
  processBatch: () => transit(reference),
  'processBatch, no shapes': () => transit(noShapes),
  'engine windows': () => engine(windowsPipeline),
  'engine windows + state': () => engine(statePipeline),
  'engine + speed z-score': () => engine(scoringPipeline),
  'engine, all of transit': () => engine(fullPipeline),
};
type Label = keyof typeof runs;
const only = args.only?.split(',');
const labels = (Object.keys(runs) as Label[]).filter((label) => !only || only.some((part) => label.includes(part)));
const rates = new Map<Label, number[]>(labels.map((label) => [label, []]));
const writes = new Map<Label, { store: number; sink: number }>();
for (let round = 0; round < Number(args.rounds); round++) {
  // Alternate the order, so that neither side always runs on a warmer or a busier machine.
  for (const label of round % 2 === 0 ? labels : [...labels].reverse()) {
    const run = await runs[label]();
    if (run.value !== events.length) throw new Error(`${label} folded ${run.value} of ${events.length} events`);
    rates.get(label)?.push(run.value / run.cpuSeconds);
    if (run.writes) writes.set(label, run.writes);
  }
}
// The per-event baseline: all of transit with batches of one record, once (it is slow), for its writes.
const perEvent = args.baseline && labels.includes('engine, all of transit') ? await engine(fullPipeline, 1) : undefined;
if (perEvent && perEvent.value !== events.length) {
  throw new Error(`the per-event run folded ${perEvent.value} of ${events.length} events`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const per1000 = (n: number) => fmt((n / events.length) * 1000, 1);
const writesOf = (w: { store: number; sink: number } | undefined) =>
  w ? `  writes/1k: ${per1000(w.store).padStart(7)}  ETA rows/1k: ${per1000(w.sink).padStart(7)}` : '';
console.log(
  `transit windows bench: ${fmt(events.length)} events, batch size ${batchSize}, ${args.rounds} rounds, node ${process.versions.node}`,
);
for (const label of labels) {
  const all = (rates.get(label) ?? []).map((r) => fmt(r)).join(', ');
  console.log(
    `${label.padEnd(24)} events/s per core: ${fmt(median(rates.get(label) ?? [])).padStart(9)}  (rounds: ${all})${writesOf(writes.get(label))}`,
  );
}
if (perEvent) {
  console.log(
    `${'per-event (batch 1)'.padEnd(24)} events/s per core: ${fmt(perEvent.value / perEvent.cpuSeconds).padStart(9)}  (one run)${writesOf(perEvent.writes)}`,
  );
}
const rate = (label: Label) => median(rates.get(label) ?? []);
const pairs: Array<[Label, Label]> = [
  ['trivial fold', 'engine, all of transit'],
  ['engine, all of transit', 'processBatch'],
  ['engine windows', 'processBatch'],
  ['engine windows', 'processBatch, no shapes'],
  ['engine windows + state', 'processBatch'],
  ['engine + speed z-score', 'engine windows'],
];
const ratios = pairs
  .filter(([a, b]) => rates.has(a) && rates.has(b))
  .map(([a, b]) => `${a} / ${b} ${fmt(rate(a) / rate(b), 2)}x`);
if (ratios.length > 0) console.log(`ratios: ${ratios.join('; ')}`);
if (perEvent && writes.has('engine, all of transit')) {
  const batched = writes.get('engine, all of transit') as { store: number; sink: number };
  console.log(
    `per-event / batch ${batchSize} writes (all of transit): ${fmt(perEvent.writes.store / batched.store, 2)}x`,
  );
}
