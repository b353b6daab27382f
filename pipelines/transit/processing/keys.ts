/** Item keys the processor writes; the readers in shared/queries use the same helpers (see docs/contracts.md). */
import type { Anomaly } from '../model.js';
import { anomalySortKey, routePk, ts13, utcDay } from '../queries/keys.js';
import type { LateEvent } from './ports.js';

/** The AnomaliesTable key of an anomaly (see `anomalySortKey` for why it sorts by window start). */
export function anomalyKey(anomaly: Pick<Anomaly, 'routeId' | 'windowStart' | 'anomalyId'>) {
  return { pk: routePk(anomaly.routeId), sk: anomalySortKey(anomaly.windowStart, anomaly.anomalyId) };
}

/** The UTC day an anomaly is indexed under (GSI byDay). */
export const anomalyDay = utcDay;

/** Event ids are unique per vehicle, not across vehicles, so the vehicle is part of the key ('#' is not allowed in ids). */
export const lateEventSortKey = (e: Pick<LateEvent, 'windowStart' | 'vehicleId' | 'eventId'>) =>
  `${ts13(e.windowStart)}#${e.vehicleId}#${e.eventId}`;
