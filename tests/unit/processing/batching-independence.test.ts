import { beforeAll, describe, expect, it } from 'vitest';
import type { VehiclePosition } from '../../../pipelines/transit/model.js';
import type { MemoryStore } from '../../../pipelines/transit/processing/memory-store.js';
import type { SourceRecord } from '../../../shared/events/source-records.js';
import {
  lonAt,
  pipeline,
  position,
  randomBatches,
  readModels,
  SHAPE,
  seededRandom,
  sourceRecords,
  T0,
} from '../../helpers/processing.js';

/**
 * One multi-vehicle event sequence on route R1 over 12 minutes, in the order the vehicles send it. Every
 * read model must come out the same however it is cut into batches and spread over partitions.
 */
const FIX_MS = 5000;
const END = T0 + 12 * 60_000;

interface Emission {
  sendTs: number;
  event: VehiclePosition;
}

function drive(
  vehicleId: string,
  options: { offsetMs: number; fromM: number; metresPerFix: number; speed: (i: number) => number; startMs?: number },
): Emission[] {
  const emissions: Emission[] = [];
  for (let i = 0, ts = T0 + (options.startMs ?? 0) + options.offsetMs; ts < END; i++, ts += FIX_MS) {
    const event = position({
      eventId: `${vehicleId}-${i}`,
      vehicleId,
      // D starts a new trip after six minutes.
      tripId: vehicleId === 'D' && ts >= T0 + 6 * 60_000 ? 'T2' : 'T1',
      ts,
      lon: lonAt(options.fromM + i * options.metresPerFix),
      speedKmh: options.speed(i),
    });
    emissions.push({ sendTs: ts, event });
  }
  return emissions;
}

/** F's two fixes far above the route's speeds, in window 9 (its baseline, windows 2..6, is full). */
const OUTLIER_FIXES = [108, 109];

const EMISSIONS: Emission[] = (() => {
  const a = drive('A', { offsetMs: 0, fromM: 9000, metresPerFix: 25, speed: (i) => 28 + (i % 5) });
  const b = drive('B', { offsetMs: 2000, fromM: 9500, metresPerFix: 20, speed: (i) => 24 + (i % 7) });
  const c = drive('C', { offsetMs: 3000, fromM: 19000, metresPerFix: 15, speed: (i) => 33 + (i % 4) });
  const d = drive('D', { offsetMs: 1500, fromM: 9200, metresPerFix: 20, speed: (i) => 30 + (i % 3) });
  const f = drive('F', {
    offsetMs: 1000,
    fromM: 18500,
    metresPerFix: 20,
    speed: (i) => (i === OUTLIER_FIXES[0] ? 80 : i === OUTLIER_FIXES[1] ? 95 : 30 + (i % 3)),
  });
  // S stands still from minute 1: its ETAs need the route average, which exists from window 3 on.
  const s = drive('S', { offsetMs: 4000, startMs: 60_000, fromM: 9900, metresPerFix: 0, speed: () => 0 });
  // J stands at a stop and its GPS jitters 3 m either side of it: the stop is passed, un-passed and
  // passed again, fix by fix, which must not depend on where batches are cut.
  const j = drive('J', { offsetMs: 2500, startMs: 120_000, fromM: 10_000, metresPerFix: 0, speed: () => 0 }).map(
    (emission, i) => ({ ...emission, event: { ...emission.event, lon: lonAt(10_000 + (i % 2 === 0 ? -3 : 3)) } }),
  );
  const extra: Emission[] = [
    // A late event: its window closed minutes ago for A.
    {
      sendTs: T0 + 600_500,
      event: position({ eventId: 'A-late', vehicleId: 'A', ts: T0 + 307_000, lon: lonAt(13_500) }),
    },
    // An out-of-order event within the allowed lateness: folded, but it does not move B back.
    {
      sendTs: T0 + 480_500,
      event: position({ eventId: 'B-ooo', vehicleId: 'B', ts: T0 + 440_000, lon: lonAt(11_000) }),
    },
    // A producer retry: the same event of C again.
    { sendTs: T0 + 360_500, event: c[70]!.event },
  ];
  return [...a, ...b, ...c, ...d, ...f, ...s, ...j, ...extra].sort((x, y) => x.sendTs - y.sendTs);
})();

const SHARD = 'shardId-000000000000';
const PARTITIONS = [
  { shardId: 'shardId-000000000000', vehicles: new Set(['A', 'S', 'F']) },
  { shardId: 'shardId-000000000001', vehicles: new Set(['B', 'C', 'D', 'J']) },
];
/** How far (event time) one partition may run ahead of the other: less than the allowed lateness (120 s). */
const MAX_SKEW_MS = 60_000;

async function runBatches(batches: SourceRecord[][]): Promise<MemoryStore> {
  const p = pipeline(END + 60_000);
  for (const batch of batches) await p.run(batch);
  return p.store;
}

/** Each partition cut at random, its batches interleaved at random as two pollers would, within MAX_SKEW_MS. */
function interleavedPartitions(seed: number): SourceRecord[][] {
  const random = seededRandom(seed);
  const partitions = PARTITIONS.map(({ shardId, vehicles }) => {
    const emissions = EMISSIONS.filter((e) => vehicles.has(e.event.vehicleId));
    const records = sourceRecords(
      emissions.map((e) => e.event),
      1,
      shardId,
    ).map((record, i) => ({ record, sendTs: emissions[i]!.sendTs }));
    return { batches: randomBatches(records, random, 12), next: 0 };
  });
  const startOf = (p: (typeof partitions)[number]) => p.batches[p.next]?.[0]?.sendTs ?? Number.POSITIVE_INFINITY;
  const batches: SourceRecord[][] = [];
  while (partitions.some((p) => p.next < p.batches.length)) {
    const earliest = Math.min(...partitions.map(startOf));
    const eligible = partitions.filter((p) => startOf(p) <= earliest + MAX_SKEW_MS);
    const chosen = eligible[Math.floor(random() * eligible.length)]!;
    batches.push(chosen.batches[chosen.next++]!.map(({ record }) => record));
  }
  return batches;
}

const records = () =>
  sourceRecords(
    EMISSIONS.map((e) => e.event),
    1,
    SHARD,
  );

describe('read models independent of batching and partitioning', () => {
  let reference: MemoryStore;
  beforeAll(async () => {
    reference = await runBatches([records()]);
  });

  it('runs a sequence with a speed anomaly, route-average ETAs, ETA refreshes, passed stops, a new trip and a late event', () => {
    const anomalies = [...reference.anomalies.values()];
    const speeding = anomalies.filter((a) => a.type === 'speed-zscore' && a.vehicleId === 'F');
    // The first fix beyond the threshold in F's order, not the most extreme one of a batch.
    expect(speeding).toHaveLength(1);
    expect(speeding[0]!.evidence).toMatchObject({ eventId: `F-${OUTLIER_FIXES[0]}`, speedKmh: 80 });
    expect(anomalies.filter((a) => a.type === 'stalled').map((a) => a.vehicleId)).toEqual(['S', 'J']);

    const etas = [...reference.etas.values()];
    expect(etas.filter((e) => e.vehicleId === 'S').map((e) => e.basis)).toEqual(
      expect.arrayContaining(['route-average']),
    );
    expect(etas.filter((e) => e.vehicleId === 'D').every((e) => e.tripId === 'T2')).toBe(true);
    // A passed stop 1 on the way: its row is gone, the stops ahead have theirs.
    expect(reference.states.get('A')!.distanceAlongM).toBeGreaterThan(SHAPE.stops[1]!.distM);
    expect(etas.filter((e) => e.vehicleId === 'A').map((e) => e.stopId)).toEqual(
      SHAPE.stops.slice(2).map((stop) => stop.stopId),
    );
    // In one batch, ETAs still come from the last fix that was due for a refresh, not the batch's last fix.
    const states = [...reference.states.values()];
    expect(states.some((s) => s.etaComputedTs !== undefined && s.etaComputedTs < s.ts)).toBe(true);
    expect(states.every((s) => s.etaComputedTs !== undefined && s.ts - s.etaComputedTs < 30_000)).toBe(true);

    expect([...reference.lateEvents.values()].map((e) => e.eventId)).toEqual(['A-late']);
    expect(reference.states.get('B')!.ts).toBeGreaterThan(T0 + 440_000);
  });

  const splits: Array<[string, () => SourceRecord[][]]> = [
    ['one record per batch', () => records().map((r) => [r])],
    ...[1, 2, 3].map((seed): [string, () => SourceRecord[][]] => [
      `cut into random batches (seed ${seed})`,
      () => randomBatches(records(), seededRandom(seed), 40),
    ]),
    ...[4, 5, 6].map((seed): [string, () => SourceRecord[][]] => [
      `spread over two partitions whose batches interleave (seed ${seed})`,
      () => interleavedPartitions(seed),
    ]),
  ];

  it.each(splits)('gives the same read models when %s', async (_name, batches) => {
    const store = await runBatches(batches());
    expect(readModels(store)).toEqual(readModels(reference));
  });
});
