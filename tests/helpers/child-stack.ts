// `npm start` in a child process (so a test can SIGKILL it) and the endpoints its banner prints.
import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT } from '../../local/runtime/local-stack.js';

/** A local stack running in a child process. */
export interface ChildStack {
  process: ChildProcess;
  restUrl: string;
  apiKey: string;
  endpoints: { kinesis: string; dynamodb: string; sqs: string };
  /** Everything the child printed so far. */
  output(): string;
  /** `kill -9`: no cleanup runs in the child. */
  kill(): Promise<void>;
  /** SIGTERM (the child stops its stack cleanly) and waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `local/start.ts` with `args` and resolves once it printed its ready banner. */
export async function startChildStack(args: string[], timeoutMs = 120_000): Promise<ChildStack> {
  // Through the project's Node (this test runs on it) with tsx, as `npm start` runs it.
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const field = (label: string) => output.match(new RegExp(`^ {2}${label} +(\\S+)`, 'm'))?.[1] ?? '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready banner within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = () => {
      if (!output.includes('Ctrl-C to stop.')) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      resolve();
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the stack exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    process: child,
    restUrl: field('REST'),
    apiKey: output.match(/x-api-key: ([^);\s]+)/)?.[1] ?? '',
    endpoints: { kinesis: field('Kinesis'), dynamodb: field('DynamoDB'), sqs: field('SQS') },
    output: () => output,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
