import { describe, expect, it } from 'vitest';
import {
  ANOMALY_FIELDS,
  projectAnomaly,
  projectRouteWindow,
  projectStopEta,
  projectVehicleState,
  projectWindow,
  STOP_ETA_FIELDS,
  VEHICLE_STATE_FIELDS,
  WINDOW_FIELDS,
} from '../../../pipelines/transit/queries/projections.js';
import { TRANSIT_OUTPUT_KINDS } from '../../../pipelines/transit/topics.js';
import { NOW, routeWindow, stopEta, storedAnomaly, vehicleState } from '../../helpers/api-events.js';
import { openApiDocument, responseProblems, schemaProblems, UndocumentedResponseError } from '../../helpers/openapi.js';

type Schema = Record<string, unknown>;
const schemas = openApiDocument.components?.schemas as Record<string, Schema>;
const propertiesOf = (name: string) => Object.keys((schemas[name]?.properties ?? {}) as Schema).sort();

/** Every schema a response body can reach, following `$ref`s, with the path it was reached by. */
function responseSchemas(): Array<{ where: string; schema: Schema }> {
  const found: Array<{ where: string; schema: Schema }> = [];
  const seen = new Set<unknown>();
  const resolve = (ref: string): unknown =>
    ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, part) => (node as Schema | undefined)?.[part.replaceAll('~1', '/')], openApiDocument);
  const walk = (node: unknown, where: string): void => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    const schema = node as Schema;
    if (typeof schema.$ref === 'string') {
      walk(resolve(schema.$ref), schema.$ref);
      return;
    }
    found.push({ where, schema });
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties')
        for (const [name, sub] of Object.entries(value as Schema)) walk(sub, `${where}.${name}`);
      else if (key === 'items' || key === 'additionalProperties') walk(value, `${where}[]`);
      else if (key === 'oneOf' || key === 'anyOf' || key === 'allOf') {
        for (const [i, sub] of (value as unknown[]).entries()) walk(sub, `${where}/${key}/${i}`);
      }
    }
  };
  for (const [path, item] of Object.entries(openApiDocument.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const resolved = (response.$ref ? resolve(response.$ref) : response) as typeof response;
        walk(resolved.content?.['application/json']?.schema, `${method.toUpperCase()} ${path} ${status}`);
      }
    }
  }
  for (const name of ['OutputRecord', 'WebSocketMessage']) walk(schemas[name], name);
  return found;
}

describe('the response validator (tests/helpers/openapi.ts)', () => {
  it('refuses a response that leaks a storage field the document does not list', () => {
    const leaking = {
      ...projectRouteWindow({ ...projectWindow(routeWindow('R1', NOW)), lateEvents: 0 }),
      pk: 'ROUTE#R1',
    };

    const problems = responseProblems('GET /v1/routes/{routeId}/metrics', 200, {
      routeId: 'R1',
      from: NOW - 3_600_000,
      to: NOW,
      items: [leaking],
    });

    expect(problems).toEqual(['/items/0 must NOT have additional properties (pk)']);
  });

  it('refuses a stored item served as it is, naming each stray field', () => {
    const problems = responseProblems('GET /v1/vehicles/{vehicleId}', 200, vehicleState());

    expect(problems.sort()).toEqual([
      '/ must NOT have additional properties (etaComputedTs)',
      '/ must NOT have additional properties (stallReportedFor)',
    ]);
  });

  it('refuses an extra field in a nested object: an anomaly evidence, a pushed window', () => {
    const anomaly = projectAnomaly(storedAnomaly({ ts: NOW, type: 'stalled' }));
    const evidence = { ...anomaly, evidence: { ...anomaly.evidence, debug: 1 } };
    const pushed = {
      topic: 'route:R1',
      kind: 'window',
      data: { ...projectWindow(routeWindow('R1', NOW)), version: 3 },
    };

    expect(responseProblems('GET /v1/anomalies', 200, { items: [evidence] })).not.toEqual([]);
    expect(schemaProblems('WebSocketMessage', pushed)).not.toEqual([]);
  });

  it('refuses a status the operation does not document', () => {
    expect(() => responseProblems('GET /health', 418, {})).toThrow(UndocumentedResponseError);
  });
});

describe('docs/openapi.yaml', () => {
  it('closes every object a response or a pushed message can hold with additionalProperties: false', () => {
    const objects = responseSchemas().filter(({ schema }) => schema.type === 'object');

    expect(objects.length).toBeGreaterThan(20);
    expect(objects.filter(({ schema }) => schema.additionalProperties !== false).map(({ where }) => where)).toEqual([]);
  });

  it.each([
    ['VehicleState', VEHICLE_STATE_FIELDS],
    ['WindowAggregate', WINDOW_FIELDS],
    ['RouteWindow', [...WINDOW_FIELDS, 'lateEvents']],
    ['Anomaly', ANOMALY_FIELDS],
    ['StopEta', STOP_ETA_FIELDS],
  ])('lists exactly the fields the projection of %s keeps', (name, fields) => {
    expect(propertiesOf(name)).toEqual([...fields].sort());
  });
});

describe('projections', () => {
  const stored = {
    vehicle: vehicleState(),
    window: routeWindow('R1', NOW),
    anomalies: (['speed-zscore', 'impossible-jump', 'off-route', 'stalled'] as const).map((type) =>
      storedAnomaly({ ts: NOW, type }),
    ),
    eta: stopEta(),
  };

  it('turn each stored read model into its documented schema', () => {
    expect(schemaProblems('VehicleState', projectVehicleState(stored.vehicle))).toEqual([]);
    expect(schemaProblems('WindowAggregate', projectWindow(stored.window))).toEqual([]);
    expect(schemaProblems('RouteWindow', projectRouteWindow({ ...stored.window, lateEvents: 2 }))).toEqual([]);
    for (const anomaly of stored.anomalies) expect(schemaProblems('Anomaly', projectAnomaly(anomaly))).toEqual([]);
    expect(schemaProblems('StopEta', projectStopEta(stored.eta))).toEqual([]);
  });

  it('leave an absent optional field absent rather than undefined', () => {
    const { shapeId: _shape, distanceAlongM: _along, offRouteM: _off, ...offShape } = stored.vehicle;

    const projected = projectVehicleState(offShape);

    expect(Object.keys(projected)).not.toContain('shapeId');
    expect(Object.keys(projected)).not.toContain('distanceAlongM');
  });

  it('change nothing in a record that is already public', () => {
    const records = [
      { kind: 'vehicle' as const, data: stored.vehicle },
      { kind: 'window' as const, data: stored.window },
      { kind: 'anomaly' as const, data: stored.anomalies[0]! },
    ];

    for (const { kind, data } of records) {
      const { project } = TRANSIT_OUTPUT_KINDS[kind]!;
      const once = { kind, data: project({ ...data }) };
      expect(schemaProblems('OutputRecord', once)).toEqual([]);
      expect(project(once.data)).toEqual(once.data);
    }
  });
});
