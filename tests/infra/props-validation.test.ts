import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { InvalidStreamfoldPropsError, type KafkaProps, validateStreamfoldProps } from '../../infra/stack-props.js';
import { buildStack } from '../helpers/synth.js';

const CLUSTER_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/shared-kafka/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab-3';

describe('stack props validation', () => {
  it('accepts the defaults', () => {
    expect(validateStreamfoldProps({})).toEqual([]);
  });

  it('rejects bad props at synth time with one message listing every conflict', () => {
    const build = () =>
      buildStack({
        windowSizeSeconds: 0,
        allowedLatenessSeconds: -1,
        inputShardCount: 0,
        outputShardCount: 1.5,
        speedZThreshold: -3,
        restThrottle: { rateLimit: 0, burstLimit: 0 },
      });

    expect(build).toThrow(InvalidStreamfoldPropsError);
    expect(build).toThrow(
      [
        'Invalid Streamfold stack props:',
        '  - allowedLatenessSeconds must be a whole number from 0 to 86400, got -1',
        '  - windowSizeSeconds must be a whole number from 1 to 86400, got 0',
        '  - speedZThreshold must be a number above 0, at most 100, got -3',
        '  - inputShardCount must be a whole number >= 1, got 0',
        '  - outputShardCount must be a whole number >= 1, got 1.5',
        '  - restThrottle.rateLimit must be > 0, got 0',
        '  - restThrottle.burstLimit must be a whole number >= 1, got 0',
      ].join('\n'),
    );
  });

  it('rejects a window that is not a whole number of seconds, and settings beyond their bounds', () => {
    expect(validateStreamfoldProps({ windowSizeSeconds: 2.5, stallMinutes: 1441, maxClockSkewSeconds: -1 })).toEqual([
      'maxClockSkewSeconds must be a number from 0 to 43200, got -1',
      'windowSizeSeconds must be a whole number from 1 to 86400, got 2.5',
      'stallMinutes must be a number above 0, at most 1440, got 1441',
    ]);
  });

  it('rejects NaN instead of letting it reach the functions', () => {
    expect(validateStreamfoldProps({ offRouteMeters: Number.NaN })).toEqual([
      'offRouteMeters must be a number above 0, at most 10000, got NaN',
    ]);
  });

  it('accepts each Kafka mode with valid settings', () => {
    expect(validateStreamfoldProps({ kafka: { mode: 'serverless', pollers: { minimum: 2, maximum: 4 } } })).toEqual([]);
    expect(validateStreamfoldProps({ kafka: { mode: 'existing', clusterArn: CLUSTER_ARN } })).toEqual([]);
    expect(validateStreamfoldProps({ kafka: { mode: 'none' } })).toEqual([]);
  });

  it('requires a cluster ARN for an existing Kafka cluster', () => {
    expect(validateStreamfoldProps({ kafka: { mode: 'existing' } as KafkaProps })).toEqual([
      "kafka.clusterArn is required when kafka.mode is 'existing'",
    ]);
  });

  it.each([
    'arn:aws:kafka:eu-west-1:123456789012:topic/shared-kafka/0b1c2d3e/vehicle.position.v1',
    'arn:aws:kinesis:eu-west-1:123456789012:stream/input',
    'shared-kafka',
  ])('rejects %s as an MSK cluster ARN', (clusterArn) => {
    expect(validateStreamfoldProps({ kafka: { mode: 'existing', clusterArn } })).toEqual([
      `kafka.clusterArn must be an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>), got ${clusterArn}`,
    ]);
  });

  it('rejects Kafka settings that conflict, listing every problem at synth time', () => {
    const build = () =>
      buildStack({
        kafka: {
          mode: 'serverless',
          clusterArn: CLUSTER_ARN,
          pollers: { minimum: 3, maximum: 2 },
          consumerGroupId: 'has space',
        } as KafkaProps,
      });

    expect(build).toThrow(InvalidStreamfoldPropsError);
    expect(build).toThrow(
      [
        'Invalid Streamfold stack props:',
        "  - kafka.clusterArn is only used when kafka.mode is 'existing', not 'serverless'",
        '  - kafka.pollers.minimum (3) must not exceed kafka.pollers.maximum (2)',
        '  - kafka.consumerGroupId must be 1-200 characters of letters, digits and -/*:_+=.@, got has space',
      ].join('\n'),
    );
  });

  it('keeps pollers within what Lambda allows for MSK, against the defaults when one bound is omitted', () => {
    expect(validateStreamfoldProps({ kafka: { mode: 'serverless', pollers: { minimum: 0, maximum: 2001 } } })).toEqual([
      'kafka.pollers.minimum must be a whole number from 1 to 200, got 0',
      'kafka.pollers.maximum must be a whole number from 1 to 2000, got 2001',
    ]);
    expect(validateStreamfoldProps({ kafka: { mode: 'serverless', pollers: { minimum: 5 } } })).toEqual([
      'kafka.pollers.minimum (5) must not exceed kafka.pollers.maximum (2)',
    ]);
  });

  it('rejects an unknown Kafka mode and consumer settings without a Kafka path', () => {
    expect(validateStreamfoldProps({ kafka: { mode: 'provisioned' } as unknown as KafkaProps })).toEqual([
      'kafka.mode must be one of serverless, existing, none, got provisioned',
    ]);
    expect(validateStreamfoldProps({ kafka: { mode: 'none', pollers: { minimum: 1 } } as KafkaProps })).toEqual([
      "kafka.pollers has no effect when kafka.mode is 'none'",
    ]);
  });

  it("takes transit's processor core by name only", () => {
    expect(validateStreamfoldProps({ transitProcessor: 'engine' })).toEqual([]);
    expect(validateStreamfoldProps({ transitProcessor: 'shadow' as never })).toEqual([
      'transitProcessor must be one of batch, engine, got "shadow"',
    ]);
  });

  it('keeps the clock-skew tolerance within half the allowed lateness', () => {
    expect(validateStreamfoldProps({ allowedLatenessSeconds: 60, maxClockSkewSeconds: 31 })).toEqual([
      'maxClockSkewSeconds must be at most allowedLatenessSeconds / 2 = 30, got 31',
    ]);
    expect(validateStreamfoldProps({ allowedLatenessSeconds: 60, maxClockSkewSeconds: 30 })).toEqual([]);
  });

  it('checks restAuth and the Cognito pool together, listing every conflict', () => {
    const problems = validateStreamfoldProps({
      restAuth: {
        'GET /v1/vehicles': 'cognito',
        'POST /v1/events': 'none',
        'POST /v1/transit/events': 'none',
        'GET /v1/nope': 'iam',
        'GET /health': 'oauth',
      } as never,
    });

    expect(problems).toEqual([
      expect.stringMatching(
        /^restAuth: unknown route "GET \/v1\/nope"; routes are POST \/v1\/events, POST \/v1\/transit\/events, GET /,
      ),
      "restAuth['GET /health'] must be one of none, apiKey, iam, cognito, got oauth",
      'cognitoUserPoolArn is required when a route uses cognito (GET /v1/vehicles)',
      "restAuth['POST /v1/events'] must not be none: producers write to the stream",
      "restAuth['POST /v1/transit/events'] must not be none: producers write to the stream",
    ]);
    expect(validateStreamfoldProps({ cognitoUserPoolArn: 'pool-1' })).toEqual([
      'cognitoUserPoolArn must be a user pool ARN (arn:aws:cognito-idp:<region>:<account>:userpool/<id>), got pool-1',
      'cognitoUserPoolArn has no effect: no route in restAuth or pipelineRestAuth uses cognito',
    ]);
    expect(
      validateStreamfoldProps({
        restAuth: { 'GET /v1/anomalies': 'cognito' },
        cognitoUserPoolArn: 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123',
      }),
    ).toEqual([]);
  });

  it('rejects allowed WebSocket origins that are not origins, and an empty list', () => {
    expect(validateStreamfoldProps({ webSocketAllowedOrigins: ['https://maps.example.com', '*'] })).toEqual([]);
    expect(
      validateStreamfoldProps({ webSocketAllowedOrigins: ['maps.example.com', 'https://a.example/path'] }),
    ).toEqual([
      'webSocketAllowedOrigins: "maps.example.com" is not * or an origin like https://example.com',
      'webSocketAllowedOrigins: "https://a.example/path" is not * or an origin like https://example.com',
    ]);
    expect(validateStreamfoldProps({ webSocketAllowedOrigins: [] })).toEqual([
      'webSocketAllowedOrigins must not be empty (use ["*"] to allow any origin)',
    ]);
  });

  it('passes valid custom settings through to the stack', () => {
    const stack = buildStack({ inputShardCount: 4, windowSizeSeconds: 30, allowedLatenessSeconds: 0 });
    const template = JSON.stringify(Template.fromStack(stack).toJSON());

    expect(template).toContain('"ShardCount":4');
    expect(template).toContain('"WINDOW_SIZE_SECONDS":"30"');
    expect(template).toContain('"ALLOWED_LATENESS_SECONDS":"0"');
    expect(template).toContain('"MAX_CLOCK_SKEW_SECONDS":"0"');
  });
});
