/** WebSocket topics (docs/contracts.md): which exist, and which ones an output record is published on. */
import { ID_RULE, isValidId } from '../ids.js';
import type { OutputRecord } from '../model.js';

/** Thrown for a topic a client may not subscribe to; the message is safe to send back. */
export class InvalidTopicError extends Error {
  override name = 'InvalidTopicError';
}

const ID_TOPIC = /^(route|vehicle):(.*)$/s;
const isTopic = (value: string) => {
  const idTopic = ID_TOPIC.exec(value);
  return value === 'vehicles' || value === 'anomalies' || (idTopic !== null && isValidId(idTopic[2]));
};

/** A human-readable list of the topic forms, for error messages. */
export const TOPIC_FORMS = 'vehicles, anomalies, route:<routeId>, vehicle:<vehicleId>';

/** Returns `value` as a topic, or throws `InvalidTopicError` saying what is allowed. */
export function parseTopic(value: unknown): string {
  if (typeof value !== 'string' || !isTopic(value)) {
    const shown = typeof value === 'string' ? `"${value.slice(0, 80)}"` : String(typeof value);
    throw new InvalidTopicError(`invalid topic ${shown}: expected one of ${TOPIC_FORMS} (ids are ${ID_RULE})`);
  }
  return value;
}

/** `<prefix>:<id>`, or nothing when the id is missing or not a valid id (no `route:undefined`). */
function idTopic(prefix: 'route' | 'vehicle', id: unknown): string[] {
  return isValidId(id) ? [`${prefix}:${id}`] : [];
}

/** The topics a record is published on, most general first, without duplicates. */
export function topicsForRecord(record: OutputRecord): string[] {
  switch (record.kind) {
    case 'vehicle':
      return ['vehicles', ...idTopic('route', record.data.routeId), ...idTopic('vehicle', record.data.vehicleId)];
    case 'window':
      return [
        ...idTopic('route', record.data.routeId),
        ...(record.data.entityType === 'vehicle' ? idTopic('vehicle', record.data.entityId) : []),
      ];
    case 'anomaly':
      return ['anomalies', ...idTopic('route', record.data.routeId), ...idTopic('vehicle', record.data.vehicleId)];
  }
}
