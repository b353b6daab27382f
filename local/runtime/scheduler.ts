/**
 * Runs the template's scheduled rules offline: each `rate(...)` rule on its own timer (its period times
 * the rate scale), invoking its targets through the stack's function host, as the event sources do, so
 * logs, fault injection and errors behave the same. One run at a time per rule: a tick that finds the
 * previous run still going is skipped and counted. Cron rules run only on demand (see
 * `schedule-expression.ts` for why).
 */
import type { InvokeResult } from './function-host.js';
import type { ScheduleRulePlan, ScheduleTargetPlan } from './plan.js';
import { buildScheduledEvent } from './scheduled-events.js';

/** Raised when the rate scale is not a positive number. */
export class ScheduleConfigError extends Error {
  override name = 'ScheduleConfigError';
}

/** Raised by {@link RuleScheduler.run} for a logical id that is not a planned schedule. */
export class UnknownScheduleError extends Error {
  override name = 'UnknownScheduleError';
}

/** Throws when `scale` cannot scale a period. */
export function checkScheduleRateScale(scale: number): void {
  if (!(Number.isFinite(scale) && scale > 0)) {
    throw new ScheduleConfigError(`the schedule rate scale must be a positive number, got ${scale}`);
  }
}

/** How one target of one run ended. */
export interface ScheduleTargetResult {
  targetId: string;
  functionLogicalId: string;
  /** What the function received: the scheduled event, or the target's constant input. */
  event: unknown;
  result: InvokeResult;
}

/** Counters of one rule. */
export interface ScheduleStats {
  /** Runs started, by the timer or on demand. */
  runs: number;
  /** Target invocations. */
  invocations: number;
  /** Target invocations that ended in an error (logged). */
  failures: number;
  /** Timer ticks skipped because the previous run was still going. */
  skipped: number;
}

/** Options of a {@link RuleScheduler}. */
export interface RuleSchedulerOptions {
  rules: readonly ScheduleRulePlan[];
  /** Invokes a function of the stack (its function host); never rejects for a handler error. */
  invoke: (functionLogicalId: string, event: unknown) => Promise<InvokeResult>;
  /**
   * A target's constant input, or undefined when it gets the scheduled event; called once per target at
   * construction. @default every target gets the scheduled event
   */
  constantInput?: (rule: ScheduleRulePlan, target: ScheduleTargetPlan) => unknown;
  /** Multiplies every rate's period (0.01: `rate(1 minute)` every 600 ms). @default 1 */
  rateScale?: number;
  log: (message: string) => void;
}

interface RuleState {
  rule: ScheduleRulePlan;
  inputs: unknown[];
  timer?: NodeJS.Timeout;
  running?: Promise<ScheduleTargetResult[]>;
  stats: ScheduleStats;
}

/** The local period of a rule, in ms; undefined for a cron rule (not run on a timer). */
export function localPeriodMs(rule: ScheduleRulePlan, rateScale = 1): number | undefined {
  return rule.schedule.kind === 'rate' ? Math.max(1, Math.round(rule.schedule.periodMs * rateScale)) : undefined;
}

/** One line about a rule for the start banner and log, e.g. `TickRule rate(1 minute) every 600 ms -> Fn`. */
export function describeSchedule(rule: ScheduleRulePlan, rateScale = 1): string {
  const targets = rule.targets.map((t) => t.functionLogicalId).join(', ');
  const periodMs = localPeriodMs(rule, rateScale);
  const when =
    periodMs === undefined
      ? `${rule.expression} (not on a timer offline; runSchedule triggers it)`
      : `${rule.expression}${rateScale === 1 ? '' : ` every ${formatDuration(periodMs)}`}`;
  return `${rule.logicalId} ${when} -> ${targets}`;
}

function formatDuration(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}

/** What target `index` receives: its constant input (which may be JSON null), else the scheduled event. */
function eventFor(state: RuleState, index: number, scheduled: unknown): unknown {
  const input = state.inputs[index];
  return input === undefined ? scheduled : input;
}

/** The timers of every scheduled rule of a stack. */
export class RuleScheduler {
  private readonly rules = new Map<string, RuleState>();
  private readonly rateScale: number;
  private stopped = false;

  constructor(private readonly options: RuleSchedulerOptions) {
    this.rateScale = options.rateScale ?? 1;
    checkScheduleRateScale(this.rateScale);
    for (const rule of options.rules) {
      const inputs = rule.targets.map((target) => options.constantInput?.(rule, target));
      this.rules.set(rule.logicalId, { rule, inputs, stats: { runs: 0, invocations: 0, failures: 0, skipped: 0 } });
    }
  }

  /** Starts a timer per rate rule; the first tick comes one period after the start, as in EventBridge. */
  start(): void {
    for (const state of this.rules.values()) {
      const periodMs = localPeriodMs(state.rule, this.rateScale);
      if (periodMs === undefined || state.timer) continue;
      state.timer = setInterval(() => this.tick(state), periodMs);
    }
  }

  private tick(state: RuleState): void {
    if (this.stopped) return;
    if (state.running) {
      state.stats.skipped += 1;
      this.options.log(`schedule ${state.rule.logicalId}: tick skipped, the previous run is still going`);
      return;
    }
    void this.startRun(state);
  }

  /**
   * Runs a rule now, after the run in progress if there is one (so still one at a time), and resolves
   * with each target's result. After {@link stop}, every target answers `Runtime.Stopped`.
   * @throws UnknownScheduleError when no planned schedule has this logical id.
   */
  async run(ruleLogicalId: string): Promise<ScheduleTargetResult[]> {
    const state = this.rules.get(ruleLogicalId);
    if (!state) {
      const known = [...this.rules.keys()].join(', ') || 'none';
      throw new UnknownScheduleError(`${ruleLogicalId} is not a scheduled rule of the stack (scheduled: ${known})`);
    }
    while (state.running) await state.running;
    if (this.stopped) return this.stoppedResults(state);
    return this.startRun(state);
  }

  private startRun(state: RuleState): Promise<ScheduleTargetResult[]> {
    const running = this.invokeTargets(state).finally(() => {
      state.running = undefined;
    });
    state.running = running;
    return running;
  }

  private async invokeTargets(state: RuleState): Promise<ScheduleTargetResult[]> {
    const { rule, stats } = state;
    stats.runs += 1;
    // One event per run, the same for every target, as EventBridge sends one event to all of them.
    const scheduled = buildScheduledEvent(rule.ruleArn, new Date());
    return Promise.all(
      rule.targets.map(async (target, index) => {
        const event = eventFor(state, index, scheduled);
        stats.invocations += 1;
        const result = await this.options
          .invoke(target.functionLogicalId, event)
          .catch((error: unknown): InvokeResult => {
            return { ok: false, requestId: '', errorType: 'Runtime.InvokeError', errorMessage: String(error) };
          });
        if (!result.ok) {
          stats.failures += 1;
          this.options.log(
            `schedule ${rule.logicalId}: ${target.functionLogicalId} failed (${result.requestId}): ${result.errorType}: ${result.errorMessage}`,
          );
        }
        return { targetId: target.id, functionLogicalId: target.functionLogicalId, event, result };
      }),
    );
  }

  private stoppedResults(state: RuleState): ScheduleTargetResult[] {
    return state.rule.targets.map((target, index) => ({
      targetId: target.id,
      functionLogicalId: target.functionLogicalId,
      event: eventFor(state, index, buildScheduledEvent(state.rule.ruleArn, new Date())),
      result: { ok: false, requestId: '', errorType: 'Runtime.Stopped', errorMessage: 'the local stack is stopping' },
    }));
  }

  /** Each rule's counters, by logical id. */
  stats(): Record<string, ScheduleStats> {
    return Object.fromEntries([...this.rules].map(([id, state]) => [id, { ...state.stats }]));
  }

  /** Clears the timers and waits for the runs in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const state of this.rules.values()) clearInterval(state.timer);
    await Promise.all([...this.rules.values()].map((state) => state.running));
  }
}
