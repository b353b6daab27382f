import { beforeAll, describe, expect, it } from 'vitest';
import type { MemoryStore } from '../../../pipelines/transit/processing/memory-store.js';
import type { SourceRecord } from '../../../shared/events/source-records.js';
import {
  pipeline,
  randomBatches,
  readModels,
  SHAPE,
  seededRandom,
  sourceRecords,
  T0,
} from '../../helpers/processing.js';
import { EMISSIONS, END, OUTLIER_FIXES } from '../../helpers/route-sequence.js';

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
