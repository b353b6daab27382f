/** Transit's configuration, read once: its tables and its windowing and anomaly settings. */
import { type EventTimeSettings, eventTimeSettings, numberEnv, requireEnv } from '../../shared/config.js';

/** Transit's tables, by the variables the stack sets. */
export const transitTables = {
  get vehicleState() {
    return requireEnv('VEHICLE_STATE_TABLE');
  },
  get windows() {
    return requireEnv('WINDOWS_TABLE');
  },
  get anomalies() {
    return requireEnv('ANOMALIES_TABLE');
  },
  get etas() {
    return requireEnv('ETA_TABLE');
  },
  get reference() {
    return requireEnv('REFERENCE_TABLE');
  },
  get lateEvents() {
    return requireEnv('LATE_EVENTS_TABLE');
  },
};

/** Windowing and anomaly settings; see docs/contracts.md for their meaning. */
export interface ProcessingSettings extends EventTimeSettings {
  windowSizeMs: number;
  speedZThreshold: number;
  stallMs: number;
  maxPlausibleSpeedKmh: number;
  offRouteMeters: number;
}

export function processingSettings(): ProcessingSettings {
  return {
    windowSizeMs: numberEnv('WINDOW_SIZE_SECONDS', 60) * 1000,
    ...eventTimeSettings(),
    speedZThreshold: numberEnv('SPEED_Z_THRESHOLD', 3),
    stallMs: numberEnv('STALL_MINUTES', 5) * 60_000,
    maxPlausibleSpeedKmh: numberEnv('MAX_PLAUSIBLE_SPEED_KMH', 160),
    offRouteMeters: numberEnv('OFF_ROUTE_METERS', 150),
  };
}
