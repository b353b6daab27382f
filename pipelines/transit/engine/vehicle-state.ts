/**
 * Transit's vehicle state on the engine (docs/transit-on-engine.md, step 5): a keyed state per vehicle
 * whose fold is what `processBatch` does per fix, `chooseShape` then `advanceTrack`, on fixes newer
 * than the state; a detector emitting the track anomalies that fold found (`impossible-jump`,
 * `off-route`, `stalled`, with `makeAnomaly`'s ids and evidence); and the presenters giving their
 * public shapes (`projectVehicleState`, `projectAnomaly`).
 *
 * The state keeps the anomalies its last fix found. A batch may fold several fixes of a vehicle, so
 * the detector reads every fold step of the update (`steps`), not only the last state; an anomaly the
 * stored state already held (its fix was folded by an earlier batch) is not emitted again.
 */
import type { Json } from '../../../shared/engine/accumulators.js';
import type { Detection, Detector } from '../../../shared/engine/detectors.js';
import type { KeyedState } from '../../../shared/engine/operators/keyed-state.js';
import type { Update } from '../../../shared/engine/operators/operator.js';
import type { ProcessingSettings } from '../config.js';
import type { Anomaly, VehicleState } from '../model.js';
import { chooseShape } from '../processing/shape-choice.js';
import { advanceTrack } from '../processing/vehicle-track.js';
import {
  type PublicAnomaly,
  type PublicVehicleState,
  projectAnomaly,
  projectVehicleState,
} from '../queries/projections.js';
import { etaComputedTsAfter, ROUTE_AVERAGE, routeAverageBaseline, routeAverageKmh } from './etas.js';
import type { PlacedPosition } from './route-reference.js';

export const VEHICLE_STATE = 'vehicle-state';
export const TRACK_ANOMALIES = 'track-anomalies';

/** A vehicle's stored state: its `VehicleState`, and the anomalies of the fix that made it. */
export interface VehicleTrack {
  vehicle: VehicleState;
  anomalies: Anomaly[];
}

/**
 * The `vehicle-state` operator, keyed by vehicle (the entity, so the fold sees the vehicle's own order).
 * A fix not newer than the state (older, late or a repeat) keeps it; the state never expires, as
 * `VehicleStateTable` keeps a vehicle's last state.
 */
export function vehicleStateOperator(settings: ProcessingSettings): KeyedState<PlacedPosition, Json> {
  // Every fold of a batch has the same `now`: its ISO form is made once, not once per fix.
  let stampedNow = Number.NaN;
  let stamp = '';
  const isoOf = (now: number) => {
    if (now !== stampedNow) {
      stampedNow = now;
      stamp = new Date(now).toISOString();
    }
    return stamp;
  };
  return {
    kind: 'state',
    name: VEHICLE_STATE,
    key: (event) => event.vehicleId,
    baselines: { [ROUTE_AVERAGE]: routeAverageBaseline(settings) },
    fold: (stored, event, meta) => {
      const previous = (stored as unknown as VehicleTrack | undefined)?.vehicle;
      if (stored !== undefined && (meta.late || event.ts <= (previous as VehicleState).ts)) return stored;
      const routeShapes = event.routeShapes;
      const tripShapeId = event.tripId ? routeShapes?.tripShapeIds.get(event.tripId) : undefined;
      const shape = chooseShape(event, routeShapes?.shapes, tripShapeId, previous);
      const { state, anomalies } = advanceTrack(previous, event, shape, settings, isoOf(meta.now));
      const etaComputedTs = etaComputedTsAfter(previous, {
        state,
        shape,
        routeAverageKmh: routeAverageKmh(meta.baselines[ROUTE_AVERAGE]),
      });
      if (etaComputedTs !== undefined) state.etaComputedTs = etaComputedTs;
      const track: VehicleTrack = { vehicle: state, anomalies };
      return track as unknown as Json;
    },
  };
}

/** The track anomalies of a `vehicle-state` update that its batch found, each once, in fold order. */
export function trackAnomaliesOf(update: Update): Anomaly[] {
  const steps = update.value.steps as VehicleTrack[];
  // Nearly every fix finds none: then no set of the stored ones is needed.
  if (!steps.some((step) => step.anomalies.length > 0)) return [];
  const previous = update.value.previous as VehicleTrack | null;
  const seen = new Set((previous?.anomalies ?? []).map((a) => a.anomalyId));
  const found: Anomaly[] = [];
  for (const step of steps) {
    for (const anomaly of step.anomalies) {
      if (seen.has(anomaly.anomalyId)) continue;
      seen.add(anomaly.anomalyId);
      found.push(anomaly);
    }
  }
  return found;
}

/** Emits each track anomaly once, identified by transit's `anomalyId`, the anomaly itself as its details. */
export const trackAnomalyDetector: Detector = {
  name: TRACK_ANOMALIES,
  on: VEHICLE_STATE,
  // An anomaly's time is its fix's: a replayed state (no steps) reports the stored ones of the batch's fixes.
  atEventTime: true,
  detect: (update) =>
    trackAnomaliesOf(update).map(
      (anomaly): Detection => ({
        detectionId: anomaly.anomalyId,
        detector: TRACK_ANOMALIES,
        key: update.key,
        ts: anomaly.ts,
        details: anomaly as unknown as Record<string, unknown>,
      }),
    ),
};

/** The public vehicle state of a `vehicle-state` update (or stored state), as `projectVehicleState` gives it. */
export const presentVehicleState = (track: VehicleTrack): PublicVehicleState => projectVehicleState(track.vehicle);

/**
 * Whether a `vehicle-state` update moved the state: a batch of only older fixes updates the item (its
 * positions) but keeps the state, and `processBatch` publishes no vehicle then. The fold returns the
 * stored state itself when it keeps it, so the update's `state` is then its `previous`.
 */
export const vehicleStateMoved = (update: Update): boolean => update.value.state !== update.value.previous;

/** The public vehicle state of an update, e.g. as a `publish` binding's `shape`. */
export const vehicleOfUpdate = (update: Update): PublicVehicleState =>
  presentVehicleState(update.value.state as VehicleTrack);

/** The public anomaly of a track-anomaly detection, as `projectAnomaly` gives it. */
export const anomalyOfDetection = (detection: Detection): PublicAnomaly =>
  projectAnomaly(detection.details as unknown as Anomaly);
