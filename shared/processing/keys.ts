/** Item keys the processor writes; the readers in shared/queries use the same helpers (see docs/contracts.md). */
import type { Anomaly } from '../model.js';
import { routePk, ts13, utcDay } from '../queries/keys.js';

/**
 * Sorted by window start, not by the triggering fix's time: a speed anomaly re-detected later in the
 * same window must land on the same key.
 */
export function anomalyKey(anomaly: Pick<Anomaly, 'routeId' | 'windowStart' | 'anomalyId'>) {
  return { pk: routePk(anomaly.routeId), sk: `${ts13(anomaly.windowStart)}#${anomaly.anomalyId}` };
}

/** The UTC day an anomaly is indexed under (GSI byDay). */
export const anomalyDay = utcDay;

export const lateEventSortKey = (windowStart: number, eventId: string) => `${ts13(windowStart)}#${eventId}`;
