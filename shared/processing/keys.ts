/** Item keys shared by the writers here and the readers in shared/queries (see docs/contracts.md). */
import type { Anomaly } from '../model.js';

export const pad13 = (ms: number) => String(Math.max(0, Math.trunc(ms))).padStart(13, '0');

export function anomalyKey(anomaly: Pick<Anomaly, 'routeId' | 'ts' | 'anomalyId'>) {
  return { pk: `ROUTE#${anomaly.routeId}`, sk: `${pad13(anomaly.ts)}#${anomaly.anomalyId}` };
}

/** The UTC day an anomaly is indexed under (GSI byDay). */
export const anomalyDay = (ts: number) => new Date(ts).toISOString().slice(0, 10);

export const lateEventSortKey = (windowStart: number, eventId: string) => `${pad13(windowStart)}#${eventId}`;
