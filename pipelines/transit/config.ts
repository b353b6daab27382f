/** Transit's configuration, read once: its tables and its windowing and anomaly settings. */
import { type EventTimeSettings, eventTimeSettings, requireEnv } from '../../shared/config.js';
import { readSetting } from '../../shared/settings.js';
import { TRANSIT_SETTINGS } from './settings.js';

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

export function processingSettings(env: NodeJS.ProcessEnv = process.env): ProcessingSettings {
  const s = TRANSIT_SETTINGS;
  return {
    windowSizeMs: readSetting(s.windowSize, env) * 1000,
    ...eventTimeSettings(env),
    speedZThreshold: readSetting(s.speedZThreshold, env),
    stallMs: readSetting(s.stall, env) * 60_000,
    maxPlausibleSpeedKmh: readSetting(s.maxPlausibleSpeed, env),
    offRouteMeters: readSetting(s.offRoute, env),
  };
}
