import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StreamfoldStackProps } from './stack-props.js';
import { StreamfoldStack } from './streamfold-stack.js';

/** Context key that turns on the cdk-nag AwsSolutions checks (`cdk synth -c streamfold:nag=true`). */
export const NAG_CONTEXT_KEY = 'streamfold:nag';

/** Context that skips asset bundling for every stack (the tests use it; local/runtime passes the same context). */
export const NO_BUNDLING_CONTEXT = { 'aws:cdk:bundling-stacks': [] } as const;

/**
 * The `context` of cdk.json (feature flags). The CLI passes it to the app; anything that builds the app
 * in-process must pass it too, or it synthesizes a different template than `cdk synth`.
 */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /**
   * Context of the app, e.g. `{ 'aws:cdk:bundling-stacks': [] }` to skip bundling.
   * @default none besides cdk.json and the CLI's
   */
  readonly context?: Record<string, unknown>;
  /**
   * Stack settings.
   * @default the stack's defaults
   */
  readonly props?: StreamfoldStackProps;
}

/** The Streamfold app and its one stack; shared by `infra/app.ts` and the tests so both build the same thing. */
export function buildApp(options: BuildAppOptions = {}): { app: App; stack: StreamfoldStack } {
  const app = new App(options.context ? { context: options.context } : {});
  // Environment-agnostic on purpose: synth needs no credentials and no lookups.
  const stack = new StreamfoldStack(app, 'Streamfold', {
    stackName: 'Streamfold',
    description: 'Streamfold: real-time vehicle telemetry analytics',
    ...options.props,
  });
  const nag = app.node.tryGetContext(NAG_CONTEXT_KEY);
  // cdk-nag v3 is a CDK validation plugin: any unacknowledged finding fails the synth.
  if (nag === true || nag === 'true') Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
