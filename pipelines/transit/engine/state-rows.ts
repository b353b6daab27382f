/**
 * Transit's engine vehicle states as rows of its existing `VehicleStateTable` (key `vehicleId`, GSI
 * `byRoute`), a piece of the store adapter (docs/transit-on-engine.md, step 8): a row is today's
 * `VehicleState`, which the REST routes read, plus the engine's version, positions, newest fix time and
 * the anomalies of the fix that made it. A row today's processor wrote has none of those: it reads as
 * version 0 with no anomalies, and is overwritten only while it still has no version.
 */
import type { Json } from '../../../shared/engine/accumulators.js';
import { STATE_SK } from '../../../shared/engine/operators/keyed-state.js';
import { operatorPk } from '../../../shared/engine/operators/operator.js';
import type { StoredItem } from '../../../shared/engine/store.js';
import type { Anomaly, VehicleState } from '../model.js';
import { TRANSIT_PIPELINE } from './definition.js';
import { VEHICLE_STATE, type VehicleTrack } from './vehicle-state.js';

/** A `VehicleStateTable` row written from the engine. */
export interface StateRow extends VehicleState {
  version: number;
  positions: Record<string, string>;
  lastTs: number;
  trackAnomalies: Anomaly[];
}

const PK_PREFIX = operatorPk(TRANSIT_PIPELINE, VEHICLE_STATE, '');

/** Whether an engine item key is a vehicle state's. */
export const isStateKey = (pk: string) => pk.startsWith(PK_PREFIX);

/** The row key of a vehicle state item, and back. */
export const stateRowKey = (pk: string) => ({ vehicleId: pk.slice(PK_PREFIX.length) });
export const stateItemKey = (vehicleId: string) => ({ pk: `${PK_PREFIX}${vehicleId}`, sk: STATE_SK });

/** The row of an engine vehicle-state item. */
export function stateRow(item: StoredItem): StateRow {
  const track = item.body.state as unknown as VehicleTrack;
  return {
    ...track.vehicle,
    version: item.version,
    positions: item.positions,
    lastTs: item.body.lastTs as number,
    trackAnomalies: track.anomalies,
  };
}

/** The engine item of a row, whether the engine or today's processor wrote it (then version 0). */
export function stateItem(row: StateRow | VehicleState): StoredItem {
  const {
    version = 0,
    positions = {},
    lastTs,
    trackAnomalies = [],
    ...vehicle
  } = row as Partial<StateRow> & VehicleState;
  const track: VehicleTrack = { vehicle: vehicle as VehicleState, anomalies: trackAnomalies };
  return {
    ...stateItemKey(vehicle.vehicleId),
    version,
    positions,
    body: { key: vehicle.vehicleId, state: track as unknown as Json, lastTs: lastTs ?? vehicle.ts },
  };
}
