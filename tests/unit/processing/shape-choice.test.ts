import { describe, expect, it } from 'vitest';
import { chooseShape } from '../../../pipelines/transit/processing/shape-choice.js';
import { STREET_LON, TWO_WAY, twoWayReference } from '../../events/route-shapes.js';
import { pipeline, position, sourceRecords, T0 } from '../../helpers/processing.js';

/** A fix on route R2 without a trip id, 1.5 m east of the street's centre (nearer the northbound lane). */
const fix = (i: number, lat: number, headingDeg: number, speedKmh = 30) =>
  position({
    eventId: `f${i}`,
    routeId: 'R2',
    tripId: null,
    lat,
    lon: STREET_LON + 0.00002,
    headingDeg,
    speedKmh,
    ts: T0 + i * 10_000,
  });

function twoWayPipeline() {
  const p = pipeline();
  p.deps.reference = twoWayReference;
  return p;
}

describe('choosing a shape without a trip id', () => {
  it('puts a southbound bus on the southbound shape although the northbound one is nearer', async () => {
    const p = twoWayPipeline();

    await p.run(sourceRecords([fix(0, 52.31, 180)]));

    expect(p.store.states.get('V1')).toMatchObject({ shapeId: 'SOUTH' });
  });

  it('puts a northbound bus on the northbound shape', async () => {
    const p = twoWayPipeline();

    await p.run(sourceRecords([fix(0, 52.31, 2)]));

    expect(p.store.states.get('V1')).toMatchObject({ shapeId: 'NORTH' });
  });

  it('takes the direction from the previous fix when the heading is unusable', async () => {
    const p = twoWayPipeline();

    await p.run(sourceRecords([fix(0, 52.3105, 0, 0), fix(1, 52.31, 0, 0)]));

    expect(p.store.states.get('V1')).toMatchObject({ shapeId: 'SOUTH' });
  });

  it('keeps a standing bus on its shape whatever its GPS heading says', async () => {
    const p = twoWayPipeline();
    await p.run(sourceRecords([fix(0, 52.311, 180), fix(1, 52.31, 180)]));

    await p.run(sourceRecords([fix(2, 52.31, 10, 0), fix(3, 52.31, 350, 0)], 10));

    expect(p.store.states.get('V1')).toMatchObject({ shapeId: 'SOUTH' });
  });

  it('switches shape when the bus turns round', async () => {
    const p = twoWayPipeline();
    await p.run(sourceRecords([fix(0, 52.311, 180), fix(1, 52.31, 180)]));

    await p.run(sourceRecords([fix(2, 52.3105, 0)], 10));

    expect(p.store.states.get('V1')).toMatchObject({ shapeId: 'NORTH' });
  });
});

describe('chooseShape, the pure part of the choice', () => {
  const shapes = new Map([
    [TWO_WAY.north.shapeId, TWO_WAY.north],
    [TWO_WAY.south.shapeId, TWO_WAY.south],
  ]);

  it("takes the trip's shape over a better-scoring one", () => {
    const southbound = { ...fix(0, 52.31, 180), tripId: 'T-north' };

    expect(chooseShape(southbound, shapes, 'NORTH', undefined)?.shapeId).toBe('NORTH');
  });

  it('scores the shapes when the trip runs on a shape the route does not have', () => {
    const southbound = { ...fix(0, 52.31, 180), tripId: 'T-elsewhere' };

    expect(chooseShape(southbound, shapes, 'OTHER', undefined)?.shapeId).toBe('SOUTH');
  });

  it('places no fix of a route without shapes', () => {
    expect(chooseShape(fix(0, 52.31, 180), undefined, undefined, undefined)).toBeUndefined();
    expect(chooseShape(fix(0, 52.31, 180), new Map(), undefined, undefined)).toBeUndefined();
  });
});
