/**
 * A pipeline's simulator workload: the events its producers would send, declared by the definition
 * (`PipelineDefinition.workload`), and the faults real producers add, injected the same way for every
 * pipeline: copies, events overtaken by later ones, events sent after their window closed, and
 * events the pipeline must refuse. `npm run simulate` and the e2e tests send what this yields.
 */
import type { EventBinding } from './pipeline.js';

/** What a workload is asked for. */
export interface WorkloadOptions {
  /** Event time of the first event (epoch ms). */
  startTime: number;
  /** How long the run lasts in event time. */
  seconds: number;
  /** Events per second, over all entities. */
  rate: number;
  /** Uniform in [0, 1), seeded by the caller so a run can be repeated. */
  random: () => number;
}

/** The events of a run, in event-time order, as the pipeline's producers send them. */
export interface PipelineWorkload<E> {
  events(options: WorkloadOptions): Iterable<E>;
}

/** How an event is sent. */
export type FaultKind = 'normal' | 'duplicate' | 'out-of-order' | 'late' | 'invalid';

/** Shares of the events sent with each fault, each in [0, 1]. @default 0 each */
export interface Faults {
  /** Sent again, up to 3 s after it was sent (a held event's copy too). */
  duplicates?: number;
  /** Held back 2 to 10 s, so later events overtake it (within any lateness of a minute or more). */
  outOfOrder?: number;
  /**
   * Held back past the end of its longest window plus the allowed lateness (by 30 to 90 s more): it
   * misses its windows.
   */
  late?: number;
  /** Followed by a copy without one of the schema's required fields, which the pipeline refuses. */
  invalid?: number;
}

/** One event to send, `sendAtMs` after the start of the run, under its entity's partition key. */
export interface SimulatedEvent {
  sendAtMs: number;
  event: unknown;
  kind: FaultKind;
  key: string;
  /** For `invalid`: the required field it lacks. */
  missingField?: string;
}

const FAULT_KINDS = ['duplicates', 'outOfOrder', 'late', 'invalid'] as const;

/**
 * The workload's events with `faults` injected, in send order: each event is sent when its event
 * time comes (`sendAtMs` = time − `startTime`), the faulty copies and held-back events when theirs
 * do. Deterministic for a given `random`. Every valid event of the workload is sent at least once:
 * the faults add copies and delays, and drop nothing.
 */
export function* simulatedEvents<V>(
  definition: {
    workload?: PipelineWorkload<V>;
    event: EventBinding<V>;
    allowedLatenessMs: number;
    operators: ReadonlyArray<{ kind: string; windows?: { sizeMs: number } }>;
  },
  options: WorkloadOptions & {
    faults?: Faults;
    /**
     * Draws the faults, apart from the workload's `random`, so that a seed gives the same events with
     * faults or without. @default `random`
     */
    faultRandom?: () => number;
  },
): Generator<SimulatedEvent> {
  const { workload, event: binding, allowedLatenessMs } = definition;
  // An event this far behind its time has missed every window it falls in, wherever in them it is.
  const longestWindowMs = Math.max(0, ...definition.operators.map((op) => op.windows?.sizeMs ?? 0));
  const missedAfterMs = longestWindowMs + allowedLatenessMs;
  if (!workload) throw new RangeError('the pipeline declares no simulator workload');
  const faults = options.faults ?? {};
  for (const kind of FAULT_KINDS) {
    const share = faults[kind] ?? 0;
    if (!(share >= 0 && share <= 1)) throw new RangeError(`faults.${kind} must be within [0, 1], got ${share}`);
  }
  const { startTime } = options;
  const random = options.faultRandom ?? options.random;
  const required = [...binding.validator.requiredFields];
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low));
  // Sends held back behind the current event, in send order (a sorted queue: they are few).
  const held: SimulatedEvent[] = [];
  const hold = (sent: SimulatedEvent) => {
    let i = held.length;
    while (i > 0 && held[i - 1]!.sendAtMs > sent.sendAtMs) i--;
    held.splice(i, 0, sent);
  };
  for (const event of workload.events(options)) {
    const sendAtMs = binding.time(event) - startTime;
    while (held.length > 0 && held[0]!.sendAtMs <= sendAtMs) yield held.shift()!;
    const key = binding.entity(event);
    const base = { event, key };
    const roll = random();
    const late = faults.late ?? 0;
    let sentAtMs = sendAtMs;
    if (roll < late) {
      sentAtMs = sendAtMs + missedAfterMs + between(30_000, 90_000);
      hold({ ...base, kind: 'late', sendAtMs: sentAtMs });
    } else if (roll < late + (faults.outOfOrder ?? 0)) {
      sentAtMs = sendAtMs + between(2_000, 10_000);
      hold({ ...base, kind: 'out-of-order', sendAtMs: sentAtMs });
    } else {
      yield { ...base, kind: 'normal', sendAtMs };
    }
    // A copy follows the event as sent: a held event's copy does not arrive before it.
    if (random() < (faults.duplicates ?? 0)) {
      hold({ ...base, kind: 'duplicate', sendAtMs: sentAtMs + between(1, 3_000) });
    }
    if (required.length > 0 && random() < (faults.invalid ?? 0)) {
      const missingField = required[between(0, required.length)]!;
      const { [missingField]: _dropped, ...rest } = event as unknown as Record<string, unknown>;
      hold({ event: rest, key, kind: 'invalid', sendAtMs: sendAtMs + 1, missingField });
    }
  }
  yield* held;
}
