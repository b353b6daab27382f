import { App, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import {
  acknowledgeControl,
  type ControlTowerReport,
  checkControlTower,
  controlTowerRules,
  formatFindings,
} from '../../infra/control-tower.js';

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
});
