/**
 * Validation of an incoming JSON event against its Avro schema plus the rules every pipeline shares:
 * ids follow the id rule, the event time is epoch milliseconds or an ISO-8601 instant with an offset
 * and not ahead of the processing clock by more than the skew allowed, measured numbers are 0 or not
 * vanishingly small. A pipeline adds its own range rules. Every problem names its field and reason;
 * nothing is coerced silently except the ISO time, converted to epoch milliseconds.
 */
import avro from 'avsc';
import { ISO_INSTANT_RULE, parseIsoInstant } from '../event-time.js';
import { idProblem, isValidId } from '../ids.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, stringifyBounded } from '../json-bounds.js';

export interface FieldError {
  field: string;
  reason: string;
}

export type ValidationResult<E> =
  | { ok: true; event: E; derivedEventId: boolean }
  /** `eventId` is the event's own id when it has a valid one, so a rejection can name it. */
  | { ok: false; errors: FieldError[]; eventId?: string };

export interface ValidationOptions {
  /**
   * How far ahead of `now` an event time may be (device clocks drift). Keep it within the allowed
   * lateness, so that one fast clock cannot make everyone's on-time events late (docs/exactly-once.md).
   */
  maxClockSkewMs: number;
}

/** What a pipeline says about its event beyond the schema. */
export interface EventRules<E> {
  /** The Avro record schema events are read as (the family's latest version). */
  schema: avro.schema.RecordType;
  /** The field holding the event id; derived from the content when absent. */
  eventIdField: string;
  /** A deterministic id from the event's content, so a retried POST of an event without id is the same event. */
  deriveEventId: (candidate: Record<string, unknown>) => string;
  /** The event-time field (a `long` of epoch milliseconds). */
  timeField: string;
  /** String fields that are ids and must follow the id rule (`shared/ids.ts`); nullable ones may be null. */
  idFields: string[];
  /** The pipeline's own checks of a well-typed event (ranges, enumerations). */
  rules?: (event: E) => FieldError[];
}

/** The required fields of an Avro record schema: those without a default, except the (derivable) event id. */
export const requiredFieldsOf = (schema: { fields: ReadonlyArray<{ name: string }> }, eventIdField: string) =>
  schema.fields.filter((f) => !('default' in f) && f.name !== eventIdField).map((f) => f.name);

const EARLIEST_TS = Date.UTC(2000, 0, 1);
/**
 * The smallest non-zero magnitude of a measured number. Finer than any sensor, and it keeps sums of
 * squares far from DynamoDB's smallest number (1e-130), which a value like 1e-131 would otherwise hit.
 */
export const MIN_NONZERO_MAGNITUDE = 1e-9;

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

const branches = (type: avro.schema.DefinedType | avro.Schema): unknown[] => (Array.isArray(type) ? type : [type]);
const isDouble = (t: unknown) => t === 'double' || t === 'float';

/** A validator for one event type: compiled once, applied to every event. */
export interface EventValidator<E> {
  validate(input: unknown, options: ValidationOptions, now?: number): ValidationResult<E>;
  /** The fields the schema declares. */
  fields: ReadonlySet<string>;
  /** The fields every event has: those without a default, except the (derivable) event id. */
  requiredFields: readonly string[];
}

export function eventValidator<E>(rules: EventRules<E>): EventValidator<E> {
  const type = avro.Type.forSchema(rules.schema as avro.Schema);
  const fields = new Set(rules.schema.fields.map((f) => f.name));
  /** Absent optional fields read as null, as the schema's defaults say. */
  const nullable = rules.schema.fields.filter((f) => branches(f.type).includes('null')).map((f) => f.name);
  const measured = rules.schema.fields.filter((f) => branches(f.type).some(isDouble)).map((f) => f.name);
  const nullableIds = new Set(rules.idFields.filter((f) => nullable.includes(f)));

  function commonErrors(event: Record<string, unknown>, now: number, { maxClockSkewMs }: ValidationOptions) {
    const errors: FieldError[] = [];
    for (const field of rules.idFields) {
      const value = event[field];
      const problem = nullableIds.has(field) && value == null ? undefined : idProblem(value);
      if (problem) errors.push({ field, reason: problem });
    }
    for (const field of measured) {
      const value = event[field] as number | null;
      if (value != null && value !== 0 && Math.abs(value) < MIN_NONZERO_MAGNITUDE) {
        errors.push({ field, reason: `must be 0 or at least ${MIN_NONZERO_MAGNITUDE} in magnitude, got ${value}` });
      }
    }
    const ts = event[rules.timeField] as number;
    if (ts < EARLIEST_TS) errors.push({ field: rules.timeField, reason: `must be after 2000-01-01, got ${ts}` });
    if (ts > now + maxClockSkewMs) {
      errors.push({
        field: rules.timeField,
        reason: `is ${Math.round((ts - now) / 1000)} s ahead of the processing clock (${new Date(ts).toISOString()}); at most ${maxClockSkewMs / 1000} s is accepted`,
      });
    }
    return errors;
  }

  const requiredFields = requiredFieldsOf(rules.schema, rules.eventIdField);
  /** The event's id, when valid, for a rejection to name: looked up only on the way out. */
  const idOf = (event: Record<string, unknown>) =>
    isValidId(event[rules.eventIdField]) ? { eventId: event[rules.eventIdField] as string } : {};

  return {
    fields,
    requiredFields,
    validate(input, options, now = Date.now()) {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        return { ok: false, errors: [{ field: '(event)', reason: `must be a JSON object, got ${describe(input)}` }] };
      }
      const raw = input as Record<string, unknown>;
      // Fields the schema does not declare are dropped: a producer on a newer version must not be rejected.
      const candidate: Record<string, unknown> = {};
      for (const f of nullable) candidate[f] = null;
      let nested = false;
      for (const key in raw) {
        // for-in reads the shape's key cache where Object.keys would allocate an array per event.
        if (!Object.hasOwn(raw, key)) continue;
        const value = raw[key];
        if (typeof value === 'object' && value !== null) nested = true;
        if (fields.has(key) && value !== undefined) candidate[key] = value;
      }
      // An event of scalars nests one level deep: only one holding objects or arrays needs measuring.
      if (nested && nestsDeeperThan(input)) {
        return { ok: false, errors: [{ field: '(event)', reason: `nests deeper than ${MAX_JSON_DEPTH} levels` }] };
      }
      const time = candidate[rules.timeField];
      if (typeof time === 'string') {
        const parsed = parseIsoInstant(time);
        if (parsed === undefined) {
          const reason = `must be epoch milliseconds or ${ISO_INSTANT_RULE}, got ${describe(raw[rules.timeField])}`;
          return { ok: false, errors: [{ field: rules.timeField, reason }], ...idOf(raw) };
        }
        candidate[rules.timeField] = parsed;
      }
      const derivedEventId = candidate[rules.eventIdField] == null;
      if (derivedEventId) candidate[rules.eventIdField] = rules.deriveEventId(candidate);

      // Checked without a hook first: a valid event (the usual case) then builds no error paths.
      if (!type.isValid(candidate)) {
        const errors: FieldError[] = [];
        type.isValid(candidate, {
          errorHook: (path, value, t) => {
            errors.push({
              field: path.join('.') || '(event)',
              reason: `expected ${typeName(t)}, got ${describe(value)}`,
            });
          },
        });
        if (errors.length > 0) return { ok: false, errors, ...idOf(candidate) };
      }
      const event = candidate as E;
      const problems = commonErrors(candidate, now, options);
      const own = rules.rules?.(event);
      if (own && own.length > 0) problems.push(...own);
      if (problems.length > 0) return { ok: false, errors: problems, ...idOf(candidate) };
      return { ok: true, event, derivedEventId };
    },
  };
}

/** One line naming every problem, for logs and DLQ message attributes. */
export function summarizeErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.reason}`).join('; ');
}
