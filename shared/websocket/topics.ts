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

/**
 * Whether `value` is of a pipeline's topic form: the form itself (`donations:top`), or a form ending in
 * one `{name}` placeholder (`sensor:{sensorId}`) followed by a valid id.
 */
export function matchesTopicForm(form: string, value: string): boolean {
  const open = form.indexOf('{');
  if (open < 0) return value === form;
  return value.startsWith(form.slice(0, open)) && isValidId(value.slice(open));
}

/** Returns `value` as a topic, or throws `InvalidTopicError` saying what is allowed. */
export function parseTopic(value: unknown, pipelineForms: readonly string[] = []): string {
  if (typeof value !== 'string' || !(isTopic(value) || pipelineForms.some((f) => matchesTopicForm(f, value)))) {
    const shown = typeof value === 'string' ? `"${value.slice(0, 80)}"` : String(typeof value);
    const forms = [TOPIC_FORMS, ...pipelineForms.map((f) => f.replace(/\{(\w+)\}/, '<$1>'))].join(', ');
    throw new InvalidTopicError(`invalid topic ${shown}: expected one of ${forms} (ids are ${ID_RULE})`);
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
    case 'pipeline':
      return [...new Set(record.topics)];
  }
}
