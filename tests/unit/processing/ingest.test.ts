import { describe, expect, it } from 'vitest';
import { vehiclePositionContract } from '../../../pipelines/transit/events/validate.js';
import type { VehiclePosition } from '../../../pipelines/transit/model.js';
import { deadLetterBody } from '../../../shared/events/dead-letters.js';
import {
  acceptEvents,
  DeadLetterUnavailableError,
  IngestRequestError,
  MAX_EVENTS,
  parseIngestBody,
} from '../../../shared/ingest/accept-events.js';
import { ingestErrorResponse, ingestResultResponse } from '../../../shared/ingest/ingest-response.js';
import { assertDocumentedResponse } from '../../helpers/openapi.js';
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
      vehiclePositionContract(settings),
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
    const result = await acceptEvents(events, p, vehiclePositionContract(settings), NOW);

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
    await expect(acceptEvents([position(), { bad: true }], p, vehiclePositionContract(settings), NOW)).rejects.toThrow(
      DeadLetterUnavailableError,
    );
    expect(p.written).toHaveLength(0);
  });
});

describe('POST /v1/events answers', () => {
  /** The handler's steps without AWS: parse, accept, answer; every answer is checked against docs/openapi.yaml. */
  async function answer(body: string, p = ports()) {
    let response: Awaited<ReturnType<typeof ingestResultResponse>>;
    try {
      response = ingestResultResponse(
        await acceptEvents(parseIngestBody(body, false), p, vehiclePositionContract(settings), NOW),
      );
    } catch (error) {
      response = ingestErrorResponse(error);
    }
    assertDocumentedResponse('POST /v1/events', response);
    return { statusCode: response.statusCode, json: JSON.parse(response.body) };
  }
  const body = (...events: unknown[]) => JSON.stringify({ events });
  const invalid = { ...position({ eventId: 'bad' }), lat: 100 };

  it('answers 202 with the accepted ids when every event is valid', async () => {
    const response = await answer(body(position({ eventId: 'a' }), position({ eventId: 'b' })));

    expect(response).toEqual({ statusCode: 202, json: { accepted: 2, rejected: 0, eventIds: ['a', 'b'], errors: [] } });
  });

  it('answers 207 naming the rejected events when some are valid', async () => {
    const response = await answer(body(position({ eventId: 'a' }), invalid));

    expect(response.statusCode).toBe(207);
    expect(response.json).toMatchObject({
      accepted: 1,
      rejected: 1,
      errors: [{ index: 1, eventId: 'bad', field: 'lat' }],
    });
  });

  it('answers 400 with the ingest result when no event is valid', async () => {
    const response = await answer(body(invalid));

    expect(response.statusCode).toBe(400);
    expect(response.json).toMatchObject({ error: 'BadRequest', accepted: 0, rejected: 1, eventIds: [] });
  });

  it.each([
    [400, 'BadRequest', '{nope'],
    [413, 'PayloadTooLarge', body(...Array.from({ length: MAX_EVENTS + 1 }, () => ({})))],
  ])('answers %i %s for a request it cannot take as a whole', async (statusCode, error, text) => {
    const response = await answer(text);

    expect(response.statusCode).toBe(statusCode);
    expect(response.json.error).toBe(error);
  });

  it('answers 503 without details when the dead letters cannot be recorded', async () => {
    const p = ports();
    p.deadLetters.failAll = true;

    const response = await answer(body(position(), invalid), p);

    expect(response).toEqual({
      statusCode: 503,
      json: { error: 'ServiceUnavailable', message: 'events could not be stored; retry the request' },
    });
  });
});
