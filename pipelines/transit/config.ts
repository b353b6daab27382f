/** Transit's configuration, read once: its tables and its windowing and anomaly settings. */
import { type EventTimeSettings, eventTimeSettings, requireEnv } from '../../shared/config.js';
import { ConfigurationError, readSetting } from '../../shared/settings.js';
import { TRANSIT_PROCESSORS, TRANSIT_SETTINGS, type TransitProcessorCore } from './settings.js';

export type { TransitProcessorCore };

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
  /** The engine's table beside them (entity items, the engine's outputs), read by the engine path only. */
  get engine() {
    return requireEnv('TRANSIT_ENGINE_TABLE');
  },
};

/** `TRANSIT_PROCESSOR`, `engine` when unset; anything else is a configuration error naming the variable. */
export function transitProcessorCore(env: NodeJS.ProcessEnv = process.env): TransitProcessorCore {
  const raw = env.TRANSIT_PROCESSOR;
  if (raw === undefined || raw === '') return 'engine';
  if ((TRANSIT_PROCESSORS as readonly string[]).includes(raw)) return raw as TransitProcessorCore;
  throw new ConfigurationError(
    `environment variable TRANSIT_PROCESSOR must be one of ${TRANSIT_PROCESSORS.join(', ')}, got "${raw}"`,
  );
}

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
