/**
 * Hosts one template function in its own worker thread: its own `process.env` (the template's resolved
 * environment plus the local endpoints), TypeScript source loaded through tsx, output captured to
 * `.local/logs/<LogicalId>.log` and scanned for EMF metrics.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type MetricCounters, parseEmfLine } from './emf.js';
import type { FaultPoint } from './fault-injection.js';
import { localArn } from './intrinsics.js';
import type { FunctionPlan } from './plan.js';

/** What the worker receives at start (`workerData`). */
export interface WorkerInit {
  entry: string;
  entryPath: string;
  handlerExport: string;
  functionName: string;
  functionArn: string;
  memoryMb: number;
  logStreamName: string;
}

/** Host → worker. */
export interface WorkerRequest {
  id: number;
  requestId: string;
  deadlineMs: number;
  event: unknown;
  /** Crash this invocation here (fault injection). */
  fault?: FaultPoint;
}

/** A handler error, as the Lambda runtime reports it. */
export interface SerializedError {
  errorType: string;
  errorMessage: string;
  stack: string[];
}

/** Worker → host. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: SerializedError };

/** How one invocation ended. */
export type InvokeResult =
  | { ok: true; requestId: string; value: unknown }
  | { ok: false; requestId: string; errorType: string; errorMessage: string };

/** Raised when a function's module cannot be loaded (the Lambda init phase failed). */
export class FunctionInitError extends Error {
  override name = 'FunctionInitError';
}

/** Options of a {@link LocalFunction}. */
export interface LocalFunctionOptions {
  /** Repository root; the entry is resolved against it. */
  root: string;
  plan: FunctionPlan;
  /** The complete `process.env` of the function. */
  env: Record<string, string>;
  /** Directory of the log files. */
  logDir: string;
  metrics: MetricCounters;
  /** Decides, per invocation, whether and where it crashes (see `fault-injection.ts`). @default never */
  faults?: () => FaultPoint | undefined;
}

const WORKER_PATH = fileURLToPath(new URL('./function-worker.ts', import.meta.url));
// An absolute URL, so workers load TypeScript whatever the current directory is.
const TSX_LOADER = pathToFileURL(
  join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs'),
).href;

interface Pending {
  resolve: (result: InvokeResult) => void;
  requestId: string;
  timer: NodeJS.Timeout;
  startedAt: number;
}

/**
 * One function, run from source. Invocations may overlap (one worker serves them concurrently, unlike
 * Lambda's one-at-a-time environments); a timeout resets the worker, as Lambda resets its sandbox.
 */
export class LocalFunction {
  readonly name: string;
  readonly arn: string;
  private worker: Worker | undefined;
  private starting: Promise<Worker> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly log: WriteStream;
  private stopped = false;
  /** Invocations crashed by fault injection. */
  injectedFaults = 0;

  constructor(private readonly options: LocalFunctionOptions) {
    this.name = options.plan.name;
    this.arn = localArn('lambda', this.name);
    mkdirSync(options.logDir, { recursive: true });
    this.log = createWriteStream(join(options.logDir, `${options.plan.logicalId}.log`), { flags: 'a' });
    // Output that arrives while stopping must not crash the runtime.
    this.log.on('error', () => undefined);
  }

  private write(text: string): void {
    if (!this.log.writableEnded) this.log.write(text);
  }

  /** Starts the worker and waits for its init phase (module import). */
  async start(): Promise<void> {
    await this.ensureWorker();
  }

  private ensureWorker(): Promise<Worker> {
    if (this.worker) return Promise.resolve(this.worker);
    this.starting ??= this.spawn().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private spawn(): Promise<Worker> {
    const { plan, root, env } = this.options;
    const init: WorkerInit = {
      entry: plan.entry,
      entryPath: resolve(root, plan.entry),
      handlerExport: plan.handlerExport,
      functionName: this.name,
      functionArn: this.arn,
      memoryMb: plan.memoryMb,
      logStreamName: `local/[$LATEST]/${randomUUID().replaceAll('-', '')}`,
    };
    const worker = new Worker(WORKER_PATH, {
      workerData: init,
      env,
      execArgv: ['--import', TSX_LOADER],
      stdout: true,
      stderr: true,
    });
    for (const stream of [worker.stdout, worker.stderr]) {
      stream.pipe(this.log, { end: false });
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
        const samples = parseEmfLine(line);
        if (samples.length > 0) this.options.metrics.add(this.name, samples);
      });
    }
    return new Promise<Worker>((resolveReady, rejectReady) => {
      let ready = false;
      worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') {
          ready = true;
          this.worker = worker;
          resolveReady(worker);
        } else if (reply.type === 'init-error') {
          rejectReady(new FunctionInitError(`${plan.logicalId} (${plan.entry}): ${reply.error.errorMessage}`));
        } else {
          this.settle(reply.id, reply.ok ? { ok: true, value: reply.value } : { ok: false, ...reply.error });
        }
      });
      worker.on('error', (error) => {
        this.write(`${new Date().toISOString()}\tworker error: ${error.stack ?? error.message}\n`);
        if (!ready)
          rejectReady(new FunctionInitError(`${plan.logicalId} (${plan.entry}) failed to start`, { cause: error }));
      });
      worker.on('exit', (code) => {
        if (this.worker === worker) this.worker = undefined;
        if (!ready)
          rejectReady(new FunctionInitError(`${plan.logicalId} (${plan.entry}) exited with ${code} during init`));
        for (const id of [...this.pending.keys()]) {
          this.settle(id, {
            ok: false,
            errorType: 'Runtime.ExitError',
            errorMessage: `worker exited with code ${code}`,
          });
        }
      });
    });
  }

  private settle(
    id: number,
    outcome: { ok: true; value: unknown } | { ok: false; errorType: string; errorMessage: string },
  ): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    const durationMs = Date.now() - pending.startedAt;
    this.write(`END RequestId: ${pending.requestId}\n`);
    this.write(`REPORT RequestId: ${pending.requestId}\tDuration: ${durationMs} ms\n`);
    pending.resolve({ requestId: pending.requestId, ...outcome });
  }

  /** Invokes the handler; resolves with its result or error (never rejects for handler errors). */
  async invoke(event: unknown): Promise<InvokeResult> {
    const requestId = randomUUID();
    if (this.stopped)
      return { ok: false, requestId, errorType: 'Runtime.Stopped', errorMessage: 'the local stack is stopping' };
    let worker: Worker;
    try {
      worker = await this.ensureWorker();
    } catch (error) {
      return { ok: false, requestId, errorType: 'Runtime.ImportModuleError', errorMessage: (error as Error).message };
    }
    const id = this.nextId++;
    const fault = this.options.faults?.();
    if (fault) this.injectedFaults += 1;
    const timeoutMs = this.options.plan.timeoutSeconds * 1000;
    const startedAt = Date.now();
    this.write(`START RequestId: ${requestId} Version: $LATEST\n`);
    return new Promise<InvokeResult>((resolvePromise) => {
      const timer = setTimeout(() => {
        this.settle(id, {
          ok: false,
          errorType: 'Sandbox.Timedout',
          errorMessage: `Task timed out after ${this.options.plan.timeoutSeconds.toFixed(2)} seconds`,
        });
        // Lambda resets the sandbox after a timeout; so do we (other in-flight invocations fail with it).
        void worker.terminate();
      }, timeoutMs);
      this.pending.set(id, { resolve: resolvePromise, requestId, timer, startedAt });
      worker.postMessage({
        id,
        requestId,
        deadlineMs: startedAt + timeoutMs,
        event,
        ...(fault ? { fault } : {}),
      } satisfies WorkerRequest);
    });
  }

  /** Terminates the worker and closes the log. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting?.catch(() => undefined);
    const worker = this.worker;
    await worker?.terminate();
    worker?.stdout.unpipe(this.log);
    worker?.stderr.unpipe(this.log);
    await new Promise<void>((done) => this.log.end(done));
  }
}
