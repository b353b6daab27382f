/** Item keys the processor writes; the readers in shared/queries use the same helpers (see docs/contracts.md). */
import type { Anomaly } from '../model.js';
import { routePk, ts13, utcDay } from '../queries/keys.js';
import type { LateEvent } from './ports.js';

/**
 * Sorted by window start, not by the triggering fix's time: a speed anomaly re-detected later in the
 * same window must land on the same key.
 */
export function anomalyKey(anomaly: Pick<Anomaly, 'routeId' | 'windowStart' | 'anomalyId'>) {
  return { pk: routePk(anomaly.routeId), sk: `${ts13(anomaly.windowStart)}#${anomaly.anomalyId}` };
}

/** The UTC day an anomaly is indexed under (GSI byDay). */
export const anomalyDay = utcDay;

/** Event ids are unique per vehicle, not across vehicles, so the vehicle is part of the key ('#' is not allowed in ids). */
export const lateEventSortKey = (e: Pick<LateEvent, 'windowStart' | 'vehicleId' | 'eventId'>) =>
  `${ts13(e.windowStart)}#${e.vehicleId}#${e.eventId}`;
