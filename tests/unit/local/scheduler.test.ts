import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InvokeResult } from '../../../local/runtime/function-host.js';
import type { ScheduleRulePlan } from '../../../local/runtime/plan.js';
import {
  describeSchedule,
  RuleScheduler,
  type RuleSchedulerOptions,
  ScheduleConfigError,
  UnknownScheduleError,
} from '../../../local/runtime/scheduler.js';

const RULE_ARN = 'arn:aws:events:us-east-1:000000000000:rule/TickRule';

/** A rate(1 minute) rule invoking TickFunction with the scheduled event. */
const tickRule = (overrides: Partial<ScheduleRulePlan> = {}): ScheduleRulePlan => ({
  logicalId: 'TickRule',
  expression: 'rate(1 minute)',
  schedule: { kind: 'rate', value: 1, unit: 'minute', periodMs: 60_000 },
  ruleArn: RULE_ARN,
  targets: [{ id: 'Target0', functionLogicalId: 'TickFunction', input: { kind: 'scheduled-event' } }],
  ...overrides,
});

const ok: InvokeResult = { ok: true, requestId: 'r', value: 'done' };

/** A scheduler of `rules` at scale 0.01 (rate(1 minute) = 600 ms) recording its invocations and log. */
function scheduler(options: Partial<RuleSchedulerOptions> & { rules?: ScheduleRulePlan[] } = {}) {
  const calls: { functionLogicalId: string; event: unknown }[] = [];
  const log: string[] = [];
  const instance = new RuleScheduler({
    rules: [tickRule()],
    rateScale: 0.01,
    invoke: async (functionLogicalId, event) => {
      calls.push({ functionLogicalId, event });
      return ok;
    },
    log: (message) => log.push(message),
    ...options,
  });
  return { scheduler: instance, calls, log };
}

/** An invoke whose results the test hands out one by one. */
function heldInvoke() {
  const waiting: ((result: InvokeResult) => void)[] = [];
  return {
    invoke: () => new Promise<InvokeResult>((resolve) => waiting.push(resolve)),
    pending: () => waiting.length,
    release: (result: InvokeResult = ok) => waiting.shift()?.(result),
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-03-01T12:00:00.250Z') });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('RuleScheduler', () => {
  it('invokes the target once per scaled period, the first time one period after the start', async () => {
    const { scheduler: s, calls } = scheduler();
    s.start();

    await vi.advanceTimersByTimeAsync(599);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_200);
    expect(calls).toHaveLength(3);
    await s.stop();
  });

  it('sends the EventBridge scheduled event, with a new id each run', async () => {
    const { scheduler: s, calls } = scheduler();
    s.start();
    await vi.advanceTimersByTimeAsync(1_200);
    await s.stop();

    expect(calls[0]).toEqual({
      functionLogicalId: 'TickFunction',
      event: {
        version: '0',
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '000000000000',
        time: '2026-03-01T12:00:00Z',
        region: 'us-east-1',
        resources: [RULE_ARN],
        detail: {},
      },
    });
    const ids = calls.map((c) => (c.event as { id: string }).id);
    expect(new Set(ids).size).toBe(2);
  });

  it('skips a tick while the previous run is still going, and counts it', async () => {
    const held = heldInvoke();
    const { scheduler: s, log } = scheduler({ invoke: held.invoke });
    s.start();

    await vi.advanceTimersByTimeAsync(600 * 3);
    expect(held.pending()).toBe(1);
    expect(s.stats().TickRule).toEqual({ runs: 1, invocations: 1, failures: 0, skipped: 2 });
    expect(log).toContain('schedule TickRule: tick skipped, the previous run is still going');

    held.release();
    await vi.advanceTimersByTimeAsync(600);
    expect(s.stats().TickRule?.runs).toBe(2);
    held.release();
    await s.stop();
  });

  it('logs a failed invocation, counts it and keeps ticking', async () => {
    const failed: InvokeResult = { ok: false, requestId: 'req-1', errorType: 'Error', errorMessage: 'boom' };
    const { scheduler: s, log } = scheduler({ invoke: async () => failed });
    s.start();

    await vi.advanceTimersByTimeAsync(1_200);
    await s.stop();

    expect(s.stats().TickRule).toEqual({ runs: 2, invocations: 2, failures: 2, skipped: 0 });
    expect(log).toContain('schedule TickRule: TickFunction failed (req-1): Error: boom');
  });

  it('reports an invoke that rejects as a failed result instead of an unhandled rejection', async () => {
    const { scheduler: s } = scheduler({ invoke: () => Promise.reject(new Error('worker gone')) });

    const [outcome] = await s.run('TickRule');

    expect(outcome?.result).toMatchObject({ ok: false, errorType: 'Runtime.InvokeError' });
    expect(s.stats().TickRule?.failures).toBe(1);
  });

  it("sends a target's constant input, and all other targets of a run the same scheduled event", async () => {
    const rule = tickRule({
      targets: [
        { id: 'A', functionLogicalId: 'FnA', input: { kind: 'scheduled-event' } },
        { id: 'B', functionLogicalId: 'FnB', input: { kind: 'constant', expression: 'ignored here' } },
        { id: 'C', functionLogicalId: 'FnC', input: { kind: 'scheduled-event' } },
        { id: 'D', functionLogicalId: 'FnD', input: { kind: 'constant', expression: 'null' } },
      ],
    });
    const constants: Record<string, unknown> = { B: { job: 'close' }, D: null };
    const { scheduler: s } = scheduler({ rules: [rule], constantInput: (_rule, target) => constants[target.id] });

    const results = await s.run('TickRule');

    expect(results.map((r) => [r.targetId, r.functionLogicalId, r.result.ok])).toEqual([
      ['A', 'FnA', true],
      ['B', 'FnB', true],
      ['C', 'FnC', true],
      ['D', 'FnD', true],
    ]);
    expect(results[1]?.event).toEqual({ job: 'close' });
    expect(results[3]?.event).toBeNull();
    expect(results[2]?.event).toBe(results[0]?.event);
    expect(results[0]?.event).toMatchObject({ 'detail-type': 'Scheduled Event' });
  });

  it('runs a rule on demand after the run in progress, one at a time, returning its results', async () => {
    const held = heldInvoke();
    const { scheduler: s } = scheduler({ invoke: held.invoke });
    s.start();
    await vi.advanceTimersByTimeAsync(600);

    const onDemand = s.run('TickRule');
    await vi.advanceTimersByTimeAsync(0);
    expect(held.pending()).toBe(1);
    held.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(held.pending()).toBe(1);
    held.release({ ok: true, requestId: 'second', value: 42 });

    const [outcome] = await onDemand;
    expect(outcome?.result).toEqual({ ok: true, requestId: 'second', value: 42 });
    expect(s.stats().TickRule?.runs).toBe(2);
    await s.stop();
  });

  it('on stop, clears the timers and waits for the run in progress', async () => {
    const held = heldInvoke();
    const { scheduler: s } = scheduler({ invoke: held.invoke });
    s.start();
    await vi.advanceTimersByTimeAsync(600);

    let stopped = false;
    const stopping = s.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    held.release();
    await stopping;
    await vi.advanceTimersByTimeAsync(6_000);

    expect(stopped).toBe(true);
    expect(s.stats().TickRule).toEqual({ runs: 1, invocations: 1, failures: 0, skipped: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('answers Runtime.Stopped for a rule run after stop, without invoking anything', async () => {
    const { scheduler: s, calls } = scheduler();
    await s.stop();

    const [outcome] = await s.run('TickRule');

    expect(outcome?.result).toMatchObject({ ok: false, errorType: 'Runtime.Stopped' });
    expect(calls).toHaveLength(0);
  });

  it('puts no timer on a cron rule but runs it on demand', async () => {
    const nightly = tickRule({
      logicalId: 'Nightly',
      expression: 'cron(0 3 * * ? *)',
      schedule: { kind: 'cron', fields: ['0', '3', '*', '*', '?', '*'] },
    });
    const { scheduler: s, calls } = scheduler({ rules: [nightly] });
    s.start();

    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(calls).toHaveLength(0);
    await s.run('Nightly');
    expect(calls).toHaveLength(1);
    await s.stop();
  });

  it('refuses to run a rule it does not have, naming those it has', async () => {
    const { scheduler: s } = scheduler();

    await expect(s.run('NoSuchRule')).rejects.toThrow(
      new UnknownScheduleError('NoSuchRule is not a scheduled rule of the stack (scheduled: TickRule)'),
    );
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses a rate scale of %s', (rateScale) => {
    expect(() => scheduler({ rateScale })).toThrow(ScheduleConfigError);
  });
});

describe('describeSchedule', () => {
  it('names the rule, its expression, its local period when scaled, and its targets', () => {
    expect(describeSchedule(tickRule(), 0.01)).toBe('TickRule rate(1 minute) every 600 ms -> TickFunction');
    expect(describeSchedule(tickRule())).toBe('TickRule rate(1 minute) -> TickFunction');
    expect(describeSchedule(tickRule(), 0.5)).toBe('TickRule rate(1 minute) every 30 s -> TickFunction');
  });

  it('says a cron rule is not on a timer offline', () => {
    const nightly = tickRule({ expression: 'cron(0 3 * * ? *)', schedule: { kind: 'cron', fields: [] } });

    expect(describeSchedule(nightly, 0.01)).toBe(
      'TickRule cron(0 3 * * ? *) (not on a timer offline; runSchedule triggers it) -> TickFunction',
    );
  });
});
