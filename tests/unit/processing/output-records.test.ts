import { describe, expect, it } from 'vitest';
import { schemaProblems } from '../../helpers/openapi.js';
import { lonAt, pipeline, position, sourceRecords, T0 } from '../../helpers/processing.js';

describe('output records', () => {
  it('publishes every vehicle, window and anomaly in the shape docs/openapi.yaml gives OutputRecord', async () => {
    const p = pipeline();
    const still = (minute: number) =>
      position({ eventId: `m${minute}`, vehicleId: 'S1', ts: T0 + minute * 60_000, lon: lonAt(800), speedKmh: 0 });
    await p.run(
      sourceRecords([
        position({ eventId: 'a', lon: lonAt(100) }),
        position({ eventId: 'b', ts: T0 + 5_000, lon: lonAt(3_100) }),
        position({ eventId: 'c', ts: T0 + 10_000, lon: lonAt(3_150), lat: 52.375 }),
        ...[0, 1, 2, 3, 4, 5, 6].map(still),
      ]),
    );

    const records = p.publisher.records;
    const kinds = new Set(records.map((r) => (r.kind === 'window' ? `window:${r.data.entityType}` : r.kind)));
    const anomalyTypes = new Set(records.flatMap((r) => (r.kind === 'anomaly' ? [r.data.type] : [])));
    expect([...kinds].sort()).toEqual(['anomaly', 'vehicle', 'window:route', 'window:vehicle']);
    expect([...anomalyTypes].sort()).toEqual(['impossible-jump', 'off-route', 'stalled']);
    expect(records.flatMap((record) => schemaProblems('OutputRecord', record))).toEqual([]);
  });

  it('keeps the stored bookkeeping of windows and states off the stream', async () => {
    const p = pipeline();
    await p.run(sourceRecords([position({ eventId: 'a' }), position({ eventId: 'b', ts: T0 + 1_000 })]));

    const text = JSON.stringify(p.publisher.records);
    expect(p.window('ROUTE#R1', T0)).toMatchObject({ version: 1, sumSqSpeedKmh: 1_800 });
    expect(text).not.toMatch(/"(pk|version|positions|eventIds|vehicleIds|sumSpeedKmh|sumSqSpeedKmh|etaComputedTs)"/);
  });
});
