/** Transit's WebSocket topics (docs/contracts.md): their forms, and which ones an output record is published on. */
import { isValidId } from '../../shared/ids.js';
import type { OutputKind, OutputKinds } from '../../shared/streams/output-record.js';
import type { OutputRecord } from './model.js';
import { projectAnomaly, projectVehicleState, projectWindow } from './queries/projections.js';

/** Adds `<prefix>:<id>` to `topics`, unless the id is missing or not a valid id (no `route:undefined`). */
function addIdTopic(topics: string[], prefix: 'route' | 'vehicle', id: unknown): string[] {
  if (isValidId(id)) topics.push(`${prefix}:${id}`);
  return topics;
}

/** Transit's own output records (the stream's `pipeline` records carry their topics and are read by `readOutputRecord`). */
type TransitRecord = Exclude<OutputRecord, { kind: 'pipeline' }>;
type DataOf<K extends TransitRecord['kind']> = Extract<TransitRecord, { kind: K }>['data'];

/** The topics a record is published on, most general first (one array per record: every message has one). */
export function topicsForRecord(record: TransitRecord): string[] {
  switch (record.kind) {
    case 'vehicle':
      return addIdTopic(addIdTopic(['vehicles'], 'route', record.data.routeId), 'vehicle', record.data.vehicleId);
    case 'window': {
      const topics = addIdTopic([], 'route', record.data.routeId);
      return record.data.entityType === 'vehicle' ? addIdTopic(topics, 'vehicle', record.data.entityId) : topics;
    }
    case 'anomaly':
      return addIdTopic(addIdTopic(['anomalies'], 'route', record.data.routeId), 'vehicle', record.data.vehicleId);
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
