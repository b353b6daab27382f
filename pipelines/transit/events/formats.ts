/** How transit's events arrive on its streams: vehicle positions, as JSON or Confluent-framed Avro. */
import { requiredFieldsOf } from '../../../shared/events/event-validator.js';
import { candidateDecoder } from '../../../shared/events/source-records.js';
import { decodeConfluentAvro, schemaRegistry } from '../../../shared/events/wire-format.js';
import { vehiclePositionLatestVersion, vehiclePositionSchemas } from '../../../shared/generated/schemas.js';

/** Transit's vehicle positions: the family every transit source reads and the simulator writes. */
export const vehiclePositionFamily = schemaRegistry.family('vehicle.position');

/** Transit's payloads: vehicle positions, as JSON or Avro of the vehicle-position family. */
export const decodeCandidates = candidateDecoder({
  requiredFields: requiredFieldsOf(vehiclePositionSchemas[vehiclePositionLatestVersion], 'eventId'),
  decodeAvro: (bytes) => decodeConfluentAvro(bytes, vehiclePositionFamily),
});
