/**
 * Transit's stop ETAs on the engine (docs/transit-on-engine.md, step 7): what `computeEtas` does
 * inside `processBatch`, split the way the engine runs it.
 *
 * - The `vehicle-state` fold decides, fix by fix, whether the fix refreshes the vehicle's ETAs
 *   (`etaComputedTsAfter`, `planEtas`' rule for one fix) and keeps that time in the state
 *   (`etaComputedTs`). A standing vehicle's ETAs use its route's average speed, which the fold reads
 *   as a baseline: the route windows' `speed` over the same closed windows as the speed z-score.
 * - The `stop-etas` sink derives the rows to put and the stops to delete from the update: `computeEtas`
 *   over the fixes the batch folded (the update's steps that moved the state), the state before the
 *   batch and its shape. The engine writes them to `EtaTable` before the state, as `processBatch` does.
 */
import type { ClosedBaseline } from '../../../shared/engine/baselines.js';
import type { FoldedEvent } from '../../../shared/engine/detectors.js';
import { type StateBaseline, stateBaselineRequest } from '../../../shared/engine/operators/keyed-state.js';
import type { Sink, SinkContext, SinkWrites } from '../../../shared/engine/sinks.js';
import type { ProcessingSettings } from '../config.js';
import type { VehiclePosition, VehicleState } from '../model.js';
import { canProduceEtas, computeEtas, type EtaFix, refreshDue, sameRun } from '../processing/eta.js';
import type { ShapeRef } from '../processing/ports.js';
import { windowStartOf } from '../processing/windows.js';
import type { PlacedPosition, RouteShapes } from './route-reference.js';
import { BASELINE_WINDOWS, MIN_BASELINE_COUNT } from './speed-score.js';
import { VEHICLE_STATE, type VehicleTrack } from './vehicle-state.js';
import { ROUTE_WINDOWS } from './windows.js';

export const STOP_ETAS = 'stop-etas';
/** `EtaTable`'s key. */
export const ETA_KEY: readonly string[] = ['stopId', 'vehicleId'];
/** The name the fold reads the route's average speed under (`FoldMeta.baselines`). */
export const ROUTE_AVERAGE = 'routeAverage';

/** The route's recent speeds: the `speed` stats of its closed route windows before the fix's window. */
export function routeAverageBaseline(
  settings: Pick<ProcessingSettings, 'windowSizeMs'>,
): StateBaseline<VehiclePosition> {
  return {
    operator: ROUTE_WINDOWS,
    field: 'speed',
    windows: BASELINE_WINDOWS,
    key: (e) => e.routeId,
    before: (e) => windowStartOf(e.ts, settings.windowSizeMs),
  };
}

/** The route's average speed as an ETA may use it: from at least as many fixes as the speed score needs. */
export const routeAverageKmh = (baseline: ClosedBaseline | undefined): number | undefined =>
  baseline && baseline.count >= MIN_BASELINE_COUNT && baseline.mean !== null ? baseline.mean : undefined;

/**
 * The vehicle's `etaComputedTs` after a fix, from the state before it: reset on a new run (trip or
 * shape), set to the fix's time when it refreshes (none yet on the run, or `ETA_REFRESH_MS` passed, and
 * it can produce rows), else kept.
 */
export function etaComputedTsAfter(previous: VehicleState | undefined, fix: EtaFix): number | undefined {
  const last = previous && sameRun(previous, fix.state) ? previous.etaComputedTs : undefined;
  return refreshDue(last, fix.state.ts) && canProduceEtas(fix) ? fix.state.ts : last;
}

const NO_WRITES: SinkWrites = Object.freeze({ puts: [], deletes: [] }) as SinkWrites;

/**
 * The shape of the state before the batch: usually its route is the batch's, whose events carry its
 * shapes; after a change of route it is read from the reference data.
 */
function shapeBefore(
  previous: VehicleState,
  events: ReadonlyArray<FoldedEvent<PlacedPosition>>,
  ctx: SinkContext,
): ShapeRef | undefined | Promise<ShapeRef | undefined> {
  const shapeId = previous.shapeId;
  if (!shapeId) return undefined;
  for (let i = 0; i < events.length; i++) {
    const shape = (events[i] as FoldedEvent<PlacedPosition>).event.routeShapes?.shapes.get(shapeId);
    if (shape) return shape;
  }
  return ctx.reference(previous.routeId).then((route) => (route as RouteShapes | undefined)?.shapes.get(shapeId));
}

/** The `stop-etas` sink: `EtaTable` rows to put and delete for each `vehicle-state` update. */
export function stopEtasSink(settings: Pick<ProcessingSettings, 'windowSizeMs'>): Sink<PlacedPosition> {
  const baseline = routeAverageBaseline(settings);
  return {
    name: STOP_ETAS,
    on: VEHICLE_STATE,
    key: ETA_KEY,
    async writes(update, ctx, events) {
      const steps = update.value.steps as VehicleTrack[];
      const previous = update.value.previous as VehicleTrack | null;
      // The fixes the batch folded: a step that kept the state (an older fix) is the same object.
      const fixes: EtaFix[] = [];
      let before = previous;
      for (let index = 0; index < steps.length; index++) {
        const step = steps[index] as VehicleTrack;
        if (step === before) continue;
        before = step;
        const { event } = events[index] as FoldedEvent<PlacedPosition>;
        const { shapeId } = step.vehicle;
        fixes.push({
          state: step.vehicle,
          shape: shapeId ? event.routeShapes?.shapes.get(shapeId) : undefined,
          routeAverageKmh: routeAverageKmh(
            // The fold's own request, so the reader's cache answers it.
            await ctx.baseline(stateBaselineRequest(baseline, event)),
          ),
        });
      }
      if (fixes.length === 0) return NO_WRITES;
      const prev = previous?.vehicle;
      // Usually found among the batch's events, with nothing to wait for.
      const shapeRead = prev && shapeBefore(prev, events, ctx);
      const previousShape = shapeRead instanceof Promise ? await shapeRead : shapeRead;
      const { puts, deletes } = computeEtas(prev, fixes, previousShape, ctx.now);
      return { puts: puts as unknown as Array<Record<string, unknown>>, deletes };
    },
  };
}
