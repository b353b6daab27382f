import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StreamfoldStack } from './streamfold-stack.js';

/** Context key that turns on the cdk-nag AwsSolutions checks (`cdk synth -c streamfold:nag=true`). */
export const NAG_CONTEXT_KEY = 'streamfold:nag';

const app = new App();
// Environment-agnostic on purpose: synth needs no credentials and no lookups.
const stack = new StreamfoldStack(app, 'Streamfold', {
  stackName: 'Streamfold',
  description: 'Streamfold: real-time vehicle telemetry analytics',
});
const nag = app.node.tryGetContext(NAG_CONTEXT_KEY);
// cdk-nag v3 runs as a CDK validation plugin; its findings fail the synth.
if (nag === true || nag === 'true') Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
void stack;
app.synth();
