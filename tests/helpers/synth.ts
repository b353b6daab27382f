/**
 * Synthesizes the Streamfold stack in-process for template tests, without bundling (the functions'
 * code is irrelevant to the template and esbuild would only slow the tests down).
 */
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StreamfoldStackProps } from '../../infra/stack-props.js';
import { buildApp, cdkJsonContext, NO_BUNDLING_CONTEXT } from '../../infra/streamfold-app.js';
import type { StreamfoldStack } from '../../infra/streamfold-stack.js';

/** Context that skips asset bundling for every stack. */
export const NO_BUNDLING = NO_BUNDLING_CONTEXT;

/** A synthesized CloudFormation template as plain JSON. */
export interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: unknown }>;
  [section: string]: unknown;
}

/** One cdk-nag finding: rule id (with the finding in brackets for multi-finding rules) and where. */
export interface NagFinding {
  ruleName: string;
  severity: string;
  description: string;
  constructPaths: string[];
}

/** A freshly built stack (not cached); use it to synth with non-default props. */
export function buildStack(props?: StreamfoldStackProps): StreamfoldStack {
  return buildApp({ context: { ...cdkJsonContext(), ...NO_BUNDLING }, ...(props ? { props } : {}) }).stack;
}

let cached: { template: Template; json: TemplateJson } | undefined;

function synthDefault() {
  if (!cached) {
    const template = Template.fromStack(buildStack());
    cached = { template, json: template.toJSON() as TemplateJson };
  }
  return cached;
}

/** The Streamfold template with default props, synthesized once per test process. */
export function synthTemplate(): Template {
  return synthDefault().template;
}

/** The same template as raw JSON. */
export function synthTemplateJson(): TemplateJson {
  return synthDefault().json;
}

/**
 * Runs the cdk-nag AwsSolutions pack over a fresh stack and returns what is not acknowledged.
 * (cdk-nag v3 reports through a validation plugin rather than annotations, so the pack is run directly.)
 */
export function nagFindings(props?: StreamfoldStackProps): { errors: NagFinding[]; warnings: NagFinding[] } {
  const report = new AwsSolutionsChecks(undefined, { verbose: false }).validateScope(buildStack(props));
  const findings: NagFinding[] = report.violations.map((violation) => ({
    ruleName: violation.ruleName,
    severity: violation.severity ?? 'error',
    description: violation.description,
    constructPaths: violation.violatingResources.map(
      (resource) => resource.constructPath ?? resource.resourceLogicalId ?? '(unknown)',
    ),
  }));
  return {
    errors: findings.filter((finding) => finding.severity === 'error'),
    warnings: findings.filter((finding) => finding.severity !== 'error'),
  };
}

/**
 * Synthesizes a fresh app into a temporary cloud assembly and returns the path of the stack's template
 * file, for checkers that read files (cfn-guard).
 */
export function synthTemplateFile(props?: StreamfoldStackProps): string {
  const { app } = buildApp({ context: { ...cdkJsonContext(), ...NO_BUNDLING }, ...(props ? { props } : {}) });
  return app.synth().getStackByName('Streamfold').templateFullPath;
}
