// Child-process entry of `startStackProcess`: runs the local stack outside the test runner, so that an input
// which crashes the stack's process is seen as a dead process (exit code, stderr) instead of an error thrown
// into the test. Talks to its parent over the IPC channel: one `ready` message, then metrics on request.
import { startTestStack } from './local-stack.js';
import type { StackProcessInfo, StackProcessRequest, StackProcessStart } from './stack-process.js';

const start = JSON.parse(process.env.STREAMFOLD_STACK_PROCESS ?? '{}') as StackProcessStart;
const send = (message: unknown) => process.send?.(message);

const stack = await startTestStack({
  ...(start.kafka ? { kafka: start.kafka } : {}),
  ...(start.gtfsDir ? { seeds: { gtfs: start.gtfsDir } } : {}),
  ...(start.dataDir ? { dataDir: start.dataDir } : {}),
  ...(start.faultInjection ? { faultInjection: start.faultInjection } : {}),
  // Runtime notes (poller, REST and WebSocket errors) go to stderr, which the parent keeps the tail of.
  log: (message) => process.stderr.write(`${message}\n`),
});
const info: StackProcessInfo = {
  restUrl: stack.restUrl,
  wsUrl: stack.wsUrl,
  apiKey: stack.apiKey,
  endpoints: stack.endpoints,
  resources: stack.resources,
  kinesisMappings: stack.plan.kinesisMappings.map((m) => ({
    logicalId: m.logicalId,
    streamLogicalId: m.streamLogicalId,
    functionLogicalId: m.functionLogicalId,
  })),
  kafkaBrokers: stack.kafka?.brokers ?? [],
  startupMs: stack.startupMs,
};
send({ type: 'ready', info });

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(0);
};
process.on('message', (request: StackProcessRequest) => {
  if (request.type === 'metrics') send({ type: 'metrics', id: request.id, metrics: stack.metrics() });
  else if (request.type === 'stop') void stop();
});
// The parent went away without saying stop (e.g. the test runner was killed): do not outlive it.
process.on('disconnect', () => void stop());
