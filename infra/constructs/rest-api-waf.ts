import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** Options of a {@link RestApiWaf}. */
export interface RestApiWafProps {
  /** The REST API stage to protect. */
  readonly stage: apigateway.Stage;
  /**
   * Paths of the ingest routes (`POST`), whose bodies may exceed the managed rules' 8 KB: transit's
   * `/v1/events` and each pipeline's `/v1/<name>/events`. At least one.
   */
  readonly ingestPaths: readonly string[];
  /** Largest ingest body in bytes, as the ingest function enforces it. */
  readonly maxIngestBodyBytes: number;
  /**
   * Requests per client IP address in any 5 minutes above which the address is blocked.
   * @default 20_000 (about 66 a second, above the ingest usage plan's 50 per key)
   */
  readonly rateLimitPerIp?: number;
}

/** What the managed core rule set's SizeRestrictions_BODY rule allows, and what this ACL keeps elsewhere. */
const MANAGED_BODY_LIMIT_BYTES = 8 * 1024;

/**
 * A regular expression that matches the decimal numbers (without leading zeros) greater than `limit`:
 * longer numbers, or numbers of its length that exceed it at the first digit where they differ.
 */
export function greaterThanPattern(limit: number): string {
  const digits = String(limit);
  const alternatives = [`[1-9]\\d{${digits.length},}`];
  for (let i = 0; i < digits.length; i++) {
    const digit = Number(digits[i]);
    if (digit === 9) continue;
    const rest = digits.length - i - 1;
    alternatives.push(`${digits.slice(0, i)}[${digit + 1}-9]${rest > 0 ? `\\d{${rest}}` : ''}`);
  }
  return `^(${alternatives.join('|')})$`;
}

const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

const managedGroup = (
  name: string,
  priority: number,
  ruleActionOverrides?: wafv2.CfnWebACL.RuleActionOverrideProperty[],
) => ({
  name,
  priority,
  overrideAction: { none: {} },
  statement: {
    managedRuleGroupStatement: { vendorName: 'AWS', name, ...(ruleActionOverrides ? { ruleActionOverrides } : {}) },
  },
  visibilityConfig: visibility(name),
});

/**
 * A regional web ACL on the REST API stage: a rate limit per client IP, AWS's managed core rule set and
 * known-bad-inputs rule set, and a body-size policy that lets ingest batches through.
 *
 * The core rule set's SizeRestrictions_BODY blocks bodies over 8 KB, but an ingest batch may be 1 MiB, so
 * that rule only counts here and two rules take its place: every request except a `POST` to one of the
 * `ingestPaths` is still blocked above 8 KB; such a `POST` is blocked when its Content-Length exceeds the
 * ingest limit. WAF sees at most the first 16 KB of a REST API body (the default inspection limit, 64 KB
 * at most), so the ingest limit is checked on the declared length; the ingest function still measures the
 * body itself (413) for a request that declares none.
 */
export class RestApiWaf extends Construct {
  /** The web ACL. */
  public readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: RestApiWafProps) {
    super(scope, id);
    if (props.ingestPaths.length === 0) throw new Error(`${id}: ingestPaths must name at least one path`);
    // The path as the client sent it: `/<stage>/v1/events`, or `/v1/events` behind a custom domain.
    const paths = props.ingestPaths.map(
      (path): wafv2.CfnWebACL.StatementProperty => ({
        byteMatchStatement: {
          fieldToMatch: { uriPath: {} },
          positionalConstraint: 'ENDS_WITH',
          searchString: path,
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      }),
    );
    const ingestRoute: wafv2.CfnWebACL.StatementProperty = {
      andStatement: {
        statements: [
          {
            byteMatchStatement: {
              fieldToMatch: { method: {} },
              positionalConstraint: 'EXACTLY',
              searchString: 'POST',
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
          // WAF's OR takes two statements or more; one path stays the plain match it always was.
          paths.length === 1 ? paths[0]! : { orStatement: { statements: paths } },
        ],
      },
    };

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: 'streamfold-rest',
      description: 'Streamfold REST API: rate limit per IP, AWS managed rules, body sizes',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('streamfold-rest'),
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              limit: props.rateLimitPerIp ?? 20_000,
              aggregateKeyType: 'IP',
              evaluationWindowSec: 300,
            },
          },
          visibilityConfig: visibility('RateLimitPerIp'),
        },
        managedGroup('AWSManagedRulesCommonRuleSet', 10, [
          { name: 'SizeRestrictions_BODY', actionToUse: { count: {} } },
        ]),
        managedGroup('AWSManagedRulesKnownBadInputsRuleSet', 20),
        {
          name: 'BodySizeOutsideIngest',
          priority: 30,
          action: { block: {} },
          statement: {
            andStatement: {
              statements: [
                {
                  sizeConstraintStatement: {
                    // A body longer than WAF inspects is longer than 8 KB too.
                    fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
                    comparisonOperator: 'GT',
                    size: MANAGED_BODY_LIMIT_BYTES,
                    textTransformations: [{ priority: 0, type: 'NONE' }],
                  },
                },
                { notStatement: { statement: ingestRoute } },
              ],
            },
          },
          visibilityConfig: visibility('BodySizeOutsideIngest'),
        },
        {
          name: 'IngestBodySize',
          priority: 40,
          action: { block: {} },
          statement: {
            andStatement: {
              statements: [
                ingestRoute,
                {
                  regexMatchStatement: {
                    fieldToMatch: { singleHeader: { Name: 'content-length' } },
                    regexString: greaterThanPattern(props.maxIngestBodyBytes),
                    textTransformations: [{ priority: 0, type: 'NONE' }],
                  },
                },
              ],
            },
          },
          visibilityConfig: visibility('IngestBodySize'),
        },
      ],
    });

    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
