import { describe, expect, it } from 'vitest';
import type { OutputRecord } from '../../../pipelines/transit/model.js';
import { TRANSIT_OUTPUT_KINDS } from '../../../pipelines/transit/topics.js';
import { broadcastBatch } from '../../../shared/websocket/broadcast.js';
import { createConnectionStore } from '../../../shared/websocket/connection-store.js';
import { routeWindow, storedAnomaly, vehicleState } from '../../helpers/api-events.js';
import { schemaProblems } from '../../helpers/openapi.js';
import { fakeManagementClient, goneError, outputStreamEvent } from '../../helpers/ws-events.js';
import { inMemoryItemTable } from './in-memory-item-table.js';

const vehicleRecord = (vehicleId = 'V1', routeId = 'R1'): OutputRecord => ({
  kind: 'vehicle',
  data: vehicleState({ vehicleId, routeId }),
});

async function setup(subscriptions: Record<string, string[]>, failures: Record<string, () => Error> = {}) {
  const table = inMemoryItemTable();
  const store = createConnectionStore(table);
  for (const [connectionId, topics] of Object.entries(subscriptions)) {
    await store.connect(connectionId);
    await store.subscribe(connectionId, topics);
  }
  let reads = 0;
  const countingStore = {
    ...store,
    subscribers: (topic: string) => {
      reads++;
      return store.subscribers(topic);
    },
  };
  const poster = fakeManagementClient(failures);
  const metrics: Record<string, number> = {};
  const deps = {
    kinds: TRANSIT_OUTPUT_KINDS,
    store: countingStore,
    poster,
    metrics: {
      addMetric: (name: string, _unit: 'Count', value: number) => {
        metrics[name] = (metrics[name] ?? 0) + value;
      },
    },
  };
  return { table, poster, metrics, deps, reads: () => reads };
}

/** The problems of each message posted, against the WebSocketMessage schema of docs/openapi.yaml. */
const undocumented = (posts: { message: unknown }[]) =>
  posts.flatMap((p) => schemaProblems('WebSocketMessage', p.message));

describe('broadcastBatch', () => {
  it('sends each record to the subscribers of its topics as {topic, kind, data}', async () => {
    const { poster, metrics, deps } = await setup({ a: ['route:R1'], b: ['vehicle:V2'], c: ['route:R9'] });
    const record = vehicleRecord('V1', 'R1');

    const result = await broadcastBatch(outputStreamEvent([record]), deps);

    const { stallReportedFor: _stall, etaComputedTs: _eta, ...data } = vehicleState({ vehicleId: 'V1', routeId: 'R1' });
    expect(result.batchItemFailures).toEqual([]);
    expect(poster.posts).toEqual([{ connectionId: 'a', message: { topic: 'route:R1', kind: 'vehicle', data } }]);
    expect(metrics.BroadcastsSent).toBe(1);
  });

  it('sends windows and anomalies to their topics', async () => {
    const anomaly = storedAnomaly({ ts: 5, vehicleId: 'V4', routeId: 'R2' });
    const { poster, deps } = await setup({ routes: ['route:R2'], feed: ['anomalies'] });

    await broadcastBatch(
      outputStreamEvent([
        { kind: 'window', data: routeWindow('R2', 0) },
        { kind: 'anomaly', data: anomaly },
      ]),
      deps,
    );

    expect(poster.posts.map((p) => [p.connectionId, (p.message as { kind: string }).kind])).toEqual([
      ['routes', 'window'],
      ['feed', 'anomaly'],
      ['routes', 'anomaly'],
    ]);
  });

  it('pushes only documented fields, even of a record written with storage fields (an older processor)', async () => {
    const { poster, deps } = await setup({ a: ['route:R2'] });

    await broadcastBatch(
      outputStreamEvent([
        { kind: 'vehicle', data: vehicleState({ routeId: 'R2' }) },
        { kind: 'window', data: routeWindow('R2', 0) },
        { kind: 'anomaly', data: storedAnomaly({ ts: 5, routeId: 'R2' }) },
      ]),
      deps,
    );

    expect(poster.posts).toHaveLength(3);
    expect(undocumented(poster.posts)).toEqual([]);
    expect(JSON.stringify(poster.posts)).not.toMatch(/"(pk|sk|day|version|positions|sumSqSpeedKmh|vehicleIds)"/);
  });

  it('sends a record once to a connection subscribed to several of its topics', async () => {
    const { poster, deps } = await setup({ a: ['vehicles', 'route:R1', 'vehicle:V1'] });

    await broadcastBatch(outputStreamEvent([vehicleRecord()]), deps);

    expect(poster.posts).toHaveLength(1);
    expect(poster.posts[0]?.message).toMatchObject({ topic: 'vehicles' });
  });

  it('reads each topic once per batch', async () => {
    const { poster, deps, reads } = await setup({ a: ['vehicles'] });

    await broadcastBatch(outputStreamEvent([vehicleRecord('V1'), vehicleRecord('V2'), vehicleRecord('V1')]), deps);

    expect(poster.posts).toHaveLength(3);
    // vehicles, route:R1, vehicle:V1, vehicle:V2
    expect(reads()).toBe(4);
  });

  it('forgets a gone connection, counts it, and does not fail the record', async () => {
    const { table, poster, metrics, deps } = await setup(
      { gone: ['vehicles', 'route:R1'], live: ['vehicles'] },
      { gone: goneError },
    );

    const result = await broadcastBatch(outputStreamEvent([vehicleRecord(), vehicleRecord('V2')]), deps);

    expect(result.batchItemFailures).toEqual([]);
    expect(table.items().filter((i) => i.pk.includes('gone') || i.sk.includes('gone'))).toEqual([]);
    expect(metrics.ConnectionsGone).toBe(1);
    expect(poster.posts.map((p) => p.connectionId)).toEqual(['live', 'live']);
    expect(metrics.BroadcastsSent).toBe(2);
  });

  it('reports a record whose post fails for another reason, and still delivers the rest', async () => {
    const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'LimitExceededException' });
    const { poster, deps } = await setup({ flaky: ['vehicle:V1'], ok: ['vehicles'] }, { flaky: throttled });

    const result = await broadcastBatch(outputStreamEvent([vehicleRecord('V1'), vehicleRecord('V2')]), deps);

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '1' }]);
    expect(poster.posts.map((p) => p.connectionId)).toEqual(['ok', 'ok']);
  });

  it('reports a record that is not {kind, data} JSON', async () => {
    const { deps } = await setup({ a: ['vehicles'] });

    const result = await broadcastBatch(
      outputStreamEvent([vehicleRecord(), 'not json', '{"kind":"other","data":{}}']),
      deps,
    );

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '2' }, { itemIdentifier: '3' }]);
  });
});

describe('broadcastBatch with many subscribers', () => {
  it('delivers to every subscriber while keeping at most 32 posts in flight', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `c${i}`);
    const { deps } = await setup(Object.fromEntries(ids.map((id) => [id, ['vehicles']])));
    let inFlight = 0;
    let peak = 0;
    const delivered: string[] = [];
    const poster = {
      async send(command: { input: { ConnectionId?: string } }) {
        peak = Math.max(peak, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight--;
        delivered.push(command.input.ConnectionId ?? '');
        return {};
      },
    };

    const result = await broadcastBatch(outputStreamEvent([vehicleRecord()]), { ...deps, poster });

    expect(result.batchItemFailures).toEqual([]);
    expect(delivered.sort()).toEqual([...ids].sort());
    expect(peak).toBe(32);
  });
});
