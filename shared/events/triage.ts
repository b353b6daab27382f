/**
 * Triage of a batch of source records: decode each into candidate events, validate each candidate,
 * and turn every failure into a dead letter naming the record, the field and the reason. A bad record
 * or event never takes its neighbours with it.
 */
import type { DeadLetterMessage } from './dead-letters.js';
import type { ValidationResult } from './event-validator.js';
import { summarizeErrors } from './event-validator.js';
import { type DecodedCandidate, RecordDecodeError, type SourceRecord } from './source-records.js';

/** A valid event with the record and position it came from. */
export interface ValidEvent<E> {
  event: E;
  record: SourceRecord;
  position: string;
}

function deadLetterFor(candidate: Pick<DecodedCandidate, 'record' | 'position'>, now: string) {
  return {
    source: 'processor' as const,
    record: {
      partition: candidate.record.partition,
      position: candidate.position,
      itemIdentifier: candidate.record.itemIdentifier,
    },
    receivedAt: now,
  };
}

/** Decodes and validates every record; invalid events become dead letters with their reasons. */
export function triageRecords<E>(
  records: SourceRecord[],
  decode: (record: SourceRecord) => DecodedCandidate[],
  validate: (value: unknown) => ValidationResult<E>,
  nowIso: string,
): { valid: Array<ValidEvent<E>>; dead: DeadLetterMessage[] } {
  const valid: Array<ValidEvent<E>> = [];
  const dead: DeadLetterMessage[] = [];
  for (const record of records) {
    let candidates: DecodedCandidate[];
    try {
      candidates = decode(record);
    } catch (error) {
      if (!(error instanceof RecordDecodeError)) throw error;
      dead.push({
        ...deadLetterFor({ record, position: record.position }, nowIso),
        reason: error.message,
        errors: [{ field: '(record)', reason: error.message }],
        payload: record.data.toString('base64'),
      });
      continue;
    }
    for (const candidate of candidates) {
      const result = validate(candidate.value);
      if (result.ok) valid.push({ event: result.event, record, position: candidate.position });
      else {
        dead.push({
          ...deadLetterFor(candidate, nowIso),
          reason: `invalid event: ${summarizeErrors(result.errors)}`,
          errors: result.errors,
          ...(result.eventId ? { eventId: result.eventId } : {}),
          payload: candidate.value,
        });
      }
    }
  }
  return { valid, dead };
}
