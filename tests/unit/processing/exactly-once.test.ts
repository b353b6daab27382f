import { describe, expect, it } from 'vitest';
import { emptyBatchStats, processBatch } from '../../../pipelines/transit/processing/process-batch.js';
import { routeWindowPk, vehicleWindowPk } from '../../../pipelines/transit/processing/windows.js';
import { lonAt, pipeline, position, sourceRecords, T0 } from '../../helpers/processing.js';

/** Ten fixes of V1 a second apart, moving along the street at 36 km/h. */
const drive = (count = 10, vehicleId = 'V1', start = T0) =>
  Array.from({ length: count }, (_, i) =>
    position({
      eventId: `${vehicleId}-${i}`,
      vehicleId,
      ts: start + i * 1000,
      lon: lonAt(100 + i * 10),
      speedKmh: 30 + i,
    }),
  );

describe('batch folding', () => {
  it('aggregates a window per route and per vehicle', async () => {
    const p = pipeline();
    await p.run(sourceRecords([...drive(10, 'V1'), ...drive(5, 'V2')]));

    const route = p.window(routeWindowPk('R1'), T0)!;
    expect(route.count).toBe(15);
    expect(route.minSpeedKmh).toBe(30);
    expect(route.maxSpeedKmh).toBe(39);
    expect(route.avgSpeedKmh).toBeCloseTo(
      (30 + 31 + 32 + 33 + 34 + 35 + 36 + 37 + 38 + 39 + 30 + 31 + 32 + 33 + 34) / 15,
    );
    expect(route.distinctVehicles).toBe(2);
    expect(p.window(vehicleWindowPk('V2'), T0)!.count).toBe(5);
  });

  it('writes each window once per batch, not once per event', async () => {
    const p = pipeline();
    const { stats } = await p.run(sourceRecords(drive(10)));
    expect(stats.windowsWritten).toBe(2);
  });
});

describe('exactly-once in effect', () => {
  it('does not count a retried batch twice', async () => {
    const p = pipeline();
    const records = sourceRecords(drive(10));
    await p.run(records);
    const { stats } = await p.run(records);

    expect(p.window(routeWindowPk('R1'), T0)!.count).toBe(10);
    expect(p.window(vehicleWindowPk('V1'), T0)!.count).toBe(10);
    expect(stats.windowsWritten).toBe(0);
    expect(stats).toMatchObject({ folded: 0, redelivered: 10 });
  });

  it('does not count redelivered records twice when batches overlap', async () => {
    const p = pipeline();
    const events = drive(15);
    await p.run(sourceRecords(events.slice(0, 10), 1));
    await p.run(sourceRecords(events.slice(5, 15), 6));

    expect(p.window(routeWindowPk('R1'), T0)!.count).toBe(15);
  });

  it('does not count a duplicated event (same eventId, new record) twice', async () => {
    const p = pipeline();
    const events = drive(5);
    await p.run(sourceRecords(events, 1));
    const { stats } = await p.run(
      sourceRecords([events[2], position({ ...events[4]!, eventId: 'new', ts: T0 + 9000 })], 6),
    );

    expect(stats.duplicates).toBe(1);
    expect(p.window(routeWindowPk('R1'), T0)!.count).toBe(6);
  });

  it('counts a duplicate inside one batch once', async () => {
    const p = pipeline();
    const events = drive(3);
    await p.run(sourceRecords([...events, events[1]]));
    expect(p.window(routeWindowPk('R1'), T0)!.count).toBe(3);
  });

  it('recovers exactly after a failure between the window writes and the publish', async () => {
    const p = pipeline();
    const records = sourceRecords(drive(10));
    p.publisher.failNext = 1;
    await expect(p.run(records)).rejects.toThrow('injected publish failure');
    await p.run(records);

    expect(p.window(routeWindowPk('R1'), T0)!.count).toBe(10);
    expect(p.store.states.get('V1')!.ts).toBe(T0 + 9000);
  });

  it('counts each event processed once across a failed attempt and its retry', async () => {
    const p = pipeline();
    const records = sourceRecords(drive(10));
    const first = emptyBatchStats();
    p.publisher.failNext = 1;
    await expect(processBatch(records, p.deps, first)).rejects.toThrow('injected publish failure');
    const { stats: retry } = await p.run(records);

    expect(first).toMatchObject({ folded: 10, redelivered: 0 });
    expect(retry).toMatchObject({ folded: 0, redelivered: 10 });
  });

  it('re-merges and retries when another writer changed the window', async () => {
    const p = pipeline();
    p.store.injectWindowConflicts = 3;
    const { stats } = await p.run(sourceRecords(drive(4)));

    expect(stats.conditionalRetries).toBe(3);
    expect(p.window(routeWindowPk('R1'), T0)!.count).toBe(4);
  });

  it('folds route windows from two shards independently', async () => {
    const p = pipeline();
    await p.run(sourceRecords(drive(4, 'V1'), 1, 'shardId-000000000000'));
    await p.run(sourceRecords(drive(4, 'V2'), 1, 'shardId-000000000001'));
    await p.run(sourceRecords(drive(4, 'V2'), 1, 'shardId-000000000001'));

    expect(p.window(routeWindowPk('R1'), T0)!.count).toBe(8);
  });
});

describe('event time', () => {
  it('keeps a late event as a late record instead of folding it', async () => {
    const p = pipeline();
    await p.run(sourceRecords([position({ eventId: 'now', ts: T0 + 10 * 60_000 })], 1));
    const { stats } = await p.run(sourceRecords([position({ eventId: 'old', ts: T0 })], 2));

    expect(stats.late).toBe(1);
    expect([...p.store.lateEvents.values()]).toMatchObject([{ eventId: 'old', routeId: 'R1', windowStart: T0 }]);
    expect(p.window(routeWindowPk('R1'), T0)).toBeUndefined();
  });

  it('does not let a fast device clock make the on-time fixes after it late', async () => {
    const now = T0 + 3_600_000;
    const p = pipeline(now);
    const ahead = (s: number) => position({ eventId: `ahead-${s}`, ts: now + s * 1000 });
    const onTime = drive(10, 'V1', now - 20_000);
    const { stats } = await p.run(sourceRecords([ahead(299), ahead(59), ...onTime]));

    expect(p.deadLetters.messages.map((m) => m.eventId)).toEqual(['ahead-299']);
    expect(p.deadLetters.messages[0]!.reason).toMatch(/ts: is 299 s ahead/);
    expect(stats).toMatchObject({ folded: 11, late: 0 });
  });

  it('keeps the late events of two vehicles that use the same event id apart', async () => {
    const p = pipeline();
    const late = (vehicleId: string) => [
      position({ vehicleId, eventId: `${vehicleId}-now`, ts: T0 + 10 * 60_000 }),
      position({ vehicleId, eventId: 'seq-1', ts: T0 }),
    ];
    const { stats } = await p.run(sourceRecords([...late('V1'), ...late('V2')]));

    expect(stats.late).toBe(2);
    expect([...p.store.lateEvents.values()].map((e) => `${e.vehicleId}/${e.eventId}`).sort()).toEqual([
      'V1/seq-1',
      'V2/seq-1',
    ]);
  });

  it('folds an out-of-order event within the allowed lateness without moving the state back', async () => {
    const p = pipeline();
    await p.run(sourceRecords([position({ eventId: 'newer', ts: T0 + 90_000 })], 1));
    const { stats } = await p.run(sourceRecords([position({ eventId: 'older', ts: T0 + 10_000, lon: 4.95 })], 2));

    expect(stats.late).toBe(0);
    expect(p.window(routeWindowPk('R1'), T0)!.count).toBe(1);
    expect(p.store.states.get('V1')!.eventId).toBe('newer');
  });
});

describe('bad input', () => {
  it('dead-letters an invalid event with its reason and keeps its good neighbours', async () => {
    const p = pipeline();
    const bad = { ...position({ eventId: 'bad' }), vehicleId: undefined };
    const { stats } = await p.run(
      sourceRecords([position({ eventId: 'a' }), bad, 'not json', position({ eventId: 'b', ts: T0 + 1 })]),
    );

    expect(stats.rejected).toBe(2);
    expect(p.window(routeWindowPk('R1'), T0)!.count).toBe(2);
    const [missing, garbage] = p.deadLetters.messages;
    expect(missing).toMatchObject({ eventId: 'bad', errors: [{ field: 'vehicleId' }] });
    expect(garbage!.reason).toMatch(/not valid JSON/);
  });

  it('reports a record as failed when its dead letter cannot be sent', async () => {
    const p = pipeline();
    p.deadLetters.failAll = true;
    const records = sourceRecords([position({ eventId: 'ok' }), { nonsense: true }]);
    const outcome = await p.run(records);

    expect(outcome.failedItemIdentifiers).toEqual([records[1]!.itemIdentifier]);
    expect(p.window(routeWindowPk('R1'), T0)!.count).toBe(1);
  });
});
