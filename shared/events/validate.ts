/**
 * Validation of incoming position events against the latest Avro schema, plus the range checks a
 * schema cannot express. Every problem is reported with the field and the reason; nothing is coerced
 * silently except `ts` given as an ISO-8601 string with an offset, which is converted to epoch milliseconds.
 */
import avro from 'avsc';
import { ISO_INSTANT_RULE, parseIsoInstant } from '../event-time.js';
import { type VehiclePosition, vehiclePositionLatestVersion, vehiclePositionSchemas } from '../generated/schemas.js';
import { idProblem, isValidId } from '../ids.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, stringifyBounded } from '../json-bounds.js';
import { deriveEventId } from './event-id.js';

export interface FieldError {
  field: string;
  reason: string;
}

export type ValidationResult =
  | { ok: true; event: VehiclePosition; derivedEventId: boolean }
  /** `eventId` is the event's own id when it has a valid one, so a rejection can name it. */
  | { ok: false; errors: FieldError[]; eventId?: string };

const latestType = avro.Type.forSchema(vehiclePositionSchemas[vehiclePositionLatestVersion] as unknown as avro.Schema);
const declaredFields = new Set<string>(vehiclePositionSchemas[vehiclePositionLatestVersion].fields.map((f) => f.name));
const EARLIEST_TS = Date.UTC(2000, 0, 1);
/** Passengers on one vehicle: more than any train carries. */
export const MAX_OCCUPANCY = 5_000;
/** Horizontal accuracy of a fix: beyond 100 km it locates nothing. */
export const MAX_ACCURACY_M = 100_000;
/**
 * The smallest non-zero magnitude of a measured number. Finer than any sensor, and it keeps sums of
 * squares far from DynamoDB's smallest number (1e-130), which a value like 1e-131 would otherwise hit.
 */
export const MIN_NONZERO_MAGNITUDE = 1e-9;
const MEASURED = ['lat', 'lon', 'speedKmh', 'headingDeg', 'accuracyM'] as const;

/** Options of {@link validateVehiclePosition}. */
export interface ValidationOptions {
  /**
   * How far ahead of `now` an event time may be (device clocks drift). Keep it within the allowed
   * lateness, so that one fast clock cannot make everyone's on-time events late (docs/exactly-once.md).
   */
  maxClockSkewMs: number;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = stringifyBounded(value, 2);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function typeName(type: avro.Type): string {
  if (avro.Type.isType(type, 'union:unwrapped') || avro.Type.isType(type, 'union:wrapped')) {
    return (type as unknown as { types: avro.Type[] }).types.map(typeName).join(' or ');
  }
  return type.typeName;
}

function rangeErrors(e: VehiclePosition, now: number, { maxClockSkewMs }: ValidationOptions): FieldError[] {
  const errors: FieldError[] = [];
  const check = (ok: boolean, field: string, reason: string) => {
    if (!ok) errors.push({ field, reason });
  };
  for (const field of ['eventId', 'vehicleId', 'routeId', 'tripId'] as const) {
    const value = e[field];
    const problem = field === 'tripId' && value == null ? undefined : idProblem(value);
    if (problem) errors.push({ field, reason: problem });
  }
  for (const field of MEASURED) {
    const value = e[field];
    if (value != null && value !== 0 && Math.abs(value) < MIN_NONZERO_MAGNITUDE) {
      errors.push({ field, reason: `must be 0 or at least ${MIN_NONZERO_MAGNITUDE} in magnitude, got ${value}` });
    }
  }
  check(e.lat >= -90 && e.lat <= 90, 'lat', `must be within [-90, 90], got ${e.lat}`);
  check(e.lon >= -180 && e.lon <= 180, 'lon', `must be within [-180, 180], got ${e.lon}`);
  check(e.speedKmh >= 0 && e.speedKmh <= 400, 'speedKmh', `must be within [0, 400], got ${e.speedKmh}`);
  check(e.headingDeg >= 0 && e.headingDeg < 360, 'headingDeg', `must be within [0, 360), got ${e.headingDeg}`);
  check(e.ts >= EARLIEST_TS, 'ts', `must be after 2000-01-01, got ${e.ts}`);
  check(
    e.ts <= now + maxClockSkewMs,
    'ts',
    `is ${Math.round((e.ts - now) / 1000)} s ahead of the processing clock (${new Date(e.ts).toISOString()}); at most ${maxClockSkewMs / 1000} s is accepted`,
  );
  check(
    e.occupancy == null || (e.occupancy >= 0 && e.occupancy <= MAX_OCCUPANCY),
    'occupancy',
    `must be within [0, ${MAX_OCCUPANCY}] passengers, got ${e.occupancy}`,
  );
  check(
    e.accuracyM == null || (e.accuracyM >= 0 && e.accuracyM <= MAX_ACCURACY_M),
    'accuracyM',
    `must be within [0, ${MAX_ACCURACY_M}] m, got ${e.accuracyM}`,
  );
  return errors;
}

/**
 * Validates one decoded JSON value as a vehicle position. Fields the schema does not declare are
 * dropped (a producer on a newer schema version must not be rejected); `eventId` is derived from
 * the content when absent.
 */
export function validateVehiclePosition(
  input: unknown,
  options: ValidationOptions,
  now = Date.now(),
): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: '(event)', reason: `must be a JSON object, got ${describe(input)}` }] };
  }
  if (nestsDeeperThan(input)) {
    return { ok: false, errors: [{ field: '(event)', reason: `nests deeper than ${MAX_JSON_DEPTH} levels` }] };
  }
  const raw = input as Record<string, unknown>;
  const candidate: Record<string, unknown> = { tripId: null, occupancy: null, accuracyM: null };
  for (const [key, value] of Object.entries(raw)) {
    if (declaredFields.has(key) && value !== undefined) candidate[key] = value;
  }
  if (typeof candidate['ts'] === 'string') {
    const parsed = parseIsoInstant(candidate['ts']);
    if (parsed === undefined) {
      return {
        ok: false,
        errors: [
          { field: 'ts', reason: `must be epoch milliseconds or ${ISO_INSTANT_RULE}, got ${describe(raw['ts'])}` },
        ],
        ...(isValidId(raw['eventId']) ? { eventId: raw['eventId'] } : {}),
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
  const eventId = isValidId(candidate['eventId']) ? candidate['eventId'] : undefined;
  if (errors.length > 0) return { ok: false, errors, ...(eventId ? { eventId } : {}) };

  const event = candidate as unknown as VehiclePosition;
  const ranges = rangeErrors(event, now, options);
  if (ranges.length > 0)
    return { ok: false, errors: ranges, ...(isValidId(event.eventId) ? { eventId: event.eventId } : {}) };
  return { ok: true, event, derivedEventId };
}

/** One line naming every problem, for logs and DLQ message attributes. */
export function summarizeErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.reason}`).join('; ');
}
