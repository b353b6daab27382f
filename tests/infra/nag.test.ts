import { Validations } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildApp, NAG_CONTEXT_KEY } from '../../infra/streamfold-app.js';
import { sensorsDescription } from '../fixtures/pipelines/sensors/description.js';
import { buildStack, NO_BUNDLING, nagFindings } from '../helpers/synth.js';

const COGNITO_POOL_ARN = 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123';

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning', () => {
    const { errors, warnings } = nagFindings();

    expect(errors.map((finding) => `${finding.ruleName} at ${finding.constructPaths.join(', ')}`)).toEqual([]);
    expect(warnings.map((finding) => `${finding.ruleName} at ${finding.constructPaths.join(', ')}`)).toEqual([]);
  });

  it('reports nothing unacknowledged with every REST auth mode in use', () => {
    const { errors, warnings } = nagFindings({
      restAuth: { 'GET /v1/vehicles': 'cognito', 'GET /health': 'apiKey', 'GET /v1/stops/{stopId}/eta': 'iam' },
      cognitoUserPoolArn: COGNITO_POOL_ARN,
    });

    expect(
      [...errors, ...warnings].map((finding) => `${finding.ruleName} at ${finding.constructPaths.join(', ')}`),
    ).toEqual([]);
  });

  it('reports nothing unacknowledged with a pipeline, its routes in every REST auth mode', () => {
    const { errors, warnings } = nagFindings({
      pipelines: [sensorsDescription],
      pipelineRestAuth: { 'GET /v1/sensors/alerts': 'cognito', 'GET /v1/sensors/{sensorId}/metrics': 'apiKey' },
      cognitoUserPoolArn: COGNITO_POOL_ARN,
    });
    const plain = nagFindings({ pipelines: [sensorsDescription], kafka: { mode: 'none' } });

    expect(
      [...errors, ...warnings, ...plain.errors, ...plain.warnings].map(
        (finding) => `${finding.ruleName} at ${finding.constructPaths.join(', ')}`,
      ),
    ).toEqual([]);
  });

  it('gives every acknowledgment a written reason', () => {
    const acknowledgments = buildStack()
      .node.findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>)),
      );

    expect(acknowledgments.length).toBeGreaterThan(0);
    for (const [rule, reason] of acknowledgments) expect(reason.trim().length, rule).toBeGreaterThanOrEqual(20);
  });

  it('runs in the app when the streamfold:nag context is true, and the app still synthesizes', () => {
    const { app } = buildApp({ context: { ...NO_BUNDLING, [NAG_CONTEXT_KEY]: true } });

    expect(() => app.synth()).not.toThrow();
  });
});
