import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import {
  Aspects,
  CfnResource,
  type IAspect,
  type IPolicyValidationContextBeta1,
  type IPolicyValidationPluginBeta1,
  type PolicyValidationPluginReportBeta1,
  type PolicyViolationBeta1,
} from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * AWS Control Tower's proactive controls as cfn-guard rules, with the cfn-guard binary, as shipped in
 * `@cdklabs/cdk-validator-cfnguard`. The tests run them over every template they synthesize
 * (tests/infra/control-tower.test.ts); `cdk synth -c streamfold:controlTower=true` runs them at synth.
 *
 * cfn-guard itself honours no suppressions, and these rules have none of their own, so a suppression is
 * written where the guard rules registry puts it, `Metadata.guard.SuppressedRules` (rule names), with the
 * reason beside it in `Metadata.guard.Reasons`, and {@link checkControlTower} drops what is suppressed.
 */

/** Template metadata key of guard suppressions. */
export const GUARD_METADATA_KEY = 'guard';

/** One shipped Control Tower rule. */
export interface ControlTowerRule {
  /** Control id, e.g. `CT.LAMBDA.PR.3`. */
  readonly control: string;
  /** The guard rule's name, e.g. `lambda_inside_vpc_check`: what `SuppressedRules` lists. */
  readonly rule: string;
  /** The CloudFormation types the rule reports on. */
  readonly resourceTypes: readonly string[];
  /** The rule file. */
  readonly path: string;
}

/** What {@link GUARD_METADATA_KEY} holds on a resource. */
export interface GuardMetadata {
  SuppressedRules: string[];
  Reasons: Record<string, string>;
}

/** One failed check: which control, on which resource, and what the rule says to do. */
export interface ControlFinding {
  readonly control: string;
  readonly rule: string;
  readonly resource: string;
  readonly message: string;
}

const packageDir = dirname(createRequire(import.meta.url).resolve('@cdklabs/cdk-validator-cfnguard/package.json'));

/** Directory of the shipped Control Tower rules. */
export const CONTROL_TOWER_RULES_DIR = join(packageDir, 'rules', 'control-tower', 'cfn-guard');

let rules: readonly ControlTowerRule[] | undefined;

/** Every shipped Control Tower rule, read from its file's header and message. */
export function controlTowerRules(): readonly ControlTowerRule[] {
  if (rules) return rules;
  const files = readdirSync(CONTROL_TOWER_RULES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.guard'))
    .sort();
  const read = files.map((file): ControlTowerRule => {
    const path = join(CONTROL_TOWER_RULES_DIR, file);
    const text = readFileSync(path, 'utf8');
    const control = /\[(CT\.[A-Z0-9-]+\.PR\.\d+)\]/.exec(text)?.[1];
    const rule = /^rule (\w+) when/m.exec(text)?.[1];
    // The types named in the header's "Reports on" and in the rule's `Type ==` constants.
    const header = /^# Reports on:$([\s\S]*?)^# (?:Evaluates|Rule Parameters):/m.exec(text)?.[1] ?? '';
    const constants = [...text.matchAll(/"(AWS::\w+::\w+)"/g)].map((match) => match[1] ?? '');
    const resourceTypes = [...new Set([...(header.match(/AWS::\w+::\w+/g) ?? []), ...constants])];
    if (!control || !rule) throw new Error(`Cannot read the control id and rule name of ${path}`);
    return { control, rule, resourceTypes, path };
  });
  rules = read;
  return read;
}

/** The shipped rule of `control`; throws for an unknown control id. */
export function controlTowerRule(control: string): ControlTowerRule {
  const found = controlTowerRules().find((rule) => rule.control === control);
  if (!found) throw new Error(`${control} is not a shipped Control Tower control`);
  return found;
}

/** Options of {@link acknowledgeControl}. */
export interface AcknowledgeControlOptions {
  /**
   * Which of the scope's resources (of the types the control reports on) the suppression is for.
   * @default all of them
   */
  readonly where?: (resource: CfnResource) => boolean;
}

/**
 * Suppresses one Control Tower control on the resources under `scope` that it reports on, with a reason
 * written into the template beside the suppression. Like {@link acknowledgeNag}, it lives next to the code
 * that causes the finding; a stale one (on a resource that passes) fails the infra tests.
 */
export function acknowledgeControl(
  scope: IConstruct,
  control: string,
  reason: string,
  options: AcknowledgeControlOptions = {},
): void {
  if (reason.trim().length < 20)
    throw new Error(`Control Tower suppression ${control} on ${scope.node.path} needs a reason`);
  const { resourceTypes } = controlTowerRule(control);
  const aspect: IAspect = {
    visit(node) {
      if (!(node instanceof CfnResource) || !resourceTypes.includes(node.cfnResourceType)) return;
      if (options.where && !options.where(node)) return;
      suppressControl(node, control, reason);
    },
  };
  Aspects.of(scope).add(aspect);
}

/** Writes the suppression of `control` into the metadata of one resource (see {@link acknowledgeControl}). */
export function suppressControl(resource: CfnResource, control: string, reason: string): void {
  if (reason.trim().length < 20)
    throw new Error(`Control Tower suppression ${control} on ${resource.node.path} needs a reason`);
  const { rule } = controlTowerRule(control);
  const metadata = (resource.getMetadata(GUARD_METADATA_KEY) as GuardMetadata | undefined) ?? {
    SuppressedRules: [],
    Reasons: {},
  };
  if (!metadata.SuppressedRules.includes(rule)) metadata.SuppressedRules.push(rule);
  metadata.Reasons[rule] = reason;
  resource.addMetadata(GUARD_METADATA_KEY, metadata);
}

interface TemplateJson {
  Resources?: Record<string, { Type: string; Metadata?: Record<string, unknown> }>;
}

/** What {@link checkControlTower} found. */
export interface ControlTowerReport {
  /** Unsuppressed failures. */
  readonly failures: ControlFinding[];
  /** Failures suppressed in the template, with their reasons. */
  readonly suppressed: (ControlFinding & { reason: string })[];
  /** Suppressions on resources that pass the control: no longer needed. */
  readonly stale: { control: string; rule: string; resource: string }[];
}

/**
 * Runs the shipped Control Tower rules over one synthesized template. Only the rules that report on a
 * resource type in the template are run: the others would skip anyway, and leaving them out makes a
 * run several times faster.
 */
export function checkControlTower(templatePath: string): ControlTowerReport {
  const template = JSON.parse(readFileSync(templatePath, 'utf8')) as TemplateJson;
  const resources = template.Resources ?? {};
  const types = new Set(Object.values(resources).map((resource) => resource.Type));
  // A rule whose types could not be read is always run.
  const applicable = controlTowerRules().filter(
    (rule) => rule.resourceTypes.length === 0 || rule.resourceTypes.some((type) => types.has(type)),
  );
  if (applicable.length === 0) return { failures: [], suppressed: [], stale: [] };
  const validator = new CfnGuardValidator({
    controlTowerRulesEnabled: false,
    rules: applicable.map((rule) => rule.path),
    maxBuffer: 64 * 1024 * 1024,
  });
  const controlOf = new Map(applicable.map((rule) => [rule.rule, rule.control]));
  // The plugin reads only the template paths of its context.
  const context = { templatePaths: [templatePath] } as unknown as IPolicyValidationContextBeta1;
  const findings = validator.validate(context).violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      control: controlOf.get(violation.ruleName) ?? violation.ruleName,
      rule: violation.ruleName,
      resource: resource.resourceLogicalId,
      message: violation.fix ?? violation.description,
    })),
  );
  const guardOf = (id: string) => resources[id]?.Metadata?.[GUARD_METADATA_KEY] as GuardMetadata | undefined;
  const failures: ControlFinding[] = [];
  const suppressed: (ControlFinding & { reason: string })[] = [];
  for (const finding of findings) {
    const guard = guardOf(finding.resource);
    if (guard?.SuppressedRules.includes(finding.rule)) {
      suppressed.push({ ...finding, reason: guard.Reasons[finding.rule] ?? '' });
    } else {
      failures.push(finding);
    }
  }
  const failing = new Set(findings.map((finding) => `${finding.resource} ${finding.rule}`));
  const stale = Object.entries(resources).flatMap(([resource]) =>
    (guardOf(resource)?.SuppressedRules ?? [])
      .filter((rule) => controlOf.has(rule) && !failing.has(`${resource} ${rule}`))
      .map((rule) => ({ control: controlOf.get(rule) ?? rule, rule, resource })),
  );
  return { failures, suppressed, stale };
}

/** One line per finding: `control resource: message`. */
export function formatFindings(findings: readonly ControlFinding[]): string[] {
  return findings.map((finding) => `${finding.control} ${finding.resource}: ${finding.message}`);
}

/**
 * The same check as a CDK policy-validation plugin: any unsuppressed failure fails the synth
 * (`cdk synth -c streamfold:controlTower=true`).
 */
export class ControlTowerChecks implements IPolicyValidationPluginBeta1 {
  readonly name = 'streamfold-control-tower';

  validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const violations: PolicyViolationBeta1[] = context.templatePaths.flatMap((templatePath) =>
      checkControlTower(templatePath).failures.map((finding) => ({
        ruleName: finding.control,
        description: finding.message,
        violatingResources: [{ resourceLogicalId: finding.resource, templatePath, locations: [] }],
      })),
    );
    return { success: violations.length === 0, violations };
  }
}
