import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { deriveEventId, validateVehiclePosition } from '../../../pipelines/transit/events/validate.js';
import { generate, generatedFile, parseSchemaFileName, schemasDir } from '../../../shared/avro/codegen.js';
import { position, settings, T0 } from '../../helpers/processing.js';

const NOW = T0 + 60_000;
const withoutId = () => {
  const { eventId: _id, ...rest } = position();
  return rest;
};

describe('validateVehiclePosition', () => {
  it('accepts a valid event', () => {
    expect(validateVehiclePosition(position({ eventId: 'e1' }), settings, NOW)).toMatchObject({
      ok: true,
      event: { eventId: 'e1' },
    });
  });

  it('rejects an event without vehicleId, naming the field', () => {
    const { vehicleId: _v, ...event } = position();
    const result = validateVehiclePosition(event, settings, NOW);
    expect(result).toMatchObject({
      ok: false,
      errors: [{ field: 'vehicleId', reason: 'expected string, got missing' }],
    });
  });

  it('reports type errors first, then every range error, each naming its field', () => {
    const result = validateVehiclePosition(
      { ...position(), lat: 91, speedKmh: -1, headingDeg: 'north' },
      settings,
      NOW,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.field)).toEqual(['headingDeg']);
    const ranges = validateVehiclePosition({ ...position(), lat: 91, speedKmh: -1 }, settings, NOW);
    if (!ranges.ok) expect(ranges.errors.map((e) => e.field)).toEqual(['lat', 'speedKmh']);
  });

  it('rejects an event time far in the future', () => {
    const result = validateVehiclePosition(position({ ts: NOW + 10 * 60_000 }), settings, NOW);
    expect(result).toMatchObject({ ok: false, errors: [{ field: 'ts' }] });
  });

  it('reads an ISO-8601 ts as epoch milliseconds', () => {
    const result = validateVehiclePosition({ ...position(), ts: new Date(T0).toISOString() }, settings, NOW);
    expect(result).toMatchObject({ ok: true, event: { ts: T0 } });
  });

  it('rejects a value that is not an object', () => {
    expect(validateVehiclePosition([1, 2], settings, NOW)).toMatchObject({ ok: false, errors: [{ field: '(event)' }] });
  });

  it('derives the same eventId for the same content and another for other content', () => {
    const a = validateVehiclePosition(withoutId(), settings, NOW);
    const b = validateVehiclePosition(withoutId(), settings, NOW);
    const c = validateVehiclePosition({ ...withoutId(), speedKmh: 31 }, settings, NOW);
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (a.ok && b.ok && c.ok) {
      expect(a.event.eventId).toBe(b.event.eventId);
      expect(a.event.eventId).not.toBe(c.event.eventId);
      expect(a.event.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  const rejectsField = (event: unknown, field: string) =>
    expect(validateVehiclePosition(event, settings, NOW)).toMatchObject({ ok: false, errors: [{ field }] });

  it.each([
    '1',
    'March 7',
    '2026-11-21',
    '2026-11-21T08:00:00',
    '2026-11-21 08:00:00Z',
    '2026-02-30T08:00:00Z',
    '2026-11-21T25:00:00Z',
    '2026-11-21T08:00:00+24:00',
    '1763712000000',
  ])('rejects the ts string %j: only ISO-8601 with an explicit offset is read', (ts) => {
    rejectsField({ ...position(), ts }, 'ts');
  });

  it('reads ISO-8601 without seconds (a fuzzer found it rejected)', () => {
    expect(validateVehiclePosition({ ...position(), ts: '2026-11-21T08:00Z' }, settings, NOW)).toMatchObject({
      ok: true,
      event: { ts: T0 },
    });
  });

  it('reads ISO-8601 with a numeric offset and fractions to the millisecond', () => {
    const result = validateVehiclePosition({ ...position(), ts: '2026-11-21T09:00:00.5+01:00' }, settings, NOW);
    expect(result).toMatchObject({ ok: true, event: { ts: T0 + 500 } });
  });

  it('accepts real GTFS ids with colons, spaces and parentheses', () => {
    const event = { ...position(), vehicleId: 'bus 12 (A)', routeId: 'de:08212:1004:2:2 (U)', tripId: 'T:1-x' };
    expect(validateVehiclePosition(event, settings, NOW)).toMatchObject({ ok: true });
  });

  it.each([
    ['.', 'vehicleId'],
    ['..', 'routeId'],
    ['a/b', 'vehicleId'],
    ['a#b', 'routeId'],
    [' padded', 'vehicleId'],
    ['x'.repeat(129), 'tripId'],
    ['nul\u0000', 'eventId'],
    ['bell\u0007', 'vehicleId'],
    ['lone\uD800', 'eventId'],
  ])('rejects the id %j in %s', (id, field) => {
    rejectsField({ ...position(), [field]: id }, field);
  });

  it('bounds occupancy and accuracy by their meaning', () => {
    rejectsField({ ...position(), occupancy: 2_000_000_000 }, 'occupancy');
    rejectsField({ ...position(), accuracyM: 1e308 }, 'accuracyM');
    rejectsField({ ...position(), accuracyM: -1 }, 'accuracyM');
    expect(validateVehiclePosition({ ...position(), occupancy: 80, accuracyM: 12.5 }, settings, NOW)).toMatchObject({
      ok: true,
    });
  });

  it.each(['lat', 'lon', 'speedKmh', 'headingDeg', 'accuracyM'])(
    'rejects %s of 1e-131, which DynamoDB cannot store, and keeps 0',
    (field) => {
      rejectsField({ ...position(), [field]: 1e-131 }, field);
      expect(validateVehiclePosition({ ...position(), [field]: 0 }, settings, NOW).ok).toBe(true);
    },
  );

  it('rejects an event nested 20,000 levels deep with a reason, without throwing', () => {
    const deep = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    const result = validateVehiclePosition({ ...position(), extra: deep }, settings, NOW);
    expect(result).toMatchObject({ ok: false, errors: [{ field: '(event)', reason: 'nests deeper than 32 levels' }] });
  });

  it('accepts event times up to the clock-skew tolerance ahead and rejects beyond it', () => {
    expect(validateVehiclePosition(position({ ts: NOW + 60_000 }), settings, NOW).ok).toBe(true);
    const result = validateVehiclePosition(position({ ts: NOW + 61_000 }), settings, NOW);
    expect(result).toMatchObject({ ok: false, errors: [{ field: 'ts', reason: expect.stringMatching(/61 s ahead/) }] });
  });

  it('derives the id from the content whatever the key order', () => {
    const { vehicleId, routeId, ...rest } = withoutId();
    expect(deriveEventId({ vehicleId, routeId, ...rest })).toBe(deriveEventId({ ...rest, routeId, vehicleId }));
  });
});

describe('schemas', () => {
  const families = new Map<string, Array<{ version: number; schema: avro.Schema }>>();
  for (const file of readdirSync(schemasDir)) {
    const parsed = parseSchemaFileName(file);
    if (!parsed) continue;
    const list = families.get(parsed.base) ?? [];
    list.push({ version: parsed.version, schema: JSON.parse(readFileSync(join(schemasDir, file), 'utf8')) });
    families.set(
      parsed.base,
      list.sort((a, b) => a.version - b.version),
    );
  }

  it('has at least one schema family with more than one version', () => {
    expect([...families.values()].some((versions) => versions.length > 1)).toBe(true);
  });

  for (const [base, versions] of families) {
    for (let i = 1; i < versions.length; i++) {
      const writer = versions[i - 1]!;
      const reader = versions[i]!;
      it(`${base} v${reader.version} reads data written with v${writer.version}`, () => {
        const writerType = avro.Type.forSchema(writer.schema);
        const readerType = avro.Type.forSchema(reader.schema);
        const written = writerType.toBuffer({ ...position({ eventId: 'e1' }), accuracyM: undefined });
        const read = readerType.fromBuffer(written, readerType.createResolver(writerType));
        expect(read).toMatchObject({ eventId: 'e1', vehicleId: 'V1', ts: T0 });
      });
    }
  }

  it('generated types are up to date with the .avsc files (run npm run codegen)', () => {
    expect(readFileSync(generatedFile, 'utf8')).toBe(generate());
  });
});

describe('runtime', () => {
  it('runs on Node.js 24, like the Lambda runtime', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });
});
