/** Transit's settings as plain data: the functions read them (`config.ts`), the CDK app checks and sets them. */
import type { Setting } from '../../shared/settings.js';

/** Transit's windowing and anomaly settings (docs/contracts.md, Settings). */
export const TRANSIT_SETTINGS = {
  windowSize: {
    prop: 'windowSizeSeconds',
    env: 'WINDOW_SIZE_SECONDS',
    meaning: 'tumbling window length in seconds, for route and vehicle windows',
    default: 60,
    min: 1,
    max: 86_400,
    integer: true,
  },
  speedZThreshold: {
    prop: 'speedZThreshold',
    env: 'SPEED_Z_THRESHOLD',
    meaning: "absolute z-score of a speed, against the route's closed windows, that flags an anomaly",
    default: 3,
    min: 0,
    above: true,
    max: 100,
  },
  stall: {
    prop: 'stallMinutes',
    env: 'STALL_MINUTES',
    meaning: 'minutes without moving, while on a trip, that flag a stalled vehicle',
    default: 5,
    min: 0,
    above: true,
    max: 1_440,
  },
  maxPlausibleSpeed: {
    prop: 'maxPlausibleSpeedKmh',
    env: 'MAX_PLAUSIBLE_SPEED_KMH',
    meaning: 'implied speed between two fixes, in km/h, above which a jump is impossible',
    default: 160,
    min: 0,
    above: true,
    max: 1_000,
  },
  offRoute: {
    prop: 'offRouteMeters',
    env: 'OFF_ROUTE_METERS',
    meaning: 'distance from the route shape, in metres, that flags a vehicle off route',
    default: 150,
    min: 0,
    above: true,
    max: 10_000,
  },
} satisfies Record<string, Setting>;

/**
 * Which core runs transit's batches (`TRANSIT_PROCESSOR`, stack prop `transitProcessor`): `batch`, today's
 * `processBatch`, or `engine`, transit as a pipeline on the engine (docs/transit-on-engine.md, step 9).
 */
export const TRANSIT_PROCESSORS = ['batch', 'engine'] as const;
export type TransitProcessorCore = (typeof TRANSIT_PROCESSORS)[number];
