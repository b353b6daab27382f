/**
 * `npm run bench` (third part): transit's route and vehicle windows (and vehicle state) on the engine beside today's
 * `processBatch`, on the transit bench workload, in one process, in alternating rounds (the machine is
 * shared, so each figure is the median of its rounds):
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
 * Prints events per CPU-second (per core: the fold is single-threaded) and the engine/processBatch ratios.
 * Both stores are in memory and copy nothing; the engine's ETA rows are built and discarded.
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
import { BENCH_OPTIONS, fmt, measured, shardBatches, transitBenchWorkload } from './transit-workload.js';

const { values: args } = parseArgs({ options: { ...BENCH_OPTIONS, rounds: { type: 'string', default: '3' } } });
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
  return measured(async () => {
    let folded = 0;
    for (const batch of shardBatches(perShard, batchSize)) folded += (await processBatch(batch, deps)).stats.folded;
    return folded;
  });
}

async function engine(
  pipeline: typeof windowsPipeline | typeof statePipeline | typeof scoringPipeline | typeof fullPipeline,
) {
  const ports = {
    store: new MemoryEngineStore(),
    sinks: { write: async () => undefined },
    deadLetters: { send: async () => [] },
    // A warm container: every route in its cache, handed out uncopied (as RouteReferenceSource does).
    references: warmReferences,
    publish: async () => undefined,
    clock,
  };
  return measured(async () => {
    let accepted = 0;
    for (const batch of shardBatches(perShard, batchSize)) {
      accepted += (await processRecords<PlacedPosition, VehiclePosition>(pipeline, batch, ports)).stats.accepted;
    }
    return accepted;
  });
}

const runs = {
  processBatch: () => transit(reference),
  'processBatch, no shapes': () => transit(noShapes),
  'engine windows': () => engine(windowsPipeline),
  'engine windows + state': () => engine(statePipeline),
  'engine + speed z-score': () => engine(scoringPipeline),
  'engine, all of transit': () => engine(fullPipeline),
};
type Label = keyof typeof runs;
const rates: Record<Label, number[]> = {
  processBatch: [],
  'processBatch, no shapes': [],
  'engine windows': [],
  'engine windows + state': [],
  'engine + speed z-score': [],
  'engine, all of transit': [],
};
const labels = Object.keys(runs) as Label[];
for (let round = 0; round < Number(args.rounds); round++) {
  // Alternate the order, so that neither side always runs on a warmer or a busier machine.
  for (const label of round % 2 === 0 ? labels : [...labels].reverse()) {
    const { value, cpuSeconds } = await runs[label]();
    if (value !== events.length) throw new Error(`${label} folded ${value} of ${events.length} events`);
    rates[label].push(value / cpuSeconds);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
console.log(
  `transit windows bench: ${fmt(events.length)} events, batch size ${batchSize}, ${args.rounds} rounds, node ${process.versions.node}`,
);
for (const label of labels) {
  const all = rates[label].map((r) => fmt(r)).join(', ');
  console.log(`${label.padEnd(24)} events/s per core: ${fmt(median(rates[label])).padStart(9)}  (rounds: ${all})`);
}
const engineRate = median(rates['engine windows']);
const stateRate = median(rates['engine windows + state']);
console.log(
  `ratios: engine windows / processBatch ${fmt(engineRate / median(rates.processBatch), 2)}x, ` +
    `/ processBatch without shapes ${fmt(engineRate / median(rates['processBatch, no shapes']), 2)}x; ` +
    `engine windows + state / processBatch ${fmt(stateRate / median(rates.processBatch), 2)}x; ` +
    `engine + speed z-score / engine windows ${fmt(median(rates['engine + speed z-score']) / engineRate, 2)}x; ` +
    `engine, all of transit / processBatch ${fmt(median(rates['engine, all of transit']) / median(rates.processBatch), 2)}x`,
);
