/** Transit's WebSocket topics (docs/contracts.md): their forms, and which ones an output record is published on. */
import { isValidId } from '../../shared/ids.js';
import type { OutputKind, OutputKinds } from '../../shared/streams/output-record.js';
import type { OutputRecord } from './model.js';
import { projectAnomaly, projectVehicleState, projectWindow } from './queries/projections.js';

/** `<prefix>:<id>`, or nothing when the id is missing or not a valid id (no `route:undefined`). */
function idTopic(prefix: 'route' | 'vehicle', id: unknown): string[] {
  return isValidId(id) ? [`${prefix}:${id}`] : [];
}

/** Transit's own output records (the stream's `pipeline` records carry their topics and are read by `readOutputRecord`). */
type TransitRecord = Exclude<OutputRecord, { kind: 'pipeline' }>;
type DataOf<K extends TransitRecord['kind']> = Extract<TransitRecord, { kind: K }>['data'];

/** The topics a record is published on, most general first. */
export function topicsForRecord(record: TransitRecord): string[] {
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

/** One of transit's kinds as the broadcaster reads it, projected by `project` (which keeps only public fields). */
const outputKind = <K extends TransitRecord['kind']>(kind: K, project: (data: DataOf<K>) => DataOf<K>): OutputKind => ({
  topics: (data) => topicsForRecord({ kind, data } as TransitRecord),
  project: (data) => project(data as DataOf<K>),
});

/** How the broadcaster reads transit's kinds of output record. */
export const TRANSIT_OUTPUT_KINDS: OutputKinds = {
  vehicle: outputKind('vehicle', projectVehicleState),
  window: outputKind('window', projectWindow),
  anomaly: outputKind('anomaly', projectAnomaly),
};
