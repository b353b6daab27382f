import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../pipelines/transit/processing/memory-store.js';
import { advanceTrack } from '../../../pipelines/transit/processing/vehicle-track.js';
import { mergeWindow, vehicleWindowPk } from '../../../pipelines/transit/processing/windows.js';
import { position, settings, T0 } from '../../helpers/processing.js';

const NOW = new Date(T0).toISOString();
const stateAt = (ts: number) => advanceTrack(undefined, position({ ts }), undefined, settings, NOW).state;
const vehicleWindow = () =>
  mergeWindow(
    undefined,
    {
      pk: vehicleWindowPk('V1'),
      windowStart: T0,
      windowEnd: T0 + 60_000,
      entityType: 'vehicle',
      entityId: 'V1',
      routeId: 'R1',
    },
    [{ eventId: 'e1', vehicleId: 'V1', partition: 'shard-0', position: '0001', speedKmh: 30 }],
    NOW,
  ).item;
const windowKey = `${vehicleWindowPk('V1')}|${T0}`;

describe('MemoryStore isolation', () => {
  it('keeps a stored state when a caller mutates the state it got back', async () => {
    const store = new MemoryStore();
    await store.putVehicleState(stateAt(T0));
    const read = (await store.getVehicleStates(['V1'])).get('V1')!;

    expect(() => {
      read.speedKmh = 999;
    }).toThrow(TypeError);
    expect((await store.getVehicleStates(['V1'])).get('V1')!.speedKmh).toBe(position().speedKmh);
  });

  it('keeps a stored window when the caller mutates the item it put, nested event ids included', async () => {
    const store = new MemoryStore();
    const window = vehicleWindow();
    await store.putWindow(window, undefined);

    expect(() => {
      window.count = 99;
    }).toThrow(TypeError);
    expect(() => {
      window.eventIds!['e2'] = '0002';
    }).toThrow(TypeError);
    expect(() => {
      window.positions['shard-0'] = '9999';
    }).toThrow(TypeError);
    expect(store.windows.get(windowKey)).toMatchObject({
      count: 1,
      eventIds: { e1: '0001' },
      positions: { 'shard-0': '0001' },
    });
  });

  it('keeps a stored route window when a caller mutates the list of vehicles a query returned', async () => {
    const store = new MemoryStore();
    const route = mergeWindow(
      undefined,
      { pk: 'ROUTE#R1', windowStart: T0, windowEnd: T0 + 60_000, entityType: 'route', entityId: 'R1', routeId: 'R1' },
      [{ eventId: 'e1', vehicleId: 'V1', partition: 'shard-0', position: '0001', speedKmh: 30 }],
      NOW,
    ).item;
    await store.putWindow(route, undefined);
    const [read] = await store.queryRouteWindows('R1', T0, T0);

    expect(() => read!.vehicleIds!.push('V2')).toThrow(TypeError);
    expect((await store.queryRouteWindows('R1', T0, T0))[0]!.vehicleIds).toEqual(['V1']);
  });
});

describe('MemoryStore request counting', () => {
  it('counts one read request per BatchGetItem of up to 100 distinct keys, and none for no keys', async () => {
    const store = new MemoryStore();
    const ids = Array.from({ length: 250 }, (_, i) => `V${i}`);

    await store.getVehicleStates(ids);
    await store.getWindows([...ids, ...ids].map((id) => ({ pk: vehicleWindowPk(id), windowStart: T0 })));
    await store.getWindows([]);

    expect(store.readsByModel).toMatchObject({ states: 3, windows: 3 });
    expect(store.readRequests).toBe(6);
  });

  it('counts one read request per route-window query', async () => {
    const store = new MemoryStore();

    await store.queryRouteWindows('R1', T0 - 300_000, T0);
    await store.queryRouteWindows('R2', T0 - 300_000, T0);

    expect(store.readsByModel.windows).toBe(2);
  });

  it('counts a conditional write that fails as a write request, as DynamoDB bills it', async () => {
    const store = new MemoryStore();

    expect(await store.putVehicleState(stateAt(T0 + 1000))).toBe(true);
    expect(await store.putVehicleState(stateAt(T0))).toBe(false);

    expect(store).toMatchObject({ writeRequests: 2, conditionalFailures: 1 });
    expect(store.states.get('V1')!.ts).toBe(T0 + 1000);
  });
});
