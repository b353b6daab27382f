/**
 * A persistent local stack (`npm start -- --data-dir DIR`) killed with SIGKILL in the middle of a run and
 * started again on the same directory: every route window and vehicle state must then match a
 * recomputation from the generated events exactly (nothing lost: streams, tables and queues were on
 * disk and the pollers resumed after their checkpoints; nothing counted twice: the batch in flight at
 * the kill was delivered again and absorbed), and the dead letters sent before the kill are still there.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorClientConfig } from '../../local/runtime/emulators.js';
import { REPO_ROOT } from '../../local/runtime/local-stack.js';
import { planLocalStack } from '../../local/runtime/plan.js';
import { synthesizeTemplate } from '../../local/runtime/template.js';
import { DEFAULT_GTFS_DIR } from '../../local/simulate.js';
import { chunkForRest } from '../../local/simulator/senders.js';
import { generateWorkload, simNetworkFromFeed } from '../../local/simulator/workload.js';
import { validateVehiclePosition } from '../../pipelines/transit/events/validate.js';
import { parseGtfsFeed } from '../../pipelines/transit/gtfs/parse-feed.js';
import { type ChildStack, startChildStack } from '../helpers/child-stack.js';
import { expectedFold, expectLatestStates, expectServedWindows, TEMPLATE_SETTINGS } from '../helpers/expected-fold.js';
import { eventually } from '../helpers/local-stack.js';
import { postUntilAccepted } from '../helpers/rest-ingest.js';

const MINUTES = 4;
const CHUNK = 25;

let dataDir: string;
let logDir: string;
let templatePath: string;
let queueNames: { deadLetters: string; processorFailures: string };
let stack: ChildStack | undefined;

const start = async () => {
  stack = await startChildStack([
    '--no-simulator',
    '--port=0',
    '--ws-port=0',
    `--data-dir=${dataDir}`,
    `--template=${templatePath}`,
    `--log-dir=${logDir}`,
  ]);
  return stack;
};

const post = (events: unknown[]) => postUntilAccepted(() => stack, events);

/** The running stack (a function, so TypeScript does not narrow it across the kill and restart). */
const live = (): ChildStack => {
  if (!stack) throw new Error('no stack is running');
  return stack;
};

const queueUrl = (name: string) => `${live().endpoints.sqs}/000000000000/${name}`;

async function messageCount(sqs: SQSClient, name: string): Promise<number> {
  const response = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl(name), AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(response.Attributes?.ApproximateNumberOfMessages);
}

async function drain(sqs: SQSClient, name: string): Promise<Array<{ payload: unknown }>> {
  const messages: Array<{ payload: unknown }> = [];
  for (;;) {
    const response = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl(name), MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    if (!response.Messages?.length) return messages;
    for (const message of response.Messages) {
      messages.push(JSON.parse(message.Body ?? 'null'));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl(name), ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'streamfold-data-'));
  logDir = mkdtempSync(join(tmpdir(), 'streamfold-e2e-logs-'));
  const template = await synthesizeTemplate({ root: REPO_ROOT });
  templatePath = join(mkdtempSync(join(tmpdir(), 'streamfold-template-')), 'template.json');
  writeFileSync(templatePath, JSON.stringify(template));
  const queue = (prefix: string) => planLocalStack(template).queues.find((q) => q.logicalId.startsWith(prefix))?.name;
  queueNames = { deadLetters: queue('DeadLetterQueue') ?? '', processorFailures: queue('ProcessorFailureQueue') ?? '' };
});

afterAll(async () => {
  await stack?.stop();
});

describe('persistent local stack', () => {
  it('loses nothing and counts nothing twice when killed with SIGKILL mid-run and started again', async () => {
    const { emissions } = generateWorkload({
      network: simNetworkFromFeed(await parseGtfsFeed(DEFAULT_GTFS_DIR)),
      vehicles: 8,
      rate: 1,
      minutes: MINUTES,
      startTime: Date.now() - (MINUTES + 1) * 60_000,
      seed: 7_700,
      duplicates: 0.02,
      outOfOrder: 0.01,
      invalid: 0.02,
    });
    const expected = expectedFold(emissions, TEMPLATE_SETTINGS);
    const chunks = chunkForRest(
      emissions.map((e) => e.event),
      CHUNK,
    );
    const last = [...expected.latest.values()];
    const first = await start();
    const sqs = () => new SQSClient({ ...emulatorClientConfig(live().endpoints.sqs), maxAttempts: 1 });

    const killAt = Math.floor(chunks.length / 2);
    for (const chunk of chunks.slice(0, killAt)) await post(chunk);
    // Processing is under way (some states are written) and dead letters are queued when the kill comes.
    const someVehicle = last[0]?.vehicleId ?? '';
    await eventually(async () => expect((await fetch(`${first.restUrl}/v1/vehicles/${someVehicle}`)).status).toBe(200));
    const before = sqs();
    const deadLettersBeforeKill = await messageCount(before, queueNames.deadLetters);
    before.destroy();
    const rest = (async () => {
      for (const chunk of chunks.slice(killAt)) await post(chunk);
    })();
    await sleep(300);
    await first.kill();
    stack = undefined;
    // The killed stack had checkpointed its shards: the restart resumes after them, not at TRIM_HORIZON.
    const checkpoints = JSON.parse(readFileSync(join(dataDir, 'kinesis-checkpoints.json'), 'utf8')) as object;
    expect(Object.keys(checkpoints).length).toBeGreaterThan(0);

    await start();
    await rest;

    await eventually(() => expectLatestStates(live().restUrl, expected), 120_000, 1_000);
    await expectServedWindows(live().restUrl, expected);

    expect(deadLettersBeforeKill).toBeGreaterThan(0);
    const after = sqs();
    // Dead letters are at least once (a request retried across the kill may dead-letter an event again):
    // every invalid event is there, those queued before the kill included, and nothing else.
    const deadLetters = await drain(after, queueNames.deadLetters);
    const invalid = emissions.filter((e) => !validateVehiclePosition(e.event, TEMPLATE_SETTINGS, Date.now()).ok);
    expect(deadLetters.length).toBeGreaterThanOrEqual(invalid.length);
    expect(new Set(deadLetters.map((d) => JSON.stringify(d.payload)))).toEqual(
      new Set(invalid.map((e) => JSON.stringify(e.event))),
    );
    expect(await drain(after, queueNames.processorFailures)).toEqual([]);
    after.destroy();
  });
});
