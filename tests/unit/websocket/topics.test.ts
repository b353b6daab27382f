import { describe, expect, it } from 'vitest';
import { TRANSIT_TOPIC_FORMS } from '../../../pipelines/transit/description.js';
import { topicsForRecord } from '../../../pipelines/transit/topics.js';
import { InvalidTopicError, parseTopic } from '../../../shared/websocket/topic-forms.js';
import { routeWindow, storedAnomaly, vehicleState } from '../../helpers/api-events.js';

describe('parseTopic with transit’s topic forms', () => {
  const forms = [...TRANSIT_TOPIC_FORMS, 'donations:top'];

  it.each([
    'vehicles',
    'anomalies',
    'route:R1',
    'vehicle:bus-12.a:b_c',
    `route:${'x'.repeat(128)}`,
    'route:de:08212:1004:2:2 (U)',
    'vehicle:bus 12',
    'donations:top',
  ])('accepts %s', (topic) => {
    expect(parseTopic(topic, forms)).toBe(topic);
  });

  it.each([
    'route:',
    'route',
    'vehicle: padded',
    'vehicle:..',
    `route:${'x'.repeat(129)}`,
    'stops',
    'VEHICLES',
    'donations:top:x',
    'donations:',
    'route:R1/x',
    42,
    null,
  ])('rejects %s, saying which topics exist', (topic) => {
    expect(() => parseTopic(topic, forms)).toThrow(InvalidTopicError);
    expect(() => parseTopic(topic, forms)).toThrow(
      /vehicles, anomalies, route:<routeId>, vehicle:<vehicleId>, donations:top/,
    );
  });
});

describe('topicsForRecord', () => {
  it('publishes a vehicle state on vehicles, its route and itself', () => {
    expect(topicsForRecord({ kind: 'vehicle', data: vehicleState({ vehicleId: 'V3', routeId: 'R2' }) })).toEqual([
      'vehicles',
      'route:R2',
      'vehicle:V3',
    ]);
  });

  it('publishes a route window on its route only', () => {
    expect(topicsForRecord({ kind: 'window', data: routeWindow('R2', 0) })).toEqual(['route:R2']);
  });

  it('publishes a vehicle window on its route and its vehicle', () => {
    const window = { ...routeWindow('R2', 0), pk: 'VEHICLE#V3', entityType: 'vehicle' as const, entityId: 'V3' };

    expect(topicsForRecord({ kind: 'window', data: window })).toEqual(['route:R2', 'vehicle:V3']);
  });

  it('publishes an anomaly on anomalies, its route and its vehicle', () => {
    const anomaly = storedAnomaly({ ts: 1, vehicleId: 'V3', routeId: 'R2' });

    expect(topicsForRecord({ kind: 'anomaly', data: anomaly })).toEqual(['anomalies', 'route:R2', 'vehicle:V3']);
  });

  it('leaves out a topic whose id is missing', () => {
    const state = { ...vehicleState({ vehicleId: 'V3' }), routeId: undefined as unknown as string };

    expect(topicsForRecord({ kind: 'vehicle', data: state })).toEqual(['vehicles', 'vehicle:V3']);
  });
});
