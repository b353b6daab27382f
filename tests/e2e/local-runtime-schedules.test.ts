// Scheduled rules on the real local stack: a rate rule ticks on its own at the scaled period and its
// function receives EventBridge's scheduled event; runSchedule triggers a rule now; a failing target is
// logged and counted while the stack goes on. A small template (tests/unit/local/fixtures) whose handler
// records each event in a table, so it does not depend on the product functions.
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestStack, type TestStack } from '../helpers/local-stack.js';
import { scheduledRule, scheduleTemplate } from '../unit/local/fixtures/schedule-template.js';

// rate(1 minute) × 0.01 = a tick every 600 ms.
const SCALE = 0.01;
const PERIOD_MS = 600;

let stack: TestStack;
const log: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    template: scheduleTemplate(
      scheduledRule('TickRule', 'rate(1 minute)'),
      // Cron rules have no timer offline, so these two run only when a test asks.
      scheduledRule('NightlyRule', 'cron(0 3 * * ? *)', { input: '{"job":"nightly"}', targetId: 'Nightly' }),
      scheduledRule('FailingRule', 'cron(0 4 * * ? *)', { input: '{"fail":true}' }),
    ),
    scheduleRateScale: SCALE,
    log: (message) => log.push(message),
  });
});

afterAll(async () => {
  await stack?.stop();
});

interface Recorded {
  receivedAt: number;
  event: Record<string, unknown>;
}

/** What the function recorded, oldest first. */
async function recorded(): Promise<Recorded[]> {
  const { Items = [] } = await stack.dynamo.send(new ScanCommand({ TableName: stack.resources.TicksTable }));
  return Items.map((item) => ({ receivedAt: Number(item.receivedAt), event: JSON.parse(String(item.event)) }))
    .filter((r) => r.event.source === 'aws.events')
    .sort((a, b) => a.receivedAt - b.receivedAt);
}

describe('scheduled rules', () => {
  it('invokes the target of a rate rule again and again at the scaled period, with the scheduled event', async () => {
    const ticks = await eventually(async () => {
      const found = await recorded();
      expect(found.length).toBeGreaterThanOrEqual(4);
      return found;
    }, 10_000);

    // Three periods between the first and the fourth: not the unscaled minute (we would not have four),
    // nor much faster than 600 ms each (half of it leaves room for a loaded machine's jitter).
    expect(ticks[3]!.receivedAt - ticks[0]!.receivedAt).toBeGreaterThanOrEqual((3 * PERIOD_MS) / 2);
    expect(ticks[0]!.event).toEqual({
      version: '0',
      id: expect.any(String),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/TickRule'],
      detail: {},
    });
    expect(new Set(ticks.map((t) => t.event.id)).size).toBe(ticks.length);
    expect(stack.metrics().schedules.TickRule).toMatchObject({ failures: 0 });
    expect(log).toContain('schedule TickRule rate(1 minute) every 600 ms -> TickFunction');
  });

  it("runs a rule now on demand, with its target's constant Input, and returns the function's result", async () => {
    const [outcome] = await stack.runSchedule('NightlyRule');

    expect(outcome).toMatchObject({
      targetId: 'Nightly',
      functionLogicalId: 'TickFunction',
      event: { job: 'nightly' },
      result: { ok: true, value: { recorded: expect.any(String) } },
    });
  });

  it('logs and counts a failing target without stopping the other schedules', async () => {
    const [outcome] = await stack.runSchedule('FailingRule');
    const runsBefore = stack.metrics().schedules.TickRule?.runs ?? 0;

    expect(outcome?.result).toMatchObject({ ok: false, errorType: 'Error', errorMessage: 'asked to fail' });
    expect(stack.metrics().schedules.FailingRule).toMatchObject({ runs: 1, failures: 1 });
    expect(log.some((line) => line.startsWith('schedule FailingRule: TickFunction failed'))).toBe(true);
    await eventually(() => expect(stack.metrics().schedules.TickRule?.runs).toBeGreaterThan(runsBefore), 5_000);
  });
});
