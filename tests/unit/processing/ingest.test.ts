import { describe, expect, it } from 'vitest';
import {
  acceptEvents,
  DeadLetterUnavailableError,
  IngestRequestError,
  MAX_EVENTS,
  parseIngestBody,
} from '../../../shared/ingest/accept-events.js';
import type { VehiclePosition } from '../../../shared/model.js';
import { deadLetterBody } from '../../../shared/processing/aws-adapters.js';
import { CapturingDeadLetters, position, settings, T0 } from '../../helpers/processing.js';

const NOW = T0 + 60_000;
const ports = () => {
  const written: VehiclePosition[] = [];
  return {
    written,
    deadLetters: new CapturingDeadLetters(),
    writer: { write: async (e: VehiclePosition[]) => void written.push(...e) },
  };
};

describe('parseIngestBody', () => {
  it('rejects a malformed body with 400', () => {
    expect(() => parseIngestBody('{nope', false)).toThrow(IngestRequestError);
    expect(() => parseIngestBody('{"events":{}}', false)).toThrow(/"events" array/);
    expect(() => parseIngestBody('{"events":[]}', false)).toThrow(/empty/);
  });

  it('rejects more than 500 events or more than 1 MB with 413', () => {
    const many = JSON.stringify({ events: Array.from({ length: MAX_EVENTS + 1 }, () => ({})) });
    const big = JSON.stringify({ events: [{ pad: 'x'.repeat(1024 * 1024) }] });
    for (const body of [many, big]) {
      try {
        parseIngestBody(body, false);
        expect.unreachable();
      } catch (error) {
        expect((error as IngestRequestError).statusCode).toBe(413);
      }
    }
  });

  it('decodes a base64 body', () => {
    const body = Buffer.from(JSON.stringify({ events: [1] })).toString('base64');
    expect(parseIngestBody(body, true)).toEqual([1]);
  });
});

describe('acceptEvents', () => {
  it('writes the valid events and dead-letters the invalid ones with index, field and reason', async () => {
    const p = ports();
    const result = await acceptEvents(
      [position({ eventId: 'a' }), { ...position({ eventId: 'b' }), lat: 100 }],
      p,
      settings,
      NOW,
    );

    expect(result).toMatchObject({ accepted: 1, rejected: 1, errors: [{ index: 1, eventId: 'b', field: 'lat' }] });
    expect(p.written.map((e) => e.eventId)).toEqual(['a']);
    expect(p.deadLetters.messages[0]).toMatchObject({ source: 'ingest', index: 1, eventId: 'b' });
  });

  it('stores the valid events of a body that also holds an event nested 20,000 levels deep', async () => {
    const p = ports();
    const deep = `{"vehicleId":"V1","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const events = parseIngestBody(`{"events":[${JSON.stringify(position({ eventId: 'a' }))},${deep}]}`, false);
    const result = await acceptEvents(events, p, settings, NOW);

    expect(result).toMatchObject({
      accepted: 1,
      rejected: 1,
      errors: [{ index: 1, reason: 'nests deeper than 32 levels' }],
    });
    expect(p.written.map((e) => e.eventId)).toEqual(['a']);
    expect(deadLetterBody(p.deadLetters.messages[0]!)).toContain('deeper than 32 levels');
  });

  it('fails the request when the dead letters cannot be recorded, before writing anything', async () => {
    const p = ports();
    p.deadLetters.failAll = true;
    await expect(acceptEvents([position(), { bad: true }], p, settings, NOW)).rejects.toThrow(
      DeadLetterUnavailableError,
    );
    expect(p.written).toHaveLength(0);
  });
});
