import type { RemovalPolicy, StackProps } from 'aws-cdk-lib';
import type { Throttle } from './constructs/streamfold-rest-api.js';

/** Settings of the Streamfold stack. Every one is checked at synth time by {@link validateStreamfoldProps}. */
export interface StreamfoldStackProps extends StackProps {
  /**
   * Tumbling window length in seconds (`WINDOW_SIZE_SECONDS`).
   * @default 60
   */
  readonly windowSizeSeconds?: number;
  /**
   * How late, in seconds, an event may be and still be folded into its window (`ALLOWED_LATENESS_SECONDS`).
   * @default 120
   */
  readonly allowedLatenessSeconds?: number;
  /**
   * Absolute z-score of a speed that flags an anomaly (`SPEED_Z_THRESHOLD`).
   * @default 3
   */
  readonly speedZThreshold?: number;
  /**
   * Minutes without moving, while on a trip, that flag a stalled vehicle (`STALL_MINUTES`).
   * @default 5
   */
  readonly stallMinutes?: number;
  /**
   * Implied speed between two fixes above which a jump is impossible (`MAX_PLAUSIBLE_SPEED_KMH`).
   * @default 160
   */
  readonly maxPlausibleSpeedKmh?: number;
  /**
   * Distance from the route shape, in metres, that flags a vehicle off route (`OFF_ROUTE_METERS`).
   * @default 150
   */
  readonly offRouteMeters?: number;
  /**
   * Shards of the input stream.
   * @default 2
   */
  readonly inputShardCount?: number;
  /**
   * Shards of the output stream.
   * @default 2
   */
  readonly outputShardCount?: number;
  /**
   * What happens to the tables, and their data, when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Throttle of every REST method.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly restThrottle?: Throttle;
  /**
   * Throttle per API key of `POST /v1/events`.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly ingestThrottle?: Throttle;
  /**
   * Throttle of the WebSocket stage.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly webSocketThrottle?: Throttle;
  /**
   * Name of the CloudWatch dashboard, unique per account and region.
   * @default 'Streamfold'
   */
  readonly dashboardName?: string;
}

/** Thrown at synth time when stack props conflict; the message lists every problem. */
export class InvalidStreamfoldPropsError extends Error {
  override name = 'InvalidStreamfoldPropsError';

  constructor(public readonly problems: readonly string[]) {
    super(`Invalid Streamfold stack props:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

type Check = [name: string, value: number | undefined];

/** Every problem with `props`, empty when they are valid. */
export function validateStreamfoldProps(props: StreamfoldStackProps): string[] {
  const problems: string[] = [];
  const positive: Check[] = [
    ['windowSizeSeconds', props.windowSizeSeconds],
    ['speedZThreshold', props.speedZThreshold],
    ['stallMinutes', props.stallMinutes],
    ['maxPlausibleSpeedKmh', props.maxPlausibleSpeedKmh],
    ['offRouteMeters', props.offRouteMeters],
  ];
  for (const [name, value] of positive) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0))
      problems.push(`${name} must be > 0, got ${value}`);
  }
  const lateness = props.allowedLatenessSeconds;
  if (lateness !== undefined && !(Number.isFinite(lateness) && lateness >= 0)) {
    problems.push(`allowedLatenessSeconds must be >= 0, got ${lateness}`);
  }
  // Windows are aligned to whole seconds, and the processor reads the env var as a number of seconds.
  for (const [name, value] of [
    ['windowSizeSeconds', props.windowSizeSeconds],
    ['allowedLatenessSeconds', lateness],
  ] satisfies Check[]) {
    if (value !== undefined && Number.isFinite(value) && !Number.isInteger(value)) {
      problems.push(`${name} must be a whole number of seconds, got ${value}`);
    }
  }
  for (const [name, value] of [
    ['inputShardCount', props.inputShardCount],
    ['outputShardCount', props.outputShardCount],
  ] satisfies Check[]) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      problems.push(`${name} must be a whole number >= 1, got ${value}`);
    }
  }
  for (const [name, throttle] of [
    ['restThrottle', props.restThrottle],
    ['ingestThrottle', props.ingestThrottle],
    ['webSocketThrottle', props.webSocketThrottle],
  ] as const) {
    if (throttle === undefined) continue;
    if (!(Number.isFinite(throttle.rateLimit) && throttle.rateLimit > 0)) {
      problems.push(`${name}.rateLimit must be > 0, got ${throttle.rateLimit}`);
    }
    if (!(Number.isInteger(throttle.burstLimit) && throttle.burstLimit >= 1)) {
      problems.push(`${name}.burstLimit must be a whole number >= 1, got ${throttle.burstLimit}`);
    }
  }
  return problems;
}

/** Throws {@link InvalidStreamfoldPropsError} listing every problem with `props`. */
export function assertValidStreamfoldProps(props: StreamfoldStackProps): void {
  const problems = validateStreamfoldProps(props);
  if (problems.length > 0) throw new InvalidStreamfoldPropsError(problems);
}
