/**
 * Validation of incoming position events against the latest Avro schema, plus the range checks a
 * schema cannot express. Every problem is reported with the field and the reason; nothing is coerced
 * silently except `ts` given as an ISO-8601 string, which is converted to epoch milliseconds.
 */
import avro from 'avsc';
import { type VehiclePosition, vehiclePositionLatestVersion, vehiclePositionSchemas } from '../generated/schemas.js';
import { deriveEventId } from './event-id.js';

export interface FieldError {
  field: string;
  reason: string;
}

export type ValidationResult =
  | { ok: true; event: VehiclePosition; derivedEventId: boolean }
  | { ok: false; errors: FieldError[]; eventId?: string };

const latestType = avro.Type.forSchema(vehiclePositionSchemas[vehiclePositionLatestVersion] as unknown as avro.Schema);
const declaredFields = new Set<string>(vehiclePositionSchemas[vehiclePositionLatestVersion].fields.map((f) => f.name));
const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const EARLIEST_TS = Date.UTC(2000, 0, 1);
/** How far ahead of the processing clock an event time may be (device clocks drift). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function typeName(type: avro.Type): string {
  if (avro.Type.isType(type, 'union:unwrapped') || avro.Type.isType(type, 'union:wrapped')) {
    return (type as unknown as { types: avro.Type[] }).types.map(typeName).join(' or ');
  }
  return type.typeName;
}

function rangeErrors(e: VehiclePosition, now: number): FieldError[] {
  const errors: FieldError[] = [];
  const check = (ok: boolean, field: string, reason: string) => {
    if (!ok) errors.push({ field, reason });
  };
  check(ID_PATTERN.test(e.vehicleId), 'vehicleId', 'must be 1-64 characters of A-Z a-z 0-9 _ . : -');
  check(ID_PATTERN.test(e.routeId), 'routeId', 'must be 1-64 characters of A-Z a-z 0-9 _ . : -');
  check(e.tripId == null || ID_PATTERN.test(e.tripId), 'tripId', 'must be 1-64 characters of A-Z a-z 0-9 _ . : -');
  check(e.eventId.length > 0 && e.eventId.length <= 128, 'eventId', 'must be 1-128 characters');
  check(e.lat >= -90 && e.lat <= 90, 'lat', `must be within [-90, 90], got ${e.lat}`);
  check(e.lon >= -180 && e.lon <= 180, 'lon', `must be within [-180, 180], got ${e.lon}`);
  check(e.speedKmh >= 0 && e.speedKmh <= 400, 'speedKmh', `must be within [0, 400], got ${e.speedKmh}`);
  check(e.headingDeg >= 0 && e.headingDeg < 360, 'headingDeg', `must be within [0, 360), got ${e.headingDeg}`);
  check(e.ts >= EARLIEST_TS, 'ts', `must be after 2000-01-01, got ${e.ts}`);
  check(
    e.ts <= now + MAX_CLOCK_SKEW_MS,
    'ts',
    `is more than 5 minutes in the future (${new Date(e.ts).toISOString()})`,
  );
  check(e.occupancy == null || e.occupancy >= 0, 'occupancy', `must not be negative, got ${e.occupancy}`);
  check(e.accuracyM == null || e.accuracyM >= 0, 'accuracyM', `must not be negative, got ${e.accuracyM}`);
  return errors;
}

/**
 * Validates one decoded JSON value as a vehicle position. Fields the schema does not declare are
 * dropped (a producer on a newer schema version must not be rejected); `eventId` is derived from
 * the content when absent.
 */
export function validateVehiclePosition(input: unknown, now = Date.now()): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: '(event)', reason: `must be a JSON object, got ${describe(input)}` }] };
  }
  const raw = input as Record<string, unknown>;
  const candidate: Record<string, unknown> = { tripId: null, occupancy: null, accuracyM: null };
  for (const [key, value] of Object.entries(raw)) {
    if (declaredFields.has(key) && value !== undefined) candidate[key] = value;
  }
  if (typeof candidate['ts'] === 'string') {
    const parsed = Date.parse(candidate['ts']);
    if (Number.isNaN(parsed)) {
      return {
        ok: false,
        errors: [{ field: 'ts', reason: `must be epoch milliseconds or an ISO-8601 time, got ${describe(raw['ts'])}` }],
        ...(typeof raw['eventId'] === 'string' ? { eventId: raw['eventId'] } : {}),
      };
    }
    candidate['ts'] = parsed;
  }
  const derivedEventId = candidate['eventId'] === undefined || candidate['eventId'] === null;
  if (derivedEventId) candidate['eventId'] = deriveEventId(candidate);

  const errors: FieldError[] = [];
  latestType.isValid(candidate, {
    errorHook: (path, value, type) => {
      errors.push({ field: path.join('.') || '(event)', reason: `expected ${typeName(type)}, got ${describe(value)}` });
    },
  });
  const eventId = typeof candidate['eventId'] === 'string' ? candidate['eventId'] : undefined;
  if (errors.length > 0) return { ok: false, errors, ...(eventId ? { eventId } : {}) };

  const event = candidate as unknown as VehiclePosition;
  const ranges = rangeErrors(event, now);
  if (ranges.length > 0) return { ok: false, errors: ranges, eventId: event.eventId };
  return { ok: true, event, derivedEventId };
}

/** One line naming every problem, for logs and DLQ message attributes. */
export function summarizeErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.reason}`).join('; ');
}
