import { describe, expect, it } from 'vitest';
import { presentTransitWindow, ROUTE_WINDOWS, VEHICLE_WINDOWS } from '../../../pipelines/transit/engine/windows.js';
import { T0 } from '../../helpers/processing.js';

/** A presented engine window as `presentWindow` makes it for transit's operators. */
const value = (extra: Record<string, unknown>) => ({
  key: 'K',
  windowStart: T0,
  windowEnd: T0 + 60_000,
  final: false,
  count: 2,
  minSpeedKmh: 20,
  maxSpeedKmh: 40,
  speed: { count: 2, mean: 30, variance: 100, std: 10 },
  ...extra,
});

describe('presentTransitWindow', () => {
  it('gives a route window its route as entity and its distinct vehicles, nothing of the engine', () => {
    expect(presentTransitWindow(ROUTE_WINDOWS, value({ key: 'R1', vehicles: 2 }))).toStrictEqual({
      entityType: 'route',
      entityId: 'R1',
      routeId: 'R1',
      windowStart: T0,
      windowEnd: T0 + 60_000,
      count: 2,
      minSpeedKmh: 20,
      maxSpeedKmh: 40,
      avgSpeedKmh: 30,
      distinctVehicles: 2,
    });
  });

  it('gives a vehicle window the route of its first event and no distinct vehicles', () => {
    expect(presentTransitWindow(VEHICLE_WINDOWS, value({ key: 'V1', routeId: 'R2' }))).toStrictEqual({
      entityType: 'vehicle',
      entityId: 'V1',
      routeId: 'R2',
      windowStart: T0,
      windowEnd: T0 + 60_000,
      count: 2,
      minSpeedKmh: 20,
      maxSpeedKmh: 40,
      avgSpeedKmh: 30,
    });
  });

  it('refuses an operator that is not one of transit’s windows', () => {
    expect(() => presentTransitWindow('toString', value({}))).toThrow(/toString is not a transit window operator/);
  });
});
