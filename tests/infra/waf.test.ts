import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { greaterThanPattern } from '../../infra/constructs/rest-api-waf.js';
import { validateStreamfoldProps } from '../../infra/stack-props.js';
import { INGEST_MAX_BODY_BYTES } from '../../infra/streamfold-stack.js';
import { MAX_BODY_BYTES } from '../../shared/ingest/accept-events.js';
import { buildStack, nagFindings, synthTemplate, synthTemplateJson, type TemplateJson } from '../helpers/synth.js';

const template = synthTemplate();

interface WafRule {
  Name: string;
  Priority: number;
  Action?: unknown;
  Statement: Record<string, unknown>;
}

function webAclRules(): WafRule[] {
  const acl = Object.values(synthTemplateJson().Resources).find((resource) => resource.Type === 'AWS::WAFv2::WebACL');
  return (acl?.Properties?.['Rules'] ?? []) as WafRule[];
}

const rule = (name: string) => webAclRules().find((candidate) => candidate.Name === name);

const INGEST_ROUTE = {
  AndStatement: {
    Statements: [
      {
        ByteMatchStatement: {
          FieldToMatch: { Method: {} },
          PositionalConstraint: 'EXACTLY',
          SearchString: 'POST',
          TextTransformations: [{ Priority: 0, Type: 'NONE' }],
        },
      },
      {
        OrStatement: {
          Statements: ['/v1/events', '/v1/transit/events'].map((path) => ({
            ByteMatchStatement: {
              FieldToMatch: { UriPath: {} },
              PositionalConstraint: 'ENDS_WITH',
              SearchString: path,
              TextTransformations: [{ Priority: 0, Type: 'NONE' }],
            },
          })),
        },
      },
    ],
  },
};

describe('the REST API web ACL', () => {
  it('is regional, allows by default and protects the REST stage', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
    const resources = Object.entries(synthTemplateJson().Resources);
    const idOf = (type: string) => resources.find(([, resource]) => resource.Type === type)?.[0];
    const association = resources.find(([, resource]) => resource.Type === 'AWS::WAFv2::WebACLAssociation')?.[1];

    expect(association?.Properties).toEqual({
      ResourceArn: {
        'Fn::Join': [
          '',
          expect.arrayContaining([{ Ref: idOf('AWS::ApiGateway::RestApi') }, { Ref: idOf('AWS::ApiGateway::Stage') }]),
        ],
      },
      WebACLArn: { 'Fn::GetAtt': [idOf('AWS::WAFv2::WebACL'), 'Arn'] },
    });
  });

  it('runs the AWS managed core rule set with its body-size rule only counting', () => {
    expect(rule('AWSManagedRulesCommonRuleSet')?.Statement).toEqual({
      ManagedRuleGroupStatement: {
        VendorName: 'AWS',
        Name: 'AWSManagedRulesCommonRuleSet',
        RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
      },
    });
  });

  it('runs the AWS managed known-bad-inputs rule set as it comes', () => {
    expect(rule('AWSManagedRulesKnownBadInputsRuleSet')?.Statement).toEqual({
      ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' },
    });
  });

  it('blocks a client IP above 20,000 requests in 5 minutes, before anything else', () => {
    expect(rule('RateLimitPerIp')).toMatchObject({
      Priority: 0,
      Action: { Block: {} },
      Statement: { RateBasedStatement: { Limit: 20_000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
    });
  });

  it("still blocks bodies over 8 KB on every request but transit's POST /v1/events and /v1/transit/events", () => {
    expect(rule('BodySizeOutsideIngest')).toMatchObject({
      Action: { Block: {} },
      Statement: {
        AndStatement: {
          Statements: [
            {
              SizeConstraintStatement: {
                FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
                ComparisonOperator: 'GT',
                Size: 8192,
              },
            },
            { NotStatement: { Statement: INGEST_ROUTE } },
          ],
        },
      },
    });
  });

  it("blocks transit's ingest requests declaring more than the 1 MiB ingest limit", () => {
    expect(rule('IngestBodySize')).toMatchObject({
      Action: { Block: {} },
      Statement: {
        AndStatement: {
          Statements: [
            INGEST_ROUTE,
            {
              RegexMatchStatement: {
                FieldToMatch: { SingleHeader: { Name: 'content-length' } },
                RegexString: greaterThanPattern(1_048_576),
              },
            },
          ],
        },
      },
    });
    expect(INGEST_MAX_BODY_BYTES).toBe(MAX_BODY_BYTES);
  });

  it('evaluates the size rules after the managed rule groups, each at its own priority', () => {
    const priorities = webAclRules().map((candidate) => candidate.Priority);

    expect(new Set(priorities).size).toBe(priorities.length);
    expect(rule('IngestBodySize')!.Priority).toBeGreaterThan(rule('AWSManagedRulesCommonRuleSet')!.Priority);
    expect(rule('BodySizeOutsideIngest')!.Priority).toBeGreaterThan(rule('AWSManagedRulesCommonRuleSet')!.Priority);
  });

  it('takes the rate limit from the waf setting, and is gone when the setting switches it off', () => {
    const limited = Template.fromStack(buildStack({ kafka: { mode: 'none' }, waf: { rateLimitPerIp: 500 } }));
    const off = Template.fromStack(
      buildStack({ kafka: { mode: 'none' }, waf: { enabled: false } }),
    ).toJSON() as TemplateJson;

    expect(JSON.stringify(limited.toJSON())).toContain('"Limit":500');
    expect(Object.values(off.Resources).filter((resource) => resource.Type.startsWith('AWS::WAFv2::'))).toEqual([]);
  });

  it('leaves cdk-nag clean when switched off (APIG3 acknowledged for that setting)', () => {
    const { errors } = nagFindings({ kafka: { mode: 'none' }, waf: { enabled: false } });

    expect(errors.map((finding) => finding.ruleName)).toEqual([]);
  });
});

describe('greaterThanPattern', () => {
  const matches = (limit: number, value: string) => new RegExp(greaterThanPattern(limit)).test(value);

  it.each([0, 7, 9, 10, 99, 100, 8192, 1_048_576, 1_999_999])('matches exactly the numbers above %i', (limit) => {
    for (const value of [0, 1, limit - 1, limit, limit + 1, limit + 9, limit * 10, 10 ** String(limit).length]) {
      if (value < 0) continue;
      expect(matches(limit, String(value)), `${value} > ${limit}`).toBe(value > limit);
    }
  });
});

describe('waf settings validation', () => {
  it('rejects a rate limit WAF does not take, and one for a switched-off ACL', () => {
    expect(validateStreamfoldProps({ waf: { rateLimitPerIp: 5 } })).toEqual([
      'waf.rateLimitPerIp must be a whole number from 10 to 2000000000, got 5',
    ]);
    expect(validateStreamfoldProps({ waf: { enabled: false, rateLimitPerIp: 100 } })).toEqual([
      'waf.rateLimitPerIp has no effect when waf.enabled is false',
    ]);
    expect(validateStreamfoldProps({ waf: { enabled: 'no' as unknown as boolean } })).toEqual([
      'waf.enabled must be true or false, got no',
    ]);
  });
});
