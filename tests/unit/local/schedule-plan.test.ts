import { describe, expect, it } from 'vitest';
import {
  planLocalStack,
  resolveEnvironment,
  resolveTargetInput,
  type ScheduleRulePlan,
  UnsupportedTemplateError,
} from '../../../local/runtime/plan.js';
import { scheduledRule, scheduleTemplate } from './fixtures/schedule-template.js';

const addresses = {
  sqsEndpoint: 'http://127.0.0.1:9324',
  webSocketManagementUrl: 'http://127.0.0.1:3001',
  webSocketUrl: 'ws://127.0.0.1:3001',
};

/** The planned schedule of `logicalId`, failing the test when there is none. */
function scheduleOf(plan: { schedules: ScheduleRulePlan[] }, logicalId: string): ScheduleRulePlan {
  const rule = plan.schedules.find((r) => r.logicalId === logicalId);
  if (!rule) throw new Error(`no schedule ${logicalId} in ${JSON.stringify(plan.schedules)}`);
  return rule;
}

describe('planning scheduled rules', () => {
  it('plans a rate rule with its function target resolved from Fn::GetAtt and its invoke permission', () => {
    const plan = planLocalStack(scheduleTemplate(scheduledRule('TickRule', 'rate(1 minute)')));

    expect(plan.schedules).toEqual([
      {
        logicalId: 'TickRule',
        expression: 'rate(1 minute)',
        schedule: { kind: 'rate', value: 1, unit: 'minute', periodMs: 60_000 },
        ruleArn: 'arn:aws:events:us-east-1:000000000000:rule/TickRule',
        targets: [
          {
            id: 'Target0',
            functionLogicalId: 'TickFunction',
            input: { kind: 'scheduled-event' },
            permissionLogicalId: 'TickRuleAllowEventRule',
          },
        ],
      },
    ]);
    expect(plan.warnings).toEqual([]);
  });

  it('gives a target with Input that constant, parsed, and one without it the scheduled event (undefined)', () => {
    const template = scheduleTemplate(
      scheduledRule('WithInput', 'rate(5 minutes)', { input: '{"job":"close-windows","limit":null}' }),
      scheduledRule('WithoutInput', 'rate(5 minutes)'),
    );
    const plan = planLocalStack(template);
    const withInput = scheduleOf(plan, 'WithInput');
    const withoutInput = scheduleOf(plan, 'WithoutInput');

    expect(withInput.targets[0]?.input).toEqual({
      kind: 'constant',
      expression: '{"job":"close-windows","limit":null}',
    });
    expect(resolveTargetInput(template, withInput, withInput.targets[0]!, addresses)).toEqual({
      job: 'close-windows',
      limit: null,
    });
    expect(resolveTargetInput(template, withoutInput, withoutInput.targets[0]!, addresses)).toBeUndefined();
  });

  it('resolves the intrinsics of an Input CDK builds with Fn::Join (a table name in it)', () => {
    const input = { 'Fn::Join': ['', ['{"table":"', { Ref: 'TicksTable' }, '"}']] };
    const template = scheduleTemplate(scheduledRule('TickRule', 'rate(1 hour)', { input }));
    const rule = scheduleOf(planLocalStack(template), 'TickRule');

    expect(resolveTargetInput(template, rule, rule.targets[0]!, addresses)).toEqual({ table: 'TicksTable' });
  });

  it('refuses a target whose Input is not JSON, naming the rule and target', () => {
    const template = scheduleTemplate(scheduledRule('TickRule', 'rate(1 hour)', { input: '{job:', targetId: 'T1' }));

    expect(() => planLocalStack(template)).toThrow(UnsupportedTemplateError);
    expect(() => planLocalStack(template)).toThrow('TickRule.Targets.T1.Input is not valid JSON: {job:');
  });

  it('refuses an invalid rate, naming the rule and what is wrong', () => {
    const template = scheduleTemplate(scheduledRule('TickRule', 'rate(1 minutes)'));

    expect(() => planLocalStack(template)).toThrow(UnsupportedTemplateError);
    expect(() => planLocalStack(template)).toThrow(
      'TickRule.ScheduleExpression rate(1 minutes): a value of 1 takes the singular unit (minute)',
    );
  });

  it('leaves a DISABLED rule out, with a note', () => {
    const plan = planLocalStack(
      scheduleTemplate(scheduledRule('Off', 'rate(1 minute)', { properties: { State: 'DISABLED' } })),
    );

    expect(plan.schedules).toEqual([]);
    expect(plan.warnings).toEqual(['Off: State DISABLED, so it is not scheduled locally either']);
  });

  it('plans a rule without State (ENABLED by default)', () => {
    const template = scheduleTemplate(scheduledRule('TickRule', 'rate(1 minute)'));
    delete template.Resources.TickRule?.Properties?.State;

    expect(planLocalStack(template).schedules.map((r) => r.logicalId)).toEqual(['TickRule']);
  });

  it('warns about an event-pattern rule and does not run it', () => {
    const template = scheduleTemplate({
      OnUpload: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventPattern: { source: ['aws.s3'] },
          Targets: [{ Arn: { 'Fn::GetAtt': ['TickFunction', 'Arn'] }, Id: 'Target0' }],
        },
      },
    });
    const plan = planLocalStack(template);

    expect(plan.schedules).toEqual([]);
    expect(plan.warnings).toEqual([
      'OnUpload: event-pattern rules are not run locally (nothing puts EventBridge events offline)',
    ]);
  });

  it('plans a cron rule with a note that it runs only on demand', () => {
    const plan = planLocalStack(scheduleTemplate(scheduledRule('Nightly', 'cron(0 3 * * ? *)')));

    expect(scheduleOf(plan, 'Nightly').schedule).toEqual({ kind: 'cron', fields: ['0', '3', '*', '*', '?', '*'] });
    expect(plan.warnings).toEqual([
      "Nightly: cron(0 3 * * ? *) is not run on a timer locally (cron); runSchedule('Nightly') triggers it",
    ]);
  });

  it('warns about a target that is not a function of the template and runs the others', () => {
    const template = scheduleTemplate(scheduledRule('TickRule', 'rate(1 minute)'), {
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
    });
    const targets = template.Resources.TickRule!.Properties!.Targets as unknown[];
    targets.push(
      { Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] }, Id: 'ToQueue' },
      { Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:elsewhere', Id: 'Elsewhere' },
    );
    const plan = planLocalStack(template);

    expect(scheduleOf(plan, 'TickRule').targets.map((t) => t.id)).toEqual(['Target0']);
    expect(plan.warnings).toEqual([
      'TickRule target ToQueue: AWS::SQS::Queue Queue is not a function of the template; not run',
      'TickRule target Elsewhere: arn:aws:lambda:eu-west-1:123456789012:function:elsewhere is not a function of the template; not run',
    ]);
  });

  it('leaves out a rule none of whose targets runs locally', () => {
    const template = scheduleTemplate(scheduledRule('TickRule', 'rate(1 minute)'));
    const [target] = template.Resources.TickRule!.Properties!.Targets as Record<string, unknown>[];
    if (target) target.InputTransformer = { InputTemplate: '"<time>"', InputPathsMap: { time: '$.time' } };
    const plan = planLocalStack(template);

    expect(plan.schedules).toEqual([]);
    expect(plan.warnings).toEqual([
      'TickRule target Target0: InputPath and InputTransformer are not applied locally; not run',
      'TickRule: none of its targets is a function of the template, so it does not run locally',
    ]);
  });

  it('warns when no permission lets EventBridge invoke the target, as AWS would then fail every tick', () => {
    const plan = planLocalStack(scheduleTemplate(scheduledRule('TickRule', 'rate(1 minute)', { permission: false })));

    expect(scheduleOf(plan, 'TickRule').targets[0]?.permissionLogicalId).toBeUndefined();
    expect(plan.warnings).toEqual([
      'TickRule target Target0: no AWS::Lambda::Permission lets events.amazonaws.com invoke TickFunction for this ' +
        'rule; in AWS every invocation would fail (locally it runs, there is no IAM)',
    ]);
  });

  it("does not take another rule's permission for this one", () => {
    const template = scheduleTemplate(
      scheduledRule('First', 'rate(1 minute)'),
      scheduledRule('Second', 'rate(1 minute)', { permission: false }),
    );
    const plan = planLocalStack(template);

    expect(scheduleOf(plan, 'First').targets[0]?.permissionLogicalId).toBe('FirstAllowEventRule');
    expect(scheduleOf(plan, 'Second').targets[0]?.permissionLogicalId).toBeUndefined();
  });

  it('resolves a rule ARN in a function environment to the ARN its scheduled events carry', () => {
    const template = scheduleTemplate(scheduledRule('TickRule', 'rate(1 minute)'));
    const variables = (
      template.Resources.TickFunction!.Properties!.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    variables.RULE_ARN = { 'Fn::GetAtt': ['TickRule', 'Arn'] };
    const plan = planLocalStack(template);
    const [fn] = plan.functions;

    expect(resolveEnvironment(template, fn!, addresses).RULE_ARN).toBe(scheduleOf(plan, 'TickRule').ruleArn);
    expect(scheduleOf(plan, 'TickRule').ruleArn).toBe('arn:aws:events:us-east-1:000000000000:rule/TickRule');
  });
});
