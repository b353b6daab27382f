import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ControlTowerChecks } from './control-tower.js';
import type { KafkaProps, StreamfoldStackProps } from './stack-props.js';
import { StreamfoldStack } from './streamfold-stack.js';

/** Context key that turns on the cdk-nag AwsSolutions checks (`cdk synth -c streamfold:nag=true`). */
export const NAG_CONTEXT_KEY = 'streamfold:nag';

/**
 * Context key that runs AWS Control Tower's proactive controls (cfn-guard) over the template at synth
 * (`cdk synth -c streamfold:controlTower=true`); suppressed findings are skipped.
 */
export const CONTROL_TOWER_CONTEXT_KEY = 'streamfold:controlTower';

/**
 * Context key choosing the Kafka path: `serverless` (the default), `existing` (needs
 * {@link MSK_CLUSTER_ARN_CONTEXT_KEY}) or `none` (`cdk synth -c streamfold:kafka=none`).
 */
export const KAFKA_CONTEXT_KEY = 'streamfold:kafka';

/** Context key naming an existing MSK cluster to consume from; alone, it implies `streamfold:kafka=existing`. */
export const MSK_CLUSTER_ARN_CONTEXT_KEY = 'streamfold:mskClusterArn';

/**
 * Context key choosing the core transit's processors run (stack prop `transitProcessor`):
 * `cdk deploy -c streamfold:transitProcessor=batch` keeps a stack deployed before on `processBatch`.
 */
export const TRANSIT_PROCESSOR_CONTEXT_KEY = 'streamfold:transitProcessor';

/**
 * The `kafka` stack prop the context asks for, or `undefined` when it asks nothing. Values are passed on
 * as given (the CLI only has strings); the stack's props validation reports what does not fit.
 */
export function kafkaPropsFromContext(app: App): KafkaProps | undefined {
  const mode: unknown = app.node.tryGetContext(KAFKA_CONTEXT_KEY);
  const clusterArn: unknown = app.node.tryGetContext(MSK_CLUSTER_ARN_CONTEXT_KEY);
  if (mode === undefined && clusterArn === undefined) return undefined;
  return {
    mode: mode === undefined ? 'existing' : String(mode),
    ...(clusterArn === undefined ? {} : { clusterArn: String(clusterArn) }),
  } as KafkaProps;
}

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
  // Props given in code win over the CLI's context.
  const kafka = options.props?.kafka ?? kafkaPropsFromContext(app);
  const core: unknown = options.props?.transitProcessor ?? app.node.tryGetContext(TRANSIT_PROCESSOR_CONTEXT_KEY);
  // Environment-agnostic on purpose: synth needs no credentials and no lookups.
  const stack = new StreamfoldStack(app, 'Streamfold', {
    stackName: 'Streamfold',
    description: 'Streamfold: real-time vehicle telemetry analytics',
    ...options.props,
    ...(kafka ? { kafka } : {}),
    // As given (the CLI has strings only): the props validation names a wrong one.
    ...(core === undefined ? {} : { transitProcessor: String(core) as StreamfoldStackProps['transitProcessor'] }),
  });
  const nag = app.node.tryGetContext(NAG_CONTEXT_KEY);
  // cdk-nag v3 is a CDK validation plugin: any unacknowledged finding fails the synth.
  if (nag === true || nag === 'true') Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const controlTower = app.node.tryGetContext(CONTROL_TOWER_CONTEXT_KEY);
  if (controlTower === true || controlTower === 'true') Validations.of(app).addPlugins(new ControlTowerChecks());
  return { app, stack };
}
