/**
 * Source adapters: turn what an event source delivers into ordered `SourceRecord`s, and a record's
 * payload into candidate events. One adapter per source (Kinesis, Kafka); the processor core sees
 * only `SourceRecord`s.
 */
import { createRequire } from 'node:module';
import type { KinesisStreamRecord, MSKEvent } from 'aws-lambda';
import { isConfluentFramed, WireFormatError } from './wire-format.js';

/** One record of a stream partition, in the partition's order. */
export interface SourceRecord {
  /** What a partial batch response names when this record fails (Kinesis: the sequence number). */
  itemIdentifier: string;
  /** Ordering scope: the Kinesis shard id (or a Kafka topic-partition). */
  partition: string;
  /** Position within the partition; positions of one partition compare correctly as strings. */
  position: string;
  data: Buffer;
  /** Set when the record could not even be unpacked (a corrupt KPL aggregate); it goes to the DLQ. */
  decodeError?: string;
}

/** A candidate event decoded from a record, with its own position (records may carry several events). */
export interface DecodedCandidate {
  record: SourceRecord;
  position: string;
  value: unknown;
}

export class RecordDecodeError extends Error {
  override name = 'RecordDecodeError';
}

interface UserRecord {
  sequenceNumber: string;
  subSequenceNumber: number;
  partitionKey: string;
  data: string;
}
type Deaggregate = (
  record: { sequenceNumber: string; partitionKey: string; data: string },
  computeChecksums: boolean,
  done: (err: Error | null | undefined, userRecords?: UserRecord[]) => void,
) => void;
const deaggregateSync = (createRequire(import.meta.url)('aws-kinesis-agg') as { deaggregateSync: Deaggregate })
  .deaggregateSync;

/** The four magic bytes that start a KPL aggregated record. */
const KPL_MAGIC = Buffer.from('f3899ac2', 'hex');

/** Pads a decimal string so that positions compare as strings (sequence numbers are up to 128 bits). */
export const padPosition = (n: string | number, width = 40) => String(n).padStart(width, '0');

/**
 * Kinesis event records → source records, de-aggregating KPL records into their user records
 * (each keeps the outer sequence number plus its sub-sequence number).
 */
export function kinesisSourceRecords(records: KinesisStreamRecord[]): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const record of records) {
    const partition = record.eventID.split(':')[0] ?? 'shard';
    const { sequenceNumber, partitionKey, data } = record.kinesis;
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length > 20 && bytes.subarray(0, 4).equals(KPL_MAGIC)) {
      let userRecords: UserRecord[] = [];
      let failure: string | undefined;
      deaggregateSync({ sequenceNumber, partitionKey, data }, true, (err, recs) => {
        if (err) failure = `KPL aggregated record could not be de-aggregated: ${err.message}`;
        else userRecords = recs ?? [];
      });
      if (failure) {
        out.push({
          itemIdentifier: sequenceNumber,
          partition,
          position: padPosition(sequenceNumber),
          data: bytes,
          decodeError: failure,
        });
        continue;
      }
      for (const user of userRecords) {
        out.push({
          itemIdentifier: sequenceNumber,
          partition,
          position: `${padPosition(sequenceNumber)}.${padPosition(user.subSequenceNumber, 6)}`,
          data: Buffer.from(user.data, 'base64'),
        });
      }
    } else {
      out.push({ itemIdentifier: sequenceNumber, partition, position: padPosition(sequenceNumber), data: bytes });
    }
  }
  return out;
}

/**
 * MSK / Kafka event records → source records: the partition is the event's `topic-partition` key,
 * the position the offset. A record without a value (a tombstone) goes to the DLQ.
 */
export function kafkaSourceRecords(event: Pick<MSKEvent, 'records'>): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const [partition, records] of Object.entries(event.records)) {
    for (const record of [...records].sort((a, b) => a.offset - b.offset)) {
      const itemIdentifier = `${partition}@${record.offset}`;
      const position = padPosition(record.offset, 20);
      if (record.value == null) {
        const decodeError = 'Kafka record has no value (a tombstone)';
        out.push({ itemIdentifier, partition, position, data: Buffer.alloc(0), decodeError });
      } else {
        out.push({ itemIdentifier, partition, position, data: Buffer.from(record.value, 'base64') });
      }
    }
  }
  return out;
}

/** How a pipeline's record payloads are read. */
export interface CandidateFormat {
  /** Fields every event has (those without a default in the schema; the event id may be derived). */
  requiredFields: readonly string[];
  /** Decodes a Confluent-framed Avro value of the pipeline's schema family; throws `WireFormatError`. */
  decodeAvro(bytes: Buffer): Record<string, unknown>;
}

/**
 * A record's payload → candidate events. Accepts Avro in the Confluent wire format (one event), one
 * JSON event, a JSON array of events, or an `{"events": [...]}` envelope, so producers writing to the
 * stream or topic directly need no special format. Throws `RecordDecodeError` when the payload is neither.
 *
 * `{"events": [...]}` is an envelope (a batch, as the REST ingest reads it, whatever else it holds)
 * unless it has every field an event needs: then it is one event with an undeclared `events` field.
 */
export function candidateDecoder(format: CandidateFormat): (record: SourceRecord) => DecodedCandidate[] {
  const isEnvelope = (value: unknown): value is { events: unknown[] } => {
    if (typeof value !== 'object' || value === null || !Array.isArray((value as { events?: unknown }).events)) {
      return false;
    }
    return !format.requiredFields.every((field) => field in value);
  };
  return (record) => {
    if (record.decodeError) throw new RecordDecodeError(record.decodeError);
    if (record.data.length === 0) throw new RecordDecodeError('record is empty (0 bytes): no event to read');
    if (isConfluentFramed(record.data)) {
      try {
        return [{ record, position: record.position, value: format.decodeAvro(record.data) }];
      } catch (error) {
        if (error instanceof WireFormatError) throw new RecordDecodeError(error.message, { cause: error });
        throw error;
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(record.data.toString('utf8'));
    } catch (error) {
      throw new RecordDecodeError(
        `record is neither JSON nor Avro in the Confluent wire format (first byte 0x${(record.data[0] ?? 0).toString(16).padStart(2, '0')}): ${(error as Error).message}`,
      );
    }
    const values = Array.isArray(parsed) ? parsed : isEnvelope(parsed) ? parsed.events : [parsed];
    if (values.length === 0) {
      throw new RecordDecodeError(
        `record holds ${Array.isArray(parsed) ? 'an empty JSON array' : 'an empty "events" array'}: no event to read`,
      );
    }
    if (values.length === 1) return [{ record, position: record.position, value: values[0] }];
    return values.map((value, i) => ({ record, position: `${record.position}#${padPosition(i, 5)}`, value }));
  };
}
