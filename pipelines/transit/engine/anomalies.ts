/** Transit's anomalies as its engine detectors find them: what `AnomaliesTable` stores and clients read. */
import type { Detection } from '../../../shared/engine/detectors.js';
import type { ProcessingSettings } from '../config.js';
import type { Anomaly } from '../model.js';
import { SPEED_ZSCORE, speedAnomalyOf } from './speed-score.js';
import { TRACK_ANOMALIES } from './vehicle-state.js';

/**
 * The anomaly a detection of transit's detectors stands for: a track anomaly is its details (its fold
 * stamped `detectedAt`), a speed anomaly is made from its evidence at `detectedAt`; undefined for any
 * other detector's.
 */
export const transitAnomalyOf =
  (settings: Pick<ProcessingSettings, 'windowSizeMs'>) =>
  (detection: Detection, detectedAt: string): Anomaly | undefined => {
    if (detection.detector === TRACK_ANOMALIES) return detection.details as unknown as Anomaly;
    if (detection.detector === SPEED_ZSCORE) return speedAnomalyOf(detection, settings, detectedAt);
    return undefined;
  };
