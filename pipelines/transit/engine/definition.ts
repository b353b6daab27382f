/**
 * The part of transit's engine definition that exists so far: how the engine reads a vehicle position,
 * transit's time rules, the route and vehicle windows, and (with the route reference data) the vehicle
 * state and its track anomalies. The description (handlers, routes, topics)
 * comes with the step that serves transit from the engine (docs/transit-on-engine.md); until then this
 * part runs in tests and the bench beside `processBatch`.
 */
import type { EventBinding, PipelineDefinition } from '../../../shared/engine/pipeline.js';
import type { ProcessingSettings } from '../config.js';
import { vehiclePositionValidator } from '../events/validate.js';
import type { VehiclePosition } from '../model.js';
import { stopEtasSink } from './etas.js';
import { type PlacedPosition, routeReference } from './route-reference.js';
import { trackAnomalyDetector, vehicleStateOperator } from './vehicle-state.js';
import { transitWindowOperators } from './windows.js';

/** The engine's key prefix for transit's items. */
export const TRANSIT_PIPELINE = 'transit';

/** A vehicle position as the engine reads it: the vehicle is the entity, as it is transit's partition key. */
export const transitEvent: EventBinding<VehiclePosition> = {
  validator: vehiclePositionValidator,
  id: (e) => e.eventId,
  time: (e) => e.ts,
  entity: (e) => e.vehicleId,
};

export type TransitDefinitionPart = Pick<
  PipelineDefinition<VehiclePosition>,
  'event' | 'allowedLatenessMs' | 'maxClockSkewMs' | 'operators'
>;

/** Transit's windows on the engine, with the same settings `processBatch` reads. */
export function transitWindowsPart(
  settings: Pick<ProcessingSettings, 'windowSizeMs' | 'allowedLatenessMs' | 'maxClockSkewMs'>,
): TransitDefinitionPart {
  return {
    event: transitEvent,
    allowedLatenessMs: settings.allowedLatenessMs,
    maxClockSkewMs: settings.maxClockSkewMs,
    operators: transitWindowOperators(settings),
  };
}

export type TransitStatePart = Pick<
  PipelineDefinition<PlacedPosition, VehiclePosition>,
  'event' | 'allowedLatenessMs' | 'maxClockSkewMs' | 'reference' | 'operators' | 'detectors' | 'sinks'
>;

/**
 * The windows part plus the route reference data (each fix with its route's shapes), the
 * `vehicle-state` operator, the detector of its track anomalies and the sink of its stop ETAs, with
 * `processBatch`'s settings.
 */
export function transitStatePart(settings: ProcessingSettings): TransitStatePart {
  const windows = transitWindowsPart(settings);
  return {
    ...windows,
    reference: routeReference,
    operators: [...windows.operators, vehicleStateOperator(settings)],
    detectors: [trackAnomalyDetector],
    sinks: [stopEtasSink(settings)],
  };
}
