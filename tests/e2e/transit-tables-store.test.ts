/**
 * Transit's windows on the engine, stored in transit's own WindowsTable (TransitTablesStore) on
 * dynalite through the real SDK: the same rows processBatch reaches, under deliveries that cut, fail
 * half way and rewind, and a cut-over from rows today's processor wrote.
 */
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTable, type Emulators, startEmulators } from '../../local/runtime/emulators.js';
import type { TablePlan } from '../../local/runtime/plan.js';
import { DEFAULT_GTFS_DIR } from '../../local/simulate.js';
import { generateWorkload, simNetworkFromFeed } from '../../local/simulator/workload.js';
import { transitAnomalyOf } from '../../pipelines/transit/engine/anomalies.js';
import { speedZScore } from '../../pipelines/transit/engine/speed-score.js';
import { EtaTableTarget } from '../../pipelines/transit/engine/transit-pipeline.js';
import { TransitTablesStore } from '../../pipelines/transit/engine/transit-tables-store.js';
import { decodeCandidates } from '../../pipelines/transit/events/formats.js';
import { parseGtfsFeed } from '../../pipelines/transit/gtfs/parse-feed.js';
import type { Anomaly, VehicleState } from '../../pipelines/transit/model.js';
import { DynamoStore } from '../../pipelines/transit/processing/dynamo-store.js';
import { lateEventSortKey } from '../../pipelines/transit/processing/keys.js';
import type { StoredWindow } from '../../pipelines/transit/processing/ports.js';
import { processBatch } from '../../pipelines/transit/processing/process-batch.js';
import {
  type PublicWindow,
  projectAnomaly,
  projectVehicleState,
  projectWindow,
} from '../../pipelines/transit/queries/projections.js';
import { DynamoEngineStore } from '../../shared/engine/dynamo-engine-store.js';
import { processRecords, type RunnablePipeline, runnable } from '../../shared/engine/process-records.js';
import type { ReferenceSource as EngineReferenceSource } from '../../shared/engine/reference.js';
import type { SinkTarget } from '../../shared/engine/sinks.js';
import type { SourceRecord } from '../../shared/events/source-records.js';
import { FaultyStore, InjectedWriteFailure } from '../helpers/engine-harness.js';
import { createEngineTable } from '../helpers/engine-table.js';
import { CapturingDeadLetters, seededRandom, settings, T0 } from '../helpers/processing.js';
import {
  type Attempt,
  cityReference,
  closeWindows,
  delivery,
  NO_REFERENCE,
  partitionRecords,
  runTransit,
  transitStatePipeline,
  transitWindowsPipeline,
  windowId,
} from '../helpers/transit-on-engine.js';

const MINUTE = 60_000;
const NOW = T0 + 8 * MINUTE;

let emulators: Emulators;
let documents: DynamoDBDocumentClient;
let tables = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  documents = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
});
afterAll(() => emulators?.close());

type Key = [name: string, type: 'S' | 'N'];
/** A table of `name` keyed by `hash` (and `range`), as the local runtime creates one. */
const keyedTable = (name: string, hash: Key, range?: Key): TablePlan => ({
  logicalId: name,
  name,
  keySchema: [
    { AttributeName: hash[0], KeyType: 'HASH' },
    ...(range ? [{ AttributeName: range[0], KeyType: 'RANGE' as const }] : []),
  ],
  attributeDefinitions: [hash, ...(range ? [range] : [])].map(([AttributeName, AttributeType]) => ({
    AttributeName,
    AttributeType,
  })),
  globalSecondaryIndexes: [],
  localSecondaryIndexes: [],
});

/** Transit's tables and an engine table beside them, as the store adapter needs them. */
async function freshTables() {
  const n = ++tables;
  const windows = `windows-${n}`;
  const states = `states-${n}`;
  const late = `late-${n}`;
  const anomalies = `anomalies-${n}`;
  const engine = `engine-${n}`;
  const etas = `etas-${n}`;
  // Transit's tables with the stack's keys (their indexes are not read here).
  await Promise.all([
    createTable(emulators.dynamodb, keyedTable(etas, ['stopId', 'S'], ['vehicleId', 'S'])),
    createTable(emulators.dynamodb, keyedTable(states, ['vehicleId', 'S'])),
    createTable(emulators.dynamodb, keyedTable(windows, ['pk', 'S'], ['windowStart', 'N'])),
    createTable(emulators.dynamodb, keyedTable(late, ['routeId', 'S'], ['sk', 'S'])),
    createTable(emulators.dynamodb, keyedTable(anomalies, ['pk', 'S'], ['sk', 'S'])),
  ]);
  await createEngineTable(emulators.dynamodb, engine);
  const store = new TransitTablesStore({
    client: documents,
    windowsTable: windows,
    vehicleStateTable: states,
    lateEventsTable: late,
    anomaliesTable: anomalies,
    anomalyOf: transitAnomalyOf(settings),
    rest: new DynamoEngineStore(documents, engine, 'transit'),
    horizonMs: transitWindowsPipeline().compiled.horizonMs,
    clock: () => NOW,
  });
  return { windows, states, late, anomalies, etas, store, sinks: new EtaTableTarget(documents, etas) };
}

async function scanRows(table: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    rows.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return rows;
}

/** The engine over `store`; a failing attempt throws after `failAfterWrites` writes and is delivered again later. */
async function runOnEngine<E, V>(
  { store, sinks }: { store: TransitTablesStore; sinks: SinkTarget },
  attempts: Attempt[],
  pipeline: RunnablePipeline<E, V> = transitWindowsPipeline() as unknown as RunnablePipeline<E, V>,
  references?: EngineReferenceSource,
  now = NOW,
) {
  const faulty = new FaultyStore(store);
  const ports = {
    store: faulty,
    // ETA writes fail with the store's, as a batch stopping between them would.
    sinks: faulty.faultySinks(sinks),
    deadLetters: new CapturingDeadLetters(),
    publish: async () => {},
    clock: () => now,
    ...(references ? { references } : {}),
  };
  for (const { records, failAfterWrites } of attempts) {
    faulty.failAfterWrites = failAfterWrites;
    try {
      await processRecords(pipeline, records, ports);
    } catch (error) {
      if (!(error instanceof InjectedWriteFailure)) throw error;
    } finally {
      faulty.failAfterWrites = undefined;
    }
  }
}

/**
 * Late events' rows as stored, in key order: every attribute, the fix included, but `lateByMs` unless
 * `lateness` (a failed attempt measures against its own watermark).
 */
const lateRows = (rows: Array<Record<string, unknown>>, lateness: boolean) =>
  rows
    .map(
      ({ lateByMs, ...row }): Record<string, unknown> => ({
        ...row,
        sk: row.sk ?? lateEventSortKey(row as never),
        ...(lateness ? { lateByMs } : {}),
      }),
    )
    .sort((a, b) => `${a.routeId} ${a.sk}`.localeCompare(`${b.routeId} ${b.sk}`));
const transitLateRows = (transit: { lateEvents: unknown[] }, lateness: boolean) =>
  lateRows(transit.lateEvents as Array<Record<string, unknown>>, lateness);

const byId = (windows: PublicWindow[]) => [...windows].sort((a, b) => windowId(a).localeCompare(windowId(b)));

describe('transit windows on the engine in WindowsTable, on DynamoDB', () => {
  /** With duplicates (re-sent 1 to 5 s later), disorder and late fixes (beyond window + lateness). */
  let partitions: SourceRecord[][];
  beforeAll(async () => {
    const feed = await parseGtfsFeed(DEFAULT_GTFS_DIR);
    partitions = partitionRecords(
      generateWorkload({
        network: simNetworkFromFeed(feed),
        vehicles: 10,
        minutes: 5,
        startTime: T0,
        seed: 3,
        duplicates: 0.05,
        outOfOrder: 0.03,
        late: 0.01,
      }).emissions,
      2,
      (e) => Number(e.vehicleId.slice(1)) % 2,
      (e) => e.event,
    );
  });

  it('leaves the rows processBatch leaves, under cuts, failed attempts and rewinds', async () => {
    const random = seededRandom(5);
    const draw = (n: number) => Math.floor(random() * n);
    const attempts = delivery(partitions, draw, { maxBatch: 150, failures: true });
    const { windows, late, store, sinks } = await freshTables();

    await runOnEngine({ store, sinks }, attempts);

    const transit = await runTransit(attempts, NOW);
    const rows = await scanRows(windows);
    expect(rows.length).toBeGreaterThan(40);
    expect(byId(rows.map((row) => projectWindow(row as unknown as StoredWindow)))).toEqual(
      closeWindows(byId([...transit.windows.values()])),
    );
    // The late events the route metrics count: the same rows under the same keys as processBatch's.
    expect(transit.lateEvents.length).toBeGreaterThan(0);
    expect(lateRows(await scanRows(late), false)).toEqual(transitLateRows(transit, false));
  });

  it('measures how late a late event was as processBatch does, when no attempt fails', async () => {
    const random = seededRandom(6);
    const attempts = delivery(partitions, (n) => Math.floor(random() * n), { maxBatch: 150, rewinds: false });
    const { late, store, sinks } = await freshTables();

    await runOnEngine({ store, sinks }, attempts);

    // A failed attempt writes its late records (once) before it fails, measured against that attempt's
    // watermark, which a retry cut otherwise may not reach: then only lateByMs differs.
    const transit = await runTransit(attempts, NOW);
    expect(lateRows(await scanRows(late), true)).toEqual(transitLateRows(transit, true));
  });

  it('writes no late event for a copy of a folded fix re-sent beyond the horizon, as processBatch skips it', async () => {
    // Every tenth fix sent again 4 minutes later: beyond the 3 minutes a vehicle's entity remembers ids
    // for, unless its vehicle stopped reporting. Copies of late fixes and fixes late beyond the horizon
    // (not copies) are late on both sides.
    const feed = await parseGtfsFeed(DEFAULT_GTFS_DIR);
    const { emissions } = generateWorkload({
      network: simNetworkFromFeed(feed),
      vehicles: 10,
      minutes: 6,
      startTime: T0,
      seed: 4,
      duplicates: 0.02,
      late: 0.02,
    });
    const copies = emissions.filter((_, i) => i % 10 === 0).map((e) => ({ ...e, sendAtMs: e.sendAtMs + 4 * MINUTE }));
    const sent = [...emissions, ...copies].sort((a, b) => a.sendAtMs - b.sendAtMs);
    const resent = partitionRecords(
      sent,
      2,
      (e) => Number((e.event as { vehicleId: string }).vehicleId.slice(1)) % 2,
      (e) => e.event,
    );
    const random = seededRandom(10);
    const attempts = delivery(resent, (n) => Math.floor(random() * n), { maxBatch: 150, failures: true });
    const { late, store, sinks } = await freshTables();

    await runOnEngine({ store, sinks }, attempts);

    const transit = await runTransit(attempts, NOW);
    expect(transit.lateEvents.length).toBeGreaterThan(0);
    expect(lateRows(await scanRows(late), false)).toEqual(transitLateRows(transit, false));
  });

  it("carries on from the rows today's processor wrote: same version condition, copies across the cut still duplicates", async () => {
    const half = (p: SourceRecord[]) => Math.floor(p.length / 2);
    const first = partitions.map((p) => p.slice(0, half(p)));
    const second = partitions.map((p) => p.slice(half(p)));
    const asAttempts = (parts: SourceRecord[][]) => parts.map((records) => ({ records }));
    const idsOf = (parts: SourceRecord[][]) =>
      parts.flat().map((r) => (JSON.parse(r.data.toString()) as { eventId: string }).eventId);
    const firstIds = new Set(idsOf(first));
    expect(idsOf(second).filter((id) => firstIds.has(id)).length).toBeGreaterThan(0);
    const { windows, states, store, sinks } = await freshTables();

    // Today's processor: its rows, put as its DynamoStore puts them.
    const before = await runTransit(asAttempts(first), NOW);
    for (const row of before.store.windows.values()) {
      await documents.send(new PutCommand({ TableName: windows, Item: row as unknown as Record<string, unknown> }));
    }
    for (const state of before.store.states.values()) {
      await documents.send(new PutCommand({ TableName: states, Item: state as unknown as Record<string, unknown> }));
    }
    await runOnEngine({ store, sinks }, asAttempts(second));

    const throughout = await runTransit(asAttempts(partitions), NOW);
    const rows = (await scanRows(windows)) as unknown as StoredWindow[];
    expect(byId(rows.map(projectWindow))).toEqual(closeWindows(byId([...throughout.windows.values()])));
    const versions = new Map([...before.store.windows.values()].map((w) => [windowId(w), w.version]));
    const carried = rows.filter(
      (row) => versions.has(windowId(row)) && row.version > (versions.get(windowId(row)) ?? 0),
    );
    expect(carried.length).toBeGreaterThan(0);
  });

  it('goes back to processBatch from the rows the engine wrote: copies across the cut still duplicates, a failed attempt redelivered', async () => {
    const half = (p: SourceRecord[]) => Math.floor(p.length / 2);
    const first = partitions.map((p) => p.slice(0, half(p)));
    const second = partitions.map((p) => p.slice(half(p)));
    const asAttempts = (parts: SourceRecord[][]) => parts.map((records) => ({ records }));
    const { windows, states, late, anomalies, etas, store, sinks } = await freshTables();

    // The engine's last attempt fails half way, some vehicle windows written and their route windows not.
    const failed = { records: second.flat().slice(0, 60), failAfterWrites: 6 };
    await runOnEngine({ store, sinks }, [...asAttempts(first), failed]);
    const engineRows = (await scanRows(windows)) as unknown as Array<StoredWindow & { agg?: unknown }>;
    expect(engineRows.every((row) => row.agg !== undefined && row.eventIds === undefined)).toBe(true);
    const engineVersions = new Map(engineRows.map((row) => [windowId(row), row.version]));
    // Today's processor on the same tables, as a stack deployed with transitProcessor: 'batch' runs it.
    const deps = {
      store: new DynamoStore(documents, { vehicleState: states, windows, anomalies, etas, lateEvents: late }),
      reference: NO_REFERENCE,
      publisher: { publish: async () => {} },
      deadLetters: new CapturingDeadLetters(),
      settings,
      clock: () => NOW,
    };
    let duplicates = 0;
    for (const records of second) duplicates += (await processBatch(records, deps)).stats.duplicates;

    const throughout = await runTransit(asAttempts(partitions), NOW);
    const rows = (await scanRows(windows)) as unknown as StoredWindow[];
    expect(byId(rows.map(projectWindow))).toEqual(closeWindows(byId([...throughout.windows.values()])));
    // The copies of first-half fixes in the second half were found in the engine's rows.
    expect(duplicates).toBeGreaterThan(0);
    // The rows processBatch wrote again keep no engine state, which would be stale on a switch back.
    const rewritten = rows.filter((row) => row.version > (engineVersions.get(windowId(row)) ?? 0));
    expect(rewritten.filter((row) => engineVersions.has(windowId(row))).length).toBeGreaterThan(0);
    expect(rewritten.filter((row) => 'agg' in row)).toEqual([]);
  });

  it('keeps the vehicle states in VehicleStateTable as processBatch does, under cuts, failed attempts and rewinds', async () => {
    const city = await cityReference();
    const random = seededRandom(8);
    const attempts = delivery(partitions, (n) => Math.floor(random() * n), { maxBatch: 150, failures: true });
    const tables = await freshTables();

    await runOnEngine(tables, attempts, transitStatePipeline(), city.engine());

    const transit = await runTransit(attempts, NOW, city.transit);
    const byVehicle = (list: VehicleState[]) =>
      list.map(projectVehicleState).sort((a, b) => a.vehicleId.localeCompare(b.vehicleId));
    const rows = (await scanRows(tables.states)) as unknown as VehicleState[];
    expect(rows.length).toBe(transit.store.states.size);
    expect(byVehicle(rows)).toEqual(byVehicle([...transit.store.states.values()]));
    // And EtaTable, through the sink's target, row for row.
    const byStop = (list: Array<Record<string, unknown>>) =>
      [...list].sort((a, b) => `${a.stopId}|${a.vehicleId}`.localeCompare(`${b.stopId}|${b.vehicleId}`));
    const etas = await scanRows(tables.etas);
    expect(etas.length).toBeGreaterThan(0);
    expect(byStop(etas)).toEqual(byStop([...transit.store.etas.values()] as unknown as Array<Record<string, unknown>>));
  });

  it("overwrites a state row today's processor wrote only while it still has no version", async () => {
    const city = await cityReference();
    const half = (p: SourceRecord[]) => Math.floor(p.length / 2);
    const asAttempts = (parts: SourceRecord[][]) => parts.map((records) => ({ records }));
    const { windows, states, store, sinks } = await freshTables();
    const before = await runTransit(asAttempts(partitions.map((p) => p.slice(0, half(p)))), NOW, city.transit);
    for (const row of before.store.windows.values()) {
      await documents.send(new PutCommand({ TableName: windows, Item: row as unknown as Record<string, unknown> }));
    }
    for (const state of before.store.states.values()) {
      await documents.send(new PutCommand({ TableName: states, Item: state as unknown as Record<string, unknown> }));
    }

    await runOnEngine(
      { store, sinks },
      asAttempts(partitions.map((p) => p.slice(half(p)))),
      transitStatePipeline(),
      city.engine(),
    );

    const throughout = await runTransit(asAttempts(partitions), NOW, city.transit);
    const rows = (await scanRows(states)) as unknown as Array<VehicleState & { version?: number }>;
    expect(rows.every((row) => (row.version ?? 0) >= 1)).toBe(true);
    expect(rows.map(projectVehicleState).sort((a, b) => a.vehicleId.localeCompare(b.vehicleId))).toEqual(
      [...throughout.store.states.values()]
        .map(projectVehicleState)
        .sort((a, b) => a.vehicleId.localeCompare(b.vehicleId)),
    );
  });

  it("keeps the engine's track and speed anomalies in AnomaliesTable as processBatch keeps its own", async () => {
    const city = await cityReference();
    const { emissions } = generateWorkload({
      network: simNetworkFromFeed(city.feed),
      vehicles: 12,
      minutes: 9,
      startTime: T0,
      seed: 21,
      anomalies: true,
    });
    const busy = partitionRecords(
      emissions,
      2,
      (e) => Number(e.vehicleId.slice(1)) % 2,
      (e) => e.event,
    );
    const random = seededRandom(9);
    const attempts = delivery(busy, (n) => Math.floor(random() * n), { maxBatch: 200, failures: true });
    const { anomalies, store, sinks } = await freshTables();
    const part = transitStatePipeline();
    const scoring = runnable(
      { ...part.definition, detectors: [...(part.definition.detectors ?? []), speedZScore(settings)] },
      decodeCandidates,
    );

    // Nine minutes of fixes, judged at 10:00 (no fix ahead of the clock).
    const now = T0 + 10 * MINUTE;
    await runOnEngine({ store, sinks }, attempts, scoring, city.engine(), now);

    const transit = await runTransit(attempts, now, city.transit);
    const rows = (await scanRows(anomalies)) as unknown as Anomaly[];
    const ids = (list: Anomaly[]) => list.map((a) => `${a.type} ${a.anomalyId}`).sort();
    expect(new Set(rows.map((a) => a.type))).toEqual(
      new Set(['stalled', 'impossible-jump', 'off-route', 'speed-zscore']),
    );
    expect(ids(rows)).toEqual(ids([...transit.store.anomalies.values()]));
    const track = (list: Anomaly[]) =>
      list
        .filter((a) => a.type !== 'speed-zscore')
        .map((a) => ({ ...projectAnomaly(a), detectedAt: undefined }))
        .sort((a, b) => a.anomalyId.localeCompare(b.anomalyId));
    expect(track(rows)).toEqual(track([...transit.store.anomalies.values()]));
  });
});
