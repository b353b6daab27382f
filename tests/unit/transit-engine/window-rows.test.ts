/**
 * Transit's engine windows as `WindowsTable` rows (pipelines/transit/engine/window-rows.ts): an item
 * survives the row unchanged, a row reads to clients as the engine presents the window, and a row of
 * today's processor carries on folding on the engine as if the processor had kept going.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GTFS_DIR } from '../../../local/simulate.js';
import { generateWorkload, simNetworkFromFeed } from '../../../local/simulator/workload.js';
import { TRANSIT_PIPELINE } from '../../../pipelines/transit/engine/definition.js';
import {
  NotATransitWindowError,
  windowItem,
  windowItemKey,
  windowRow,
  windowRowKey,
} from '../../../pipelines/transit/engine/window-rows.js';
import { presentTransitWindow } from '../../../pipelines/transit/engine/windows.js';
import { parseGtfsFeed } from '../../../pipelines/transit/gtfs/parse-feed.js';
import type { StoredWindow } from '../../../pipelines/transit/processing/ports.js';
import { type PublicWindow, projectWindow } from '../../../pipelines/transit/queries/projections.js';
import { operatorOfPk } from '../../../shared/engine/operators/operator.js';
import { presentWindow, type WindowedAggregate } from '../../../shared/engine/operators/windows.js';
import { processRecords } from '../../../shared/engine/process-records.js';
import { itemKey, MemoryEngineStore, type StoredItem, windowSk } from '../../../shared/engine/store.js';
import type { SourceRecord } from '../../../shared/events/source-records.js';
import { CapturingDeadLetters, T0 } from '../../helpers/processing.js';
import {
  closeWindows,
  partitionRecords,
  runTransit,
  transitWindowsPipeline,
  windowId,
} from '../../helpers/transit-on-engine.js';

const MINUTE = 60_000;
const NOW = T0 + 8 * MINUTE;
const UPDATED_AT = new Date(NOW).toISOString();

/** A clean simulator workload (no duplicates or late events: the cut-over test seeds no entity items). */
async function cleanPartitions(): Promise<SourceRecord[][]> {
  const feed = await parseGtfsFeed(DEFAULT_GTFS_DIR);
  const { emissions } = generateWorkload({
    network: simNetworkFromFeed(feed),
    vehicles: 12,
    minutes: 6,
    startTime: T0,
    seed: 11,
  });
  return partitionRecords(
    emissions,
    2,
    (e) => Number(e.vehicleId.slice(1)) % 2,
    (e) => e.event,
  );
}

/** Each partition's records in batches of `size`, partition after partition in turns. */
function batches(partitions: SourceRecord[][], size: number): SourceRecord[][] {
  const out: SourceRecord[][] = [];
  for (let i = 0; partitions.some((p) => i < p.length); i += size) {
    for (const p of partitions) if (i < p.length) out.push(p.slice(i, i + size));
  }
  return out;
}

async function runOnEngine(records: SourceRecord[][], store = new MemoryEngineStore()) {
  const pipeline = transitWindowsPipeline();
  const ports = { store, deadLetters: new CapturingDeadLetters(), publish: async () => {}, clock: () => NOW };
  for (const batch of records) await processRecords(pipeline, batch, ports);
  const operators = pipeline.definition.operators as Array<WindowedAggregate<unknown>>;
  const windowItems = [...store.items.values()].filter((item) =>
    operators.some((o) => o.name === operatorOfPk(TRANSIT_PIPELINE, item.pk)),
  );
  const presented = (item: StoredItem): PublicWindow => {
    const op = operators.find((o) => o.name === operatorOfPk(TRANSIT_PIPELINE, item.pk)) as WindowedAggregate<unknown>;
    return presentTransitWindow(op.name, presentWindow(op, item));
  };
  return { store, windowItems, presented };
}

const byId = (windows: PublicWindow[]) => [...windows].sort((a, b) => windowId(a).localeCompare(windowId(b)));

describe('transit engine windows as WindowsTable rows', () => {
  let partitions: SourceRecord[][];
  beforeAll(async () => {
    partitions = await cleanPartitions();
  });

  it('keeps every item through its row, and its row reads to clients as the engine presents the window', async () => {
    const { windowItems, presented } = await runOnEngine(batches(partitions, 100));

    expect(windowItems.length).toBeGreaterThan(50);
    for (const item of windowItems) {
      const row = windowRow(item, UPDATED_AT);
      expect(windowItem(row)).toEqual(item);
      expect(projectWindow(row)).toEqual({ ...presented(item), avgSpeedKmh: expect.closeTo(row.avgSpeedKmh, 12) });
      expect(row.sumSpeedKmh / row.count).toBeCloseTo(row.avgSpeedKmh, 9);
    }
  });

  it("carries on from rows today's processor wrote as if the processor had folded everything", async () => {
    const all = batches(partitions, 100);
    const half = Math.floor(all.length / 2);
    const attempts = (list: SourceRecord[][]) => list.map((records) => ({ records }));
    const throughout = await runTransit(attempts(all), NOW);
    const before = await runTransit(attempts(all.slice(0, half)), NOW);

    // Cut-over: today's rows, read as engine items, then the rest of the workload on the engine.
    const store = new MemoryEngineStore();
    for (const row of before.store.windows.values() as Iterable<StoredWindow>) {
      const item = windowItem(row);
      store.items.set(itemKey(item), item);
    }
    const after = await runOnEngine(all.slice(half), store);

    const rows = after.windowItems.map((item) => windowRow(item, UPDATED_AT));
    expect(byId(rows.map(projectWindow))).toEqual(closeWindows(byId([...throughout.windows.values()])));
    // The sums the speed baseline reads, and the windows the cut went through (folded on both sides of it).
    const sums = new Map([...throughout.store.windows.values()].map((w) => [windowId(w), w]));
    for (const row of rows) {
      const want = sums.get(windowId(row)) as StoredWindow;
      expect(row.sumSpeedKmh).toBeCloseTo(want.sumSpeedKmh, 6);
      expect(Math.abs(row.sumSqSpeedKmh - want.sumSqSpeedKmh) / want.sumSqSpeedKmh).toBeLessThan(1e-12);
      // A vehicle window's ids, from today's row and the engine's folds: what tells a copy re-sent late.
      if (row.entityType === 'vehicle') {
        expect([...(row.agg.eventIds as string[])].sort()).toEqual(Object.keys(want.eventIds ?? {}).sort());
      }
    }
    const cutThrough = rows.filter((row) => {
      const old = before.store.windows.get(`${row.pk}|${row.windowStart}`);
      return old !== undefined && old.count < row.count;
    });
    expect(cutThrough.map((row) => row.entityType).sort()).toEqual(expect.arrayContaining(['route', 'vehicle']));
  });

  it('maps keys both ways, and refuses what is not a transit window', () => {
    const key = { pk: 'transit#route-windows#R#1', sk: windowSk(1_764_547_200_000) };

    expect(windowRowKey(key)).toEqual({ pk: 'ROUTE#R#1', windowStart: 1_764_547_200_000 });
    expect(windowItemKey(windowRowKey(key))).toEqual(key);
    expect(windowItemKey({ pk: 'VEHICLE#bus 7', windowStart: 0 })).toEqual({
      pk: 'transit#vehicle-windows#bus 7',
      sk: windowSk(0),
    });
    expect(() => windowRowKey({ pk: 'transit#vehicle-state#V1', sk: 'state' })).toThrow(NotATransitWindowError);
    expect(() => windowItemKey({ pk: 'STOP#S1', windowStart: 0 })).toThrow('STOP#S1 is not a transit window key');
  });
});
