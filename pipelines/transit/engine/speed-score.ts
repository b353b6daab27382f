/**
 * Transit's speed z-score on the engine: each fix's speed against the pooled speed statistics of its
 * route's 5 closed windows before the fix's window (W-7..W-3 with one-minute windows and two minutes of
 * lateness), judged when they hold at least 30 fixes with a standard deviation of at least 1 km/h; the
 * first fix per vehicle and window with |z| above `speedZThreshold` is the anomaly. It is
 * `processBatch`'s steps 5 and 6 as an `eventZScore` on the vehicle windows (one item per vehicle and
 * window, fed by the vehicle's own partition) with the route windows' `speed` stats as the baseline.
 */
import { type Detection, type Detector, eventZScore } from '../../../shared/engine/detectors.js';
import type { ProcessingSettings } from '../config.js';
import type { Anomaly, VehiclePosition } from '../model.js';
import { ROUTE_WINDOWS, VEHICLE_WINDOWS } from './windows.js';

export const SPEED_ZSCORE = 'speed-zscore';

// The same numbers as `processBatch`'s speed baseline.
export const BASELINE_WINDOWS = 5;
export const MIN_BASELINE_COUNT = 30;
const MIN_BASELINE_STD_KMH = 1;

const round1 = (x: number) => Math.round(x * 10) / 10;

/** What a speed detection carries besides its evidence, to become transit's `Anomaly`. */
interface SpeedDetails {
  vehicleId: string;
  routeId: string;
  ts: number;
  z: number;
  evidence: Anomaly['evidence'];
  /** When it was first detected: the store keeps the first attempt's, so every reader sees the same. */
  detectedAt?: string;
}

/** The speed z-score detector, with transit's evidence. */
export function speedZScore(settings: Pick<ProcessingSettings, 'speedZThreshold'>): Detector<VehiclePosition> {
  return eventZScore<VehiclePosition>({
    name: SPEED_ZSCORE,
    on: VEHICLE_WINDOWS,
    baseline: { operator: ROUTE_WINDOWS, field: 'speed', key: (e) => e.routeId },
    baselineWindows: BASELINE_WINDOWS,
    minCount: MIN_BASELINE_COUNT,
    minStd: MIN_BASELINE_STD_KMH,
    threshold: settings.speedZThreshold,
    value: (e) => e.speedKmh,
    details: ({ event, eventId, z, baseline, now }): Record<string, unknown> & SpeedDetails => ({
      detectedAt: new Date(now).toISOString(),
      vehicleId: event.vehicleId,
      routeId: event.routeId,
      ts: event.ts,
      z,
      evidence: {
        speedKmh: event.speedKmh,
        baselineMeanKmh: round1(baseline.mean as number),
        baselineStdKmh: round1(baseline.std as number),
        baselineCount: baseline.count,
        baselineWindows: BASELINE_WINDOWS,
        baselineFrom: baseline.from,
        baselineTo: baseline.to,
        eventId,
      },
    }),
  });
}

/**
 * A speed detection as transit's `Anomaly`, with `makeAnomaly`'s id (`speed-zscore:<vehicle>:<window
 * start>`) and rounded score. Its `detectedAt` is the processing time of the attempt that first found it,
 * kept in the detection, so `AnomaliesTable` and what is published agree, replays too; `detectedAt` is
 * only for a detection stored without one.
 */
export function speedAnomalyOf(
  detection: Detection,
  settings: Pick<ProcessingSettings, 'windowSizeMs'>,
  detectedAt: string,
): Anomaly {
  const details = detection.details as unknown as SpeedDetails;
  const { vehicleId, routeId, ts, z, evidence } = details;
  return {
    anomalyId: `${SPEED_ZSCORE}:${vehicleId}:${detection.ts}`,
    type: SPEED_ZSCORE,
    score: Math.round(z * 1000) / 1000,
    entityType: 'vehicle',
    entityId: vehicleId,
    vehicleId,
    routeId,
    windowStart: detection.ts,
    windowEnd: detection.ts + settings.windowSizeMs,
    ts,
    evidence,
    detectedAt: details.detectedAt ?? detectedAt,
  };
}
