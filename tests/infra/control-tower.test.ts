import { App, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acknowledgeControl,
  ControlTowerChecks,
  type ControlTowerReport,
  checkControlTower,
  controlTowerRules,
  formatFindings,
} from '../../infra/control-tower.js';
import type { StreamfoldStackProps } from '../../infra/stack-props.js';
import { buildApp, CONTROL_TOWER_CONTEXT_KEY } from '../../infra/streamfold-app.js';
import { sensorsDescription } from '../fixtures/pipelines/sensors/description.js';
import { NO_BUNDLING, synthTemplateFile } from '../helpers/synth.js';

const CLUSTER_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/shared-kafka/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab-3';

// Every stack-setting combination the infra tests synthesize, each checked as it would be deployed.
const SETTINGS: [name: string, props: StreamfoldStackProps | undefined][] = [
  ['the defaults (MSK Serverless)', undefined],
  ['an existing MSK cluster', { kafka: { mode: 'existing', clusterArn: CLUSTER_ARN } }],
  ['no Kafka', { kafka: { mode: 'none' } }],
  ['unencrypted log groups and alarm subscribers', { logEncryption: false, alarmSubscribers: ['ops@example.com'] }],
  ['the WAF switched off', { waf: { enabled: false }, kafka: { mode: 'none' } }],
  // With an account, invoke permissions pass CT.LAMBDA.PR.2 unsuppressed (a stale suppression would fail).
  ['a concrete account', { env: { account: '123456789012', region: 'eu-west-1' }, kafka: { mode: 'none' } }],
  // A pipeline's resources come from the same constructs; its tick rule's permission passes unsuppressed.
  ['a pipeline (MSK Serverless)', { pipelines: [sensorsDescription] }],
  [
    'a pipeline on an existing MSK cluster, in a concrete account',
    {
      env: { account: '123456789012', region: 'eu-west-1' },
      kafka: { mode: 'existing', clusterArn: CLUSTER_ARN },
      pipelines: [sensorsDescription],
    },
  ],
];

describe.each(SETTINGS)('Control Tower proactive controls, with %s', (_name, props) => {
  let report: ControlTowerReport;
  beforeAll(() => {
    report = checkControlTower(synthTemplateFile(props));
  });

  it('fails no control that is not suppressed', () => {
    expect(formatFindings(report.failures)).toEqual([]);
  });

  it('suppresses only what fails, each with a written reason', () => {
    expect(report.stale).toEqual([]);
    for (const finding of report.suppressed) {
      expect(finding.reason.trim().length, `${finding.control} ${finding.resource}`).toBeGreaterThanOrEqual(20);
    }
  });
});

/** A one-log-group stack (retained for a year, not KMS-encrypted), synthesized to a file. */
function logGroupStackTemplate(acknowledge: boolean): string {
  const app = new App();
  const stack = new Stack(app, 'Probe');
  const group = new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.ONE_YEAR });
  if (acknowledge)
    acknowledgeControl(group, 'CT.CLOUDWATCH.PR.3', 'A probe log group, acknowledged to test suppression.');
  return app.synth().getStackByName('Probe').templateFullPath;
}

describe('the Control Tower check', () => {
  it('reads every shipped rule with its control id and rule name', () => {
    const rules = controlTowerRules();

    expect(rules.length).toBeGreaterThan(200);
    expect(rules.find((rule) => rule.control === 'CT.LAMBDA.PR.3')?.rule).toBe('lambda_inside_vpc_check');
  });

  it('reports an unsuppressed failure with its control, resource and message', () => {
    const report = checkControlTower(logGroupStackTemplate(false));

    expect(formatFindings(report.failures)).toEqual([
      expect.stringMatching(/^CT\.CLOUDWATCH\.PR\.3 Logs[0-9A-F]{8}: .*KmsKeyId/),
    ]);
  });

  it('drops a failure suppressed in the template, keeping its reason', () => {
    const report: ControlTowerReport = checkControlTower(logGroupStackTemplate(true));

    expect(report.failures).toEqual([]);
    expect(report.suppressed).toEqual([
      expect.objectContaining({ control: 'CT.CLOUDWATCH.PR.3', reason: expect.stringContaining('probe') }),
    ]);
  });

  it('refuses a suppression without a reason, or of an unknown control', () => {
    const stack = new Stack(new App(), 'Probe');

    expect(() => acknowledgeControl(stack, 'CT.CLOUDWATCH.PR.3', 'because')).toThrow(/needs a reason/);
    expect(() => acknowledgeControl(stack, 'CT.NOPE.PR.1', 'a reason long enough to pass')).toThrow(/not a shipped/);
  });

  it('as a synth plugin, fails the synth on an unsuppressed failure', () => {
    const app = new App();
    Validations.of(app).addPlugins(new ControlTowerChecks());
    new logs.LogGroup(new Stack(app, 'Probe'), 'Logs');

    expect(() => app.synth()).toThrow(/KmsKeyId/);
  });

  it('runs in the app when the streamfold:controlTower context is true, and the app still synthesizes', () => {
    const { app } = buildApp({ context: { ...NO_BUNDLING, [CONTROL_TOWER_CONTEXT_KEY]: true } });

    expect(() => app.synth()).not.toThrow();
  });
});
