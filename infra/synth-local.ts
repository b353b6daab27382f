/**
 * Synthesizes the Streamfold template for the offline runtime: same app and cdk.json context as
 * `cdk synth`, but without bundling (the local runtime runs each function from its `streamfold:entry`
 * source), so it takes seconds. The CLI refuses `aws:`-prefixed context from `-c`, hence this entry.
 *
 *   npx tsx infra/synth-local.ts [outdir]   # default cdk.out
 */
import { resolve } from 'node:path';
import { repoRoot } from './paths.js';
import { buildApp, cdkJsonContext, NO_BUNDLING_CONTEXT } from './streamfold-app.js';

const outdir = resolve(process.argv[2] ?? `${repoRoot}cdk.out`);
const { app } = buildApp({ context: { ...cdkJsonContext(), ...NO_BUNDLING_CONTEXT }, outdir });
const assembly = app.synth();
console.log(`${assembly.getStackByName('Streamfold').templateFullPath}`);
