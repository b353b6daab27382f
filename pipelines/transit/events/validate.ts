/**
 * Validation of incoming position events: the latest Avro schema and the rules every event shares
 * (`event-validator.ts`), plus the ranges of a GPS fix a schema cannot express.
 */

import { deriveEventIdFrom } from '../../../shared/events/event-id.js';
import {
  type EventValidator,
  eventValidator,
  type FieldError,
  type ValidationOptions,
  type ValidationResult,
} from '../../../shared/events/event-validator.js';
import {
  type VehiclePosition,
  vehiclePositionLatestVersion,
  vehiclePositionSchemas,
} from '../../../shared/generated/schemas.js';
import type { EventContract } from '../../../shared/ingest/accept-events.js';

export { MIN_NONZERO_MAGNITUDE, summarizeErrors } from '../../../shared/events/event-validator.js';
export type { FieldError, ValidationOptions };

/** The content fields that identify a position fix when a producer sends no `eventId`. */
export const deriveEventId = deriveEventIdFrom([
  'vehicleId',
  'routeId',
  'tripId',
  'lat',
  'lon',
  'speedKmh',
  'headingDeg',
  'ts',
  'occupancy',
  'accuracyM',
]);

/** Passengers on one vehicle: more than any train carries. */
export const MAX_OCCUPANCY = 5_000;
/** Horizontal accuracy of a fix: beyond 100 km it locates nothing. */
export const MAX_ACCURACY_M = 100_000;

function rangeErrors(e: VehiclePosition): FieldError[] {
  const errors: FieldError[] = [];
  // A reason is written only for a failed check (plain ifs, no closure per event): a valid fix, nearly
  // every one, formats no numbers.
  if (!(e.lat >= -90 && e.lat <= 90)) errors.push({ field: 'lat', reason: `must be within [-90, 90], got ${e.lat}` });
  if (!(e.lon >= -180 && e.lon <= 180)) {
    errors.push({ field: 'lon', reason: `must be within [-180, 180], got ${e.lon}` });
  }
  if (!(e.speedKmh >= 0 && e.speedKmh <= 400)) {
    errors.push({ field: 'speedKmh', reason: `must be within [0, 400], got ${e.speedKmh}` });
  }
  if (!(e.headingDeg >= 0 && e.headingDeg < 360)) {
    errors.push({ field: 'headingDeg', reason: `must be within [0, 360), got ${e.headingDeg}` });
  }
  if (!(e.occupancy == null || (e.occupancy >= 0 && e.occupancy <= MAX_OCCUPANCY))) {
    errors.push({ field: 'occupancy', reason: `must be within [0, ${MAX_OCCUPANCY}] passengers, got ${e.occupancy}` });
  }
  if (!(e.accuracyM == null || (e.accuracyM >= 0 && e.accuracyM <= MAX_ACCURACY_M))) {
    errors.push({ field: 'accuracyM', reason: `must be within [0, ${MAX_ACCURACY_M}] m, got ${e.accuracyM}` });
  }
  return errors;
}

/** Vehicle positions as the engine's pipelines read them. */
export const vehiclePositionValidator: EventValidator<VehiclePosition> = eventValidator<VehiclePosition>({
  schema: vehiclePositionSchemas[vehiclePositionLatestVersion] as never,
  eventIdField: 'eventId',
  deriveEventId,
  timeField: 'ts',
  idFields: ['eventId', 'vehicleId', 'routeId', 'tripId'],
  rules: rangeErrors,
});

/**
 * Validates one decoded JSON value as a vehicle position. Fields the schema does not declare are
 * dropped (a producer on a newer schema version must not be rejected); `eventId` is derived from
 * the content when absent.
 */
export function validateVehiclePosition(
  input: unknown,
  options: ValidationOptions,
  now = Date.now(),
): ValidationResult<VehiclePosition> {
  return vehiclePositionValidator.validate(input, options, now);
}

/** Transit's ingest contract: vehicle positions, with the event-time rule of the given options. */
export const vehiclePositionContract = (options: ValidationOptions): EventContract<VehiclePosition> => ({
  validate: (value, now) => validateVehiclePosition(value, options, now),
  idOf: (event) => event.eventId,
});
