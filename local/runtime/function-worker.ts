/**
 * Runs inside a function's worker thread (loaded through tsx): imports the handler from source once,
 * like a Lambda init phase, then serves invocations posted by the host with a Lambda-like context.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import type { WorkerInit, WorkerReply, WorkerRequest } from './function-host.js';

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('function-worker.ts must run in a worker thread');

const serialize = (error: unknown) => ({
  errorType: error instanceof Error ? error.name : 'Error',
  errorMessage: error instanceof Error ? error.message : String(error),
  stack: error instanceof Error ? (error.stack ?? '').split('\n') : [],
});

/** The crash fault injection makes (`fault-injection.ts`); the event source sees a function error. */
class InjectedFaultError extends Error {
  override name = 'InjectedFaultError';
}

type Handler = (event: unknown, context: Context) => unknown;
let handler: Handler;
try {
  const module = (await import(pathToFileURL(init.entryPath).href)) as Record<string, unknown>;
  const candidate = module[init.handlerExport];
  if (typeof candidate !== 'function')
    throw new TypeError(`${init.entry} does not export a function "${init.handlerExport}"`);
  handler = candidate as Handler;
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
} catch (error) {
  // The same line the Lambda runtime logs on a failed init, so the log file tells why.
  console.error(`INIT_REPORT\tERROR\tRuntime.ImportModuleError\t${JSON.stringify(serialize(error))}`);
  port.postMessage({ type: 'init-error', error: serialize(error) } satisfies WorkerReply);
  process.exit(1);
}

port.on('message', (request: WorkerRequest) => {
  const deadline = request.deadlineMs;
  const context: Context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: init.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: init.functionArn,
    memoryLimitInMB: String(init.memoryMb),
    awsRequestId: request.requestId,
    logGroupName: `/aws/lambda/${init.functionName}`,
    logStreamName: init.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  const { fault } = request;
  Promise.resolve()
    .then(() => {
      if (fault === 'before-handler') throw new InjectedFaultError('injected fault before the handler ran');
      return handler(request.event, context);
    })
    .then((value) => {
      if (fault === 'after-handler') throw new InjectedFaultError('injected fault after the handler ran');
      return value;
    })
    .then(
      (value) => port.postMessage({ type: 'result', id: request.id, ok: true, value } satisfies WorkerReply),
      (error: unknown) => {
        const serialized = serialize(error);
        console.error(
          `${new Date().toISOString()}\t${request.requestId}\tERROR\tInvoke Error \t${JSON.stringify(serialized)}`,
        );
        port.postMessage({ type: 'result', id: request.id, ok: false, error: serialized } satisfies WorkerReply);
      },
    );
});
