/**
 * The synthesized CloudFormation template: its types, how to synthesize it the way the CDK CLI does
 * (without bundling), and how to read it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** One resource of a CloudFormation template. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DependsOn?: string | string[];
}

/** The parts of a CloudFormation template the local runtime reads. */
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
}

/** The stack the CDK app synthesizes (`cdk.out/<name>.template.json`). */
export const STACK_NAME = 'Streamfold';

/** Raised when the CDK app cannot be synthesized or its template cannot be read. */
export class SynthesisError extends Error {
  override name = 'SynthesisError';
}

/** Options of {@link synthesizeTemplate}. */
export interface SynthesizeOptions {
  /** Repository root (holds `infra/app.ts` and `cdk.json`). */
  root: string;
  /** Cloud assembly directory, relative to `root` or absolute. @default 'cdk.out' */
  outdir?: string;
  /** The CDK app entry, relative to `root`. @default 'infra/app.ts' */
  app?: string;
}

/**
 * Runs the CDK app as the CDK CLI would, but skips asset bundling (the local runtime runs functions from
 * source), then reads the stack's template. The CLI passes `cdk.json`'s context through
 * `CDK_CONTEXT_JSON`, so we merge it in too: otherwise feature flags differ from `cdk synth`.
 */
export async function synthesizeTemplate(options: SynthesizeOptions): Promise<CfnTemplate> {
  const outdir = options.outdir ?? 'cdk.out';
  const app = options.app ?? 'infra/app.ts';
  if (!existsSync(join(options.root, app))) throw new SynthesisError(`${app} does not exist yet in ${options.root}`);
  const cdkJsonPath = join(options.root, 'cdk.json');
  const cdkContext = existsSync(cdkJsonPath)
    ? ((JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as { context?: Record<string, unknown> }).context ?? {})
    : {};
  const context = { ...cdkContext, 'aws:cdk:bundling-stacks': [] };
  const tsx = join(options.root, 'node_modules', '.bin', 'tsx');
  const stderr: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(tsx, [app], {
      cwd: options.root,
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new SynthesisError(`${app} exited with ${code}:\n${stderr.join('').slice(-4000)}`);
  const path = join(resolve(options.root, outdir), `${STACK_NAME}.template.json`);
  return readTemplate(path);
}

/** Reads and minimally checks a template file. */
export async function readTemplate(path: string): Promise<CfnTemplate> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new SynthesisError(`cannot read template ${path}`, { cause: error });
  }
  if (!isRecord(parsed) || !isRecord(parsed.Resources)) throw new SynthesisError(`${path} has no Resources`);
  return parsed as unknown as CfnTemplate;
}

/** True for a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
