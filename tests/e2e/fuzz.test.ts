/**
 * Property-based fuzzing of every way into the local stack, with fast-check: ingest bodies through the
 * real REST API, raw records on the input stream through the AWS SDK, records on the Kafka topic (when a
 * broker can run, as in kafka.test.ts), and WebSocket frames, some on a raw socket. The stack runs in a
 * child process, so an input that crashes it fails an assertion instead of the test runner.
 *
 * Seeded: the seed is printed, and `STREAMFOLD_FUZZ_SEED=<seed>` replays a run. Each category has a fixed
 * count (together at least 10,000 inputs); `STREAMFOLD_FUZZ_BUDGET_MS` bounds the time spent sending.
 *
 * Properties, per input: no 5xx from REST; the process stays up and /health answers; every stream record
 * is processed (each shard's and partition's position reaches the end, no failure queue holds a message);
 * every event the contract rejects, and every record that cannot be decoded or holds no event, is in the
 * dead-letter queue with its reason (matched by tag, index or record position); every accepted event is in
 * the read models (its vehicle's state, its route's window counts), predicted from a tally of what was
 * generated and what the pipeline said it accepted; every WebSocket frame is answered, and a frame that
 * breaks the protocol closes only its own connection. All ids start with a per-seed prefix.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJava, resolveKafkaClasspath } from '../../local/runtime/kafka-broker.js';
import { DEFAULT_KAFKA_TOPIC } from '../../local/simulate.js';
import { vehiclePositionFamily } from '../../pipelines/transit/events/formats.js';
import { encodeConfluentAvro } from '../../shared/events/wire-format.js';
import { idempotentProducer, kafkaClient } from '../../shared/kafka/client.js';
import { MAX_TOPICS_PER_CONNECTION } from '../../shared/websocket/connection-routes.js';
import {
  type AvroEncoder,
  type BuiltBody,
  type BuiltRecord,
  bodyArb,
  buildBody,
  buildRecord,
  EventBuilder,
  type EventCase,
  type FrameSpec,
  type FuzzContext,
  frameArb,
  type HostileFrameSpec,
  hostileFrameArb,
  type PoolFix,
  recordArb,
} from '../helpers/fuzz-arbitraries.js';
import { Findings } from '../helpers/fuzz-findings.js';
import { webSocketUrl } from '../helpers/local-stack.js';
import { sendRawFrame } from '../helpers/raw-websocket.js';
import { type ReceivedMessage, type StackProcess, startStackProcess } from '../helpers/stack-process.js';
import { judgeReply, ReplyClient } from '../helpers/ws-reply-client.js';

/** Inputs per category: together at least 10,000 without Kafka. */
const COUNTS = { rest: 2_000, kinesis: 6_500, wsFrames: 1_400, wsHostile: 100, kafka: 300 };
const SEED = process.env.STREAMFOLD_FUZZ_SEED ? Number(process.env.STREAMFOLD_FUZZ_SEED) : Date.now() % 2_147_483_647;
/** Time for sending every input; what is left unsent when it runs out fails the budget test. */
const BUDGET_MS = Number(process.env.STREAMFOLD_FUZZ_BUDGET_MS ?? 120_000);
/** Time the stream mappings get to reach the end of what was put, after the last input. */
const DRAIN_MS = 30_000;
/** Time the ingest's records get to be processed before the stream inputs start. */
const REST_DRAIN_MS = 20_000;
/** Time for the frames that may break the WebSocket server, sent last. */
const HOSTILE_BUDGET_MS = 20_000;
const REST_CONCURRENCY = 6;
const WS_CONNECTIONS = 6;
const HEALTH_EVERY = 250;
const MAX_SQS_MESSAGE_BYTES = 256 * 1024;
/** Characters SQS accepts in a message body. */
const SQS_BODY_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

const findings = new Findings();
const tally = {
  sent: { rest: 0, kinesis: 0, kafka: 0, wsFrames: 0, wsHostile: 0 },
  unsent: 0,
  restEvents: 0,
  streamCandidates: 0,
  accepted: 0,
  rejected: 0,
  deadLettersExpected: 0,
  deadLettersFound: 0,
  deadLettersMatched: 0,
  readModelChecks: 0,
  readModelSkipped: 0,
  restDrainBehind: '',
  hostileSkipped: 0,
  phaseMs: {} as Record<string, number>,
  healthChecks: 0,
  kafka: 'not started',
  sendMs: 0,
};

let stack: StackProcess;
let producer: Producer | undefined;
const ctx: FuzzContext = {
  prefix: `FZ${SEED.toString(36)}`,
  t0: Date.now() - 90_000,
  vehicles: 40,
  routes: 6,
};
const started = Date.now();
let sendDeadline = 0;

const avro: AvroEncoder = (event, version) => encodeConfluentAvro(event, vehiclePositionFamily, version);

/** Pool fixes the API or stream accepted, and solo vehicles whose one accepted event must show. */
const acceptedPool: PoolFix[] = [];
const acceptedSolo: { vehicleId: string; eventId?: string; what: string; size: number }[] = [];
/** Dead letters the contract requires, as matching keys (several inputs may share a key). */
const expectedRestDead = new Map<string, { count: number; what: string; size: number; index: number; text: string }>();
const expectedStreamDead = new Map<string, { what: string; size: number; partition: string; position: bigint }>();
/** Candidate events of the streams whose fate is known only from the dead-letter queue. */
const streamCandidates = new Map<string, { case: EventCase; size: number; partition: string; position: bigint }>();
/** Every stream record put, with where it landed. */
const streamRecords: { partition: string; position: bigint; record: BuiltRecord }[] = [];
/** Per Kinesis shard and Kafka partition: the last sequence number / offset put. */
const lastKinesis = new Map<string, bigint>();
const lastKafka = new Map<string, bigint>();
/** Stream records that were never processed or were given up on: judged by the stuck-shard test only. */
const excluded = new Set<string>();
/** Vehicles and route windows that an excluded record may or may not have reached: not checked exactly. */
const uncertainVehicles = new Set<string>();
const uncertainWindows = new Set<string>();
const windowKeyOf = (routeId: string, ts: number) => `${routeId}|${Math.floor(ts / 60_000) * 60_000}`;
/** Per shard, the marker put after the last ingest body: the ingest's records lie before it. */
let restMarks = new Map<string, bigint>();
let restUnchecked = false;
const recordKey = (partition: string, position: bigint) => `${partition}|${position}`;

const exitNote = () => `stack process exited ${JSON.stringify(stack.exited())}: ${stack.stderrTail().slice(-600)}`;

async function healthy(): Promise<string | undefined> {
  tally.healthChecks += 1;
  if (stack.exited()) return exitNote();
  try {
    const response = await fetch(`${stack.restUrl}/health`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status === 200 ? undefined : `GET /health answered ${response.status}`;
  } catch (error) {
    return `GET /health failed: ${(error as Error).message}${stack.exited() ? `; ${exitNote()}` : ''}`;
  }
}

async function checkHealth(after: string, size: number): Promise<void> {
  const problem = await healthy();
  if (problem) findings.add('process-down', { input: after, size, observed: problem });
}

async function pool<T>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const index = next++;
        if (index >= items.length) return;
        await work(items[index] as T, index);
      }
    }),
  );
}

const normalize = (text: string) => {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
};
const digest = (text: string) => createHash('sha1').update(text).digest('hex');
/** Dead letters of the ingest are matched by tag, else by index and the payload's text. */
const restKey = (index: number, c: Pick<EventCase, 'tag' | 'text'>) =>
  c.tag ? `tag:${c.tag}` : `idx:${index}|${digest(normalize(c.text))}`;
const streamKey = (partition: string, position: bigint, index: number | undefined) =>
  `${partition}|${position}|${index ?? ''}`;

function expectRestDead(index: number, c: EventCase) {
  const key = restKey(index, c);
  const entry = expectedRestDead.get(key) ?? { count: 0, what: c.what, size: c.text.length, index, text: c.text };
  entry.count += 1;
  expectedRestDead.set(key, entry);
  tally.deadLettersExpected += 1;
}

function noteAccepted(c: EventCase, size: number) {
  tally.accepted += 1;
  if (c.pool) acceptedPool.push(c.pool);
  else if (c.solo) acceptedSolo.push({ ...c.solo, what: c.what, size });
}

// ---------------------------------------------------------------------------------------------------------
// Sending

interface IngestAnswer {
  accepted?: number;
  rejected?: number;
  errors?: { index: number; field: string; reason: string }[];
}

async function sendRestBody(built: BuiltBody): Promise<void> {
  const size = built.body.length;
  let status: number;
  let answer: IngestAnswer = {};
  try {
    const response = await fetch(`${stack.restUrl}/v1/events`, {
      method: 'POST',
      headers: { 'x-api-key': stack.apiKey, 'content-type': 'application/json' },
      body: built.body,
      signal: AbortSignal.timeout(35_000),
    });
    status = response.status;
    const text = await response.text();
    try {
      answer = JSON.parse(text) as IngestAnswer;
    } catch {
      answer = {};
    }
  } catch (error) {
    findings.add('process-down', { input: built.what, size, observed: `POST failed: ${(error as Error).message}` });
    return;
  } finally {
    tally.sent.rest += 1;
  }
  for (const c of built.events ?? []) register(c, `body answered ${status}`);
  if (status >= 500) {
    findings.add('rest-5xx', {
      input: built.what,
      size,
      observed: `${status} ${JSON.stringify(answer).slice(0, 160)}`,
    });
    return;
  }
  if (!built.events) {
    if (status !== built.expectStatus) {
      findings.add('rest-status', { input: built.what, size, observed: `${status}, contract: ${built.expectStatus}` });
    }
    return;
  }
  const events = built.events;
  tally.restEvents += events.length;
  const rejectedAt = new Map<number, string>();
  for (const e of answer.errors ?? []) rejectedAt.set(e.index, `${e.field}: ${e.reason}`);
  const accepted = events.length - rejectedAt.size;
  const want = rejectedAt.size === 0 ? 202 : accepted === 0 ? 400 : 207;
  if (status !== want || (status !== 202 && !Array.isArray(answer.errors))) {
    findings.add('rest-status', {
      input: built.what,
      size,
      observed: `${status} for ${accepted} accepted of ${events.length}, contract: ${want}`,
    });
    if (![202, 207, 400].includes(status)) return;
  }
  events.forEach((c, index) => {
    const reason = rejectedAt.get(index);
    register(c, reason === undefined ? `accepted (${status})` : `rejected (${status}): ${reason}`);
    if (reason === undefined) {
      if (c.verdict === 'reject') {
        findings.add('verdict-accepted', {
          input: `REST ${c.what}`,
          size: c.text.length,
          observed: 'accepted (202/207)',
        });
      }
      noteAccepted(c, c.text.length);
    } else {
      tally.rejected += 1;
      if (c.verdict === 'accept') {
        findings.add('verdict-rejected', {
          input: `REST ${c.what}`,
          size: c.text.length,
          observed: `rejected: ${reason}`,
        });
      }
      expectRestDead(index, c);
    }
  });
}

async function putKinesis(records: BuiltRecord[]): Promise<void> {
  const streamName = stack.resources[stack.resourceId('InputStream')];
  let chunk: BuiltRecord[] = [];
  let bytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    const batch = chunk;
    chunk = [];
    bytes = 0;
    let pending = batch.map((record, i) => ({ record, i }));
    for (let attempt = 0; attempt < 5 && pending.length > 0; attempt++) {
      const response = await stack.kinesis.send(
        new PutRecordsCommand({
          StreamName: streamName,
          Records: pending.map(({ record }) => ({ Data: record.data, PartitionKey: record.partitionKey })),
        }),
      );
      const retry: typeof pending = [];
      (response.Records ?? []).forEach((entry, j) => {
        const item = pending[j];
        if (!item) return;
        if (entry.ErrorCode || !entry.SequenceNumber || !entry.ShardId) retry.push(item);
        else noteStreamRecord(item.record, entry.ShardId, BigInt(entry.SequenceNumber), lastKinesis);
      });
      pending = retry;
    }
    tally.sent.kinesis += batch.length - pending.length;
    for (const { record } of pending) {
      findings.add('kinesis-put', {
        input: record.what,
        size: record.data.length,
        observed: 'PutRecords kept failing',
      });
    }
  };
  for (const record of records) {
    if (Date.now() > sendDeadline) {
      tally.unsent += 1;
      continue;
    }
    if (chunk.length === 500 || bytes + record.data.length > 4_000_000) await flush();
    chunk.push(record);
    bytes += record.data.length + record.partitionKey.length;
  }
  await flush();
}

function noteStreamRecord(record: BuiltRecord, partition: string, position: bigint, last: Map<string, bigint>) {
  const previous = last.get(partition);
  if (previous === undefined || position > previous) last.set(partition, position);
  const size = record.data.length;
  streamRecords.push({ partition, position, record });
  if (record.recordDeadLetter !== undefined) {
    expectedStreamDead.set(streamKey(partition, position, undefined), {
      what: `${record.what} (${record.recordDeadLetter})`,
      size,
      partition,
      position,
    });
    tally.deadLettersExpected += 1;
    return;
  }
  const many = record.candidates.length > 1;
  record.candidates.forEach((c, i) => {
    register(c, `put on ${partition} at ${position}${many ? ` #${i}` : ''}`);
    tally.streamCandidates += 1;
    streamCandidates.set(streamKey(partition, position, many ? i : undefined), {
      case: c,
      size: c.text.length,
      partition,
      position,
    });
  });
}

async function sendKafka(records: BuiltRecord[]): Promise<void> {
  if (!producer) return;
  for (const [i, record] of records.entries()) {
    if (Date.now() > sendDeadline) {
      tally.unsent += 1;
      continue;
    }
    const tombstone = i % 50 === 49;
    // Keyed by vehicle, as the contract asks of producers: one vehicle's records stay on one partition.
    const [meta] = await producer.send({
      topic: DEFAULT_KAFKA_TOPIC,
      messages: [{ key: record.partitionKey, value: tombstone ? null : record.data }],
    });
    tally.sent.kafka += 1;
    if (!meta?.baseOffset) continue;
    const name = `${DEFAULT_KAFKA_TOPIC}-${meta.partition}`;
    const built: BuiltRecord = tombstone
      ? {
          data: Buffer.alloc(0),
          partitionKey: record.partitionKey,
          what: 'tombstone',
          recordDeadLetter: 'no value',
          candidates: [],
        }
      : record;
    noteStreamRecord(built, name, BigInt(meta.baseOffset), lastKafka);
  }
}

async function sendFrames(frames: FrameSpec[]): Promise<void> {
  const lanes = Array.from({ length: WS_CONNECTIONS }, (_, lane) =>
    frames.filter((_, i) => i % WS_CONNECTIONS === lane),
  );
  await Promise.all(
    lanes.map(async (lane) => {
      let client = new ReplyClient();
      let open = false;
      /** The topics this lane's connection holds, as the contract's replies say. */
      const held = new Set<string>();
      for (const original of lane) {
        const frame = withTopicLimit(original, held);
        if (Date.now() > sendDeadline || stack.exited()) {
          tally.unsent += 1;
          continue;
        }
        const size = frame.kind === 'text' ? Buffer.byteLength(frame.text) : frame.bytes.length;
        if (!open) {
          try {
            client = new ReplyClient();
            await client.open(webSocketUrl(stack));
            open = true;
            held.clear();
          } catch (error) {
            findings.add('ws-reply', {
              input: frame.what,
              size,
              observed: `could not connect: ${(error as Error).message}`,
            });
            tally.unsent += 1;
            continue;
          }
        }
        const reply = await client.send(frame);
        tally.sent.wsFrames += 1;
        const problem =
          reply === undefined
            ? `no reply within 5 s${client.closedWith ? ` (${client.closedWith})` : ''}`
            : judgeReply(frame, reply);
        if (!problem) trackHeldTopics(frame, held);
        if (problem) {
          findings.add('ws-reply', { input: `${frame.kind} frame: ${frame.what}`, size, observed: problem });
          // Replies may now be out of step: start again on a fresh connection.
          client.close();
          open = false;
        }
      }
      if (open) client.close();
    }),
  );
}

/** A subscribe the contract answers with an error because it would take the connection past its topic limit. */
function withTopicLimit(frame: FrameSpec, held: Set<string>): FrameSpec {
  if (frame.kind !== 'text' || frame.expect.type !== 'subscribed') return frame;
  const topics = frame.expect.topics ?? (frame.expect.topic ? [frame.expect.topic] : []);
  const added = topics.filter((topic) => !held.has(topic)).length;
  return held.size + added > MAX_TOPICS_PER_CONNECTION ? { ...frame, expect: { type: 'error' } } : frame;
}

/** Updates what a connection holds after a reply the contract expected. */
function trackHeldTopics(frame: FrameSpec, held: Set<string>): void {
  if (frame.kind !== 'text' || (frame.expect.type !== 'subscribed' && frame.expect.type !== 'unsubscribed')) return;
  const topics = frame.expect.topics ?? (frame.expect.topic ? [frame.expect.topic] : []);
  for (const topic of topics) {
    if (frame.expect.type === 'subscribed') held.add(topic);
    else held.delete(topic);
  }
}

async function sendHostileFrames(frames: HostileFrameSpec[]): Promise<void> {
  for (const frame of frames) {
    if (stack.exited()) {
      // The crash is the finding; what follows it cannot be judged.
      tally.hostileSkipped += 1;
      continue;
    }
    if (Date.now() > sendDeadline) {
      tally.unsent += 1;
      continue;
    }
    const payload =
      frame.kind === 'oversized'
        ? Buffer.from(JSON.stringify({ action: 'subscribe', topic: 'vehicles', padding: 'p'.repeat(frame.bytes) }))
        : Buffer.from(frame.bytes);
    const what =
      frame.kind === 'oversized'
        ? `${frame.binary ? 'binary' : 'text'} frame of ${payload.length} bytes`
        : `text frame with ${frame.what}`;
    const outcome = await sendRawFrame(
      webSocketUrl(stack),
      frame.kind === 'oversized' && frame.binary ? 'binary' : 'text',
      payload,
    );
    tally.sent.wsHostile += 1;
    // Give a crash time to happen before looking.
    await sleep(50);
    if (outcome.kind === 'refused') {
      findings.add('ws-hostile', {
        input: what,
        size: payload.length,
        observed: `connection refused: ${outcome.message}`,
      });
    } else if (outcome.kind === 'open') {
      findings.add('ws-hostile', {
        input: what,
        size: payload.length,
        observed: 'neither answered nor closed within 5 s',
      });
    }
    const problem = await healthy();
    if (problem) findings.add('ws-hostile', { input: what, size: payload.length, observed: problem });
    else {
      const probe = new ReplyClient();
      try {
        await probe.open(webSocketUrl(stack));
        const reply = await probe.send({
          kind: 'text',
          text: '{"action":"subscribe","topic":"vehicles"}',
          what: 'probe',
          expect: { type: 'subscribed', topic: 'vehicles' },
        });
        if (!reply?.includes('"subscribed"')) {
          findings.add('ws-hostile', {
            input: what,
            size: payload.length,
            observed: `a new connection then got ${reply}`,
          });
        }
        probe.close();
      } catch (error) {
        findings.add('ws-hostile', {
          input: what,
          size: payload.length,
          observed: `a new connection failed: ${(error as Error).message}`,
        });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Checking

const inputMappingId = () =>
  stack.kinesisMappings.find((m) => m.streamLogicalId.startsWith('InputStream'))?.logicalId ?? '';

/**
 * Waits until each shard's mapping checkpoint reaches `kinesis` and each Kafka partition's committed offset
 * passes `kafka`; returns what is still behind after `waitMs`.
 */
async function waitForPositions(kinesis: Map<string, bigint>, kafka: Map<string, bigint>, waitMs: number) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (stack.exited()) return [exitNote()];
    const metrics = await stack.metrics();
    const behind: string[] = [];
    for (const shard of metrics.mappings[inputMappingId()] ?? []) {
      const last = kinesis.get(shard.shardId);
      if (last !== undefined && (shard.checkpoint === undefined || BigInt(shard.checkpoint) < last)) {
        behind.push(`${shard.shardId} at ${shard.checkpoint ?? 'nothing'} of ${last}`);
      }
    }
    for (const mapping of Object.values(metrics.kafkaMappings)) {
      for (const [partition, last] of kafka) {
        const committed = mapping.committed[partition];
        if (committed === undefined || BigInt(committed) <= last) {
          behind.push(`${partition} committed ${committed ?? 'nothing'}, last offset ${last}`);
        }
      }
    }
    if (behind.length === 0 || Date.now() > deadline) return behind;
    await sleep(500);
  }
}

/**
 * Puts one valid event on every shard of the input stream (explicit hash keys) and returns the sequence
 * numbers: once the mapping passes them, everything the ingest put before is processed.
 */
async function markShards(): Promise<Map<string, bigint>> {
  const streamName = stack.resources[stack.resourceId('InputStream')];
  const { Shards = [] } = await stack.kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  const marks = new Map<string, bigint>();
  for (const [i, shard] of Shards.entries()) {
    const event = {
      eventId: `${ctx.prefix}-mark-${i}`,
      vehicleId: `${ctx.prefix}-mark-${i}`,
      routeId: `${ctx.prefix}-mark`,
      lat: 52.37,
      lon: 4.9,
      speedKmh: 10,
      headingDeg: 0,
      ts: ctx.t0,
    };
    const { Records = [] } = await stack.kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: [
          {
            Data: Buffer.from(JSON.stringify(event)),
            PartitionKey: 'mark',
            ExplicitHashKey: shard.HashKeyRange?.StartingHashKey ?? '0',
          },
        ],
      }),
    );
    const put = Records[0];
    if (put?.ShardId && put.SequenceNumber) marks.set(put.ShardId, BigInt(put.SequenceNumber));
  }
  return marks;
}

/** After the streams' drain: which records were not reached, and which the mappings gave up on. */
async function checkStreamProgress(behind: string[]): Promise<void> {
  if (behind.length > 0) {
    findings.add('stuck', {
      input: 'the stream inputs',
      size: 0,
      observed: `${DRAIN_MS} ms after the last input still behind: ${behind.join('; ')}`,
    });
  }
  const metrics = await stack.metrics();
  const reached = new Map<string, bigint>();
  for (const shard of metrics.mappings[inputMappingId()] ?? []) {
    reached.set(shard.shardId, shard.checkpoint === undefined ? -1n : BigInt(shard.checkpoint));
  }
  for (const mapping of Object.values(metrics.kafkaMappings)) {
    for (const [partition, committed] of Object.entries(mapping.committed))
      reached.set(partition, BigInt(committed) - 1n);
  }
  const givenUp: { partition: string; from: bigint; to: bigint; queue: string; condition: string }[] = [];
  for (const prefix of ['ProcessorFailureQueue', 'BroadcasterFailureQueue', 'KafkaProcessorFailureQueue']) {
    const id = Object.keys(stack.resources).find((key) => key.startsWith(prefix));
    if (!id) continue;
    for (const message of await stack.drainQueue(id)) {
      const body = message.body as {
        requestContext?: { condition?: string };
        KinesisBatchInfo?: { shardId?: string; startSequenceNumber?: string; endSequenceNumber?: string };
        KafkaBatchInfo?: { recordsInfo?: Record<string, { firstRecordOffset?: string; lastRecordOffset?: string }> };
      };
      const condition = body.requestContext?.condition ?? 'unknown condition';
      const kinesisInfo = body.KinesisBatchInfo;
      if (prefix === 'ProcessorFailureQueue' && kinesisInfo?.shardId && kinesisInfo.startSequenceNumber) {
        givenUp.push({
          partition: kinesisInfo.shardId,
          from: BigInt(kinesisInfo.startSequenceNumber),
          to: BigInt(kinesisInfo.endSequenceNumber ?? kinesisInfo.startSequenceNumber),
          queue: prefix,
          condition,
        });
      } else if (body.KafkaBatchInfo?.recordsInfo) {
        for (const [partition, info] of Object.entries(body.KafkaBatchInfo.recordsInfo)) {
          givenUp.push({
            partition,
            from: BigInt(info.firstRecordOffset ?? '0'),
            to: BigInt(info.lastRecordOffset ?? info.firstRecordOffset ?? '0'),
            queue: prefix,
            condition,
          });
        }
      } else {
        findings.add('stuck-on-failure', {
          input: `a batch of ${prefix.replace('FailureQueue', '')}`,
          size: message.bytes,
          observed: `on-failure message: ${message.raw.slice(0, 300)}`,
        });
      }
    }
  }
  const unsure = (record: BuiltRecord) => {
    for (const c of record.candidates) {
      if (c.pool) {
        uncertainVehicles.add(c.pool.vehicleId);
        uncertainWindows.add(windowKeyOf(c.pool.routeId, c.pool.ts));
      }
      if (c.solo) uncertainVehicles.add(c.solo.vehicleId);
    }
  };
  for (const [shardId, mark] of restMarks) {
    if (mark > (reached.get(shardId) ?? -1n)) {
      findings.add('stuck', {
        input: 'the events the ingest accepted',
        size: 0,
        observed: `${shardId} never reached the marker after the last ingest body: REST read models not checked`,
      });
      restUnchecked = true;
    }
  }
  for (const g of givenUp) {
    if (!streamRecords.some((r) => r.partition === g.partition && r.position >= g.from && r.position <= g.to)) {
      // Records the fuzzer did not put itself: the ingest's, from the REST bodies.
      findings.add('stuck-given-up', {
        input: `records the ingest put on ${g.partition} (REST bodies)`,
        size: 0,
        observed: `sent to ${g.queue} (${g.condition}), ${g.from === g.to ? 'alone' : 'in a batch'}: ${g.from}..${g.to}`,
      });
    }
  }
  for (const { partition, position, record } of streamRecords) {
    const failed = givenUp.find((g) => g.partition === partition && position >= g.from && position <= g.to);
    if (failed) {
      excluded.add(recordKey(partition, position));
      unsure(record);
      const batch = failed.to === failed.from ? 'alone' : 'in a batch';
      findings.add('stuck-given-up', {
        input: record.what,
        size: record.data.length,
        observed: `sent to ${failed.queue} ${batch} (${failed.condition}), no dead letter with a reason`,
      });
    } else if (position > (reached.get(partition) ?? -1n)) {
      excluded.add(recordKey(partition, position));
      unsure(record);
      findings.add('stuck-unprocessed', {
        input: record.what,
        size: record.data.length,
        observed: `not processed ${DRAIN_MS} ms after the last input (${partition} behind)`,
      });
    }
  }
}

function checkDeadLetterShape(message: ReceivedMessage): void {
  const body = message.body as { source?: unknown; reason?: unknown; errors?: unknown; receivedAt?: unknown };
  const problems: string[] = [];
  if (typeof body?.reason !== 'string' || body.reason.length === 0) problems.push('no reason');
  if (!Array.isArray(body?.errors) || body.errors.length === 0) problems.push('no errors');
  if (body?.source !== 'ingest' && body?.source !== 'processor') problems.push(`source ${String(body?.source)}`);
  if (message.bytes > MAX_SQS_MESSAGE_BYTES) problems.push('over the 256 KiB SQS limit');
  if (!SQS_BODY_CHARS.test(message.raw)) problems.push('characters SQS refuses');
  if (problems.length > 0) {
    // Grouped by what is wrong, so each kind of problem shows among the kinds.
    findings.add('dlq-shape', {
      input: `${String(body?.source)} dead letter: ${problems.join(', ')}`,
      size: message.bytes,
      observed: `${message.bytes} B: ${message.raw.slice(0, 160)}`,
    });
  }
}

async function checkDeadLetters(): Promise<void> {
  const messages = await stack.drainQueue(stack.resourceId('DeadLetterQueue'), 3_000);
  tally.deadLettersFound = messages.length;
  const foundRest = new Map<string, number>();
  /** Ingest dead letters whose payload the contract replaced by a note: matched by index and preview. */
  const truncatedRest: Array<{ index: number | undefined; prefix: string }> = [];
  const foundStream = new Map<string, string>();
  for (const message of messages) {
    checkDeadLetterShape(message);
    const body = message.body as {
      source?: string;
      reason?: string;
      index?: number;
      payload?: unknown;
      record?: { partition?: string; position?: string; shardId?: string; sequenceNumber?: string };
    };
    if (body?.source === 'ingest') {
      const payload = body.payload as { fuzzTag?: unknown; truncated?: boolean; preview?: string } | null;
      const previewTag =
        typeof payload?.preview === 'string' ? /^\{"fuzzTag":"([^"]+)"/.exec(payload.preview)?.[1] : undefined;
      const tag = typeof payload?.fuzzTag === 'string' ? payload.fuzzTag : previewTag;
      // The payload as the ingest wrote it (re-serializing a deep one here could overflow the stack).
      const start = message.raw.indexOf('"payload":');
      const end = message.raw.lastIndexOf(',"receivedAt":');
      let text: string;
      if (start >= 0 && end > start) text = message.raw.slice(start + '"payload":'.length, end);
      else {
        try {
          text = JSON.stringify(payload);
        } catch {
          text = message.raw;
        }
      }
      if (!tag && payload?.truncated === true && typeof payload.preview === 'string') {
        // The preview is the payload's JSON text, cut for size, with levels past the nesting limit as "…".
        truncatedRest.push({ index: body.index, prefix: payload.preview.split('"…"')[0] ?? '' });
        continue;
      }
      const key = tag ? `tag:${tag}` : `idx:${body.index}|${digest(text)}`;
      foundRest.set(key, (foundRest.get(key) ?? 0) + 1);
    } else if (body?.source === 'processor' && body.record) {
      const partition = body.record.partition ?? body.record.shardId ?? '';
      const [position, index] = (body.record.position ?? body.record.sequenceNumber ?? '').split('#');
      if (!position || !/^\d+$/.test(position)) continue;
      // Dead letters are at least once: a retried batch sends them again.
      foundStream.set(
        streamKey(partition, BigInt(position), index === undefined ? undefined : Number(index)),
        body.reason ?? '',
      );
    }
  }
  for (const [key, expected] of expectedRestDead) {
    let found = foundRest.get(key) ?? 0;
    while (found < expected.count) {
      const text = normalize(expected.text);
      const match = truncatedRest.findIndex((t) => t.index === expected.index && text.startsWith(t.prefix));
      if (match < 0) break;
      truncatedRest.splice(match, 1);
      found += 1;
    }
    tally.deadLettersMatched += Math.min(found, expected.count);
    if (found < expected.count) {
      findings.add('dlq-missing', {
        input: `REST ${expected.what}`,
        size: expected.size,
        observed: 'rejected by the API, no dead letter',
      });
    }
  }
  for (const [key, expected] of expectedStreamDead) {
    if (excluded.has(recordKey(expected.partition, expected.position))) continue;
    if (foundStream.has(key)) tally.deadLettersMatched += 1;
    else
      findings.add('dlq-missing', {
        input: `stream ${expected.what}`,
        size: expected.size,
        observed: 'no dead letter for the record',
      });
  }
  for (const [key, { case: c, size, partition, position }] of streamCandidates) {
    if (excluded.has(recordKey(partition, position))) continue;
    const reason = foundStream.get(key);
    if (reason !== undefined) {
      tally.rejected += 1;
      tally.deadLettersMatched += 1;
      if (c.verdict === 'accept')
        findings.add('verdict-rejected', {
          input: `stream ${c.what}`,
          size,
          observed: `dead-lettered: ${reason.slice(0, 160)}`,
        });
      continue;
    }
    if (c.verdict === 'reject') {
      tally.deadLettersExpected += 1;
      wronglyAccepted.push({ c, size });
      continue;
    }
    noteAccepted(c, size);
  }
}

/** Events with an explicit id, by id: what they were and what became of them (to explain a read model). */
const registry = new Map<string, { what: string; routeId: unknown; fate: string }>();

function register(c: EventCase, fate: string): void {
  if (c.text.length > 10_000) return;
  try {
    const event = JSON.parse(c.text) as { eventId?: unknown; routeId?: unknown };
    if (typeof event.eventId === 'string') registry.set(event.eventId, { what: c.what, routeId: event.routeId, fate });
  } catch {
    // not an object with an id: nothing to register
  }
}

/**
 * For a route window that does not hold what was accepted: the events its vehicles' windows hold that the
 * tally does not expect there (with what the API said of them), and how many it expects that are absent.
 */
async function explainWindow(routeId: string, windowStart: number, channel: string): Promise<string> {
  const table = stack.resources[stack.resourceId('WindowsTable')];
  const expectedIds = new Set(
    acceptedPool
      .filter((f) => f.routeId === routeId && Math.floor(f.ts / 60_000) * 60_000 === windowStart)
      .map((f) => f.eventId),
  );
  const extras: string[] = [];
  const held = new Set<string>();
  let unknown = 0;
  let present = 0;
  for (let n = 0; n < ctx.vehicles; n++) {
    const vehicleId = `${ctx.prefix}-${channel}-V${n}`;
    const { Item } = await stack.dynamo.send(
      new GetCommand({ TableName: table, Key: { pk: `VEHICLE#${vehicleId}`, windowStart } }),
    );
    for (const eventId of Object.keys((Item?.eventIds ?? {}) as Record<string, string>)) {
      held.add(eventId);
      const known = registry.get(eventId);
      if (!known) {
        unknown += 1;
        continue;
      }
      if (known.routeId !== routeId) continue;
      if (expectedIds.has(eventId)) present += 1;
      else extras.push(`${eventId} (${known.what}; ${known.fate})`);
    }
  }
  const explicit = [...expectedIds].filter(Boolean).length;
  const missing = [...expectedIds]
    .filter((id) => id && !held.has(id))
    .map((id) => `${id} (${registry.get(id!)?.what})`);
  return `vehicle windows hold ${present} of ${explicit} expected explicit ids, ${extras.length} unexpected: ${extras.slice(0, 4).join(', ')}; missing: ${missing.slice(0, 4).join(', ')}; ${unknown} derived ids`;
}

/** Stream events the contract rejects that left no dead letter: accepted (their vehicle shows) or lost. */
const wronglyAccepted: { c: EventCase; size: number }[] = [];

async function classifyMissingStreamDeadLetters(): Promise<void> {
  await pool(wronglyAccepted, 6, async ({ c, size }) => {
    const state = c.vehicleId ? await getJson(`/v1/vehicles/${encodeURIComponent(c.vehicleId)}`) : undefined;
    if (state?.status === 200) {
      findings.add('verdict-accepted', {
        input: `stream ${c.what}`,
        size,
        observed: `folded: ${c.vehicleId} has a state`,
      });
    } else {
      findings.add('dlq-missing', {
        input: `stream ${c.what}`,
        size,
        observed: 'rejected by the contract, neither dead-lettered nor folded',
      });
    }
  });
}

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${stack.restUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}

async function checkReadModels(): Promise<void> {
  const latest = new Map<string, PoolFix>();
  const windows = new Map<
    string,
    { routeId: string; windowStart: number; count: number; min: number; max: number; vehicles: Set<string> }
  >();
  for (const fix of acceptedPool) {
    if (restUnchecked && fix.vehicleId.includes('-rest-')) continue;
    const current = latest.get(fix.vehicleId);
    if (!current || fix.ts > current.ts) latest.set(fix.vehicleId, fix);
    const windowStart = Math.floor(fix.ts / 60_000) * 60_000;
    const key = `${fix.routeId}|${windowStart}`;
    const w = windows.get(key) ?? {
      routeId: fix.routeId,
      windowStart,
      count: 0,
      min: Infinity,
      max: -Infinity,
      vehicles: new Set(),
    };
    w.count += 1;
    w.min = Math.min(w.min, fix.speedKmh);
    w.max = Math.max(w.max, fix.speedKmh);
    w.vehicles.add(fix.vehicleId);
    windows.set(key, w);
  }
  const certain = (fix: PoolFix) => !uncertainVehicles.has(fix.vehicleId);
  tally.readModelSkipped += [...latest.values()].filter((f) => !certain(f)).length;
  await pool([...latest.values()].filter(certain), 6, async (fix) => {
    tally.readModelChecks += 1;
    const { status, body } = await getJson(`/v1/vehicles/${encodeURIComponent(fix.vehicleId)}`);
    const state = body as Partial<PoolFix>;
    const same =
      status === 200 &&
      state.ts === fix.ts &&
      state.lat === fix.lat &&
      state.lon === fix.lon &&
      (!fix.eventId || state.eventId === fix.eventId);
    if (!same) {
      findings.add('read-model', {
        input: `latest accepted fix of ${fix.vehicleId}`,
        size: 0,
        observed: `GET /v1/vehicles answered ${status} ${JSON.stringify(body).slice(0, 200)}, expected ts ${fix.ts} lat ${fix.lat}`,
      });
    }
  });
  const from = Math.min(...[...windows.values()].map((w) => w.windowStart));
  const routes = [...new Set([...windows.values()].map((w) => w.routeId))];
  await pool(routes, 6, async (routeId) => {
    const { status, body } = await getJson(
      `/v1/routes/${encodeURIComponent(routeId)}/metrics?from=${from}&to=${Date.now()}&limit=500`,
    );
    const items = ((body as { items?: unknown[] }).items ?? []) as {
      windowStart: number;
      count: number;
      minSpeedKmh: number;
      maxSpeedKmh: number;
      distinctVehicles: number;
    }[];
    const wanted = [...windows.values()].filter((w) => w.routeId === routeId);
    for (const w of wanted) {
      if (uncertainWindows.has(`${w.routeId}|${w.windowStart}`)) {
        tally.readModelSkipped += 1;
        continue;
      }
      tally.readModelChecks += 1;
      const served = items.find((i) => i.windowStart === w.windowStart);
      const same =
        status === 200 &&
        served &&
        served.count === w.count &&
        served.minSpeedKmh === w.min &&
        served.maxSpeedKmh === w.max &&
        served.distinctVehicles === w.vehicles.size;
      if (!same) {
        const channel = routeId.slice(ctx.prefix.length + 1).split('-')[0] ?? '';
        const why = await explainWindow(routeId, w.windowStart, channel).catch((e: Error) => e.message);
        findings.add('read-model', {
          input: `${w.count} accepted events of ${routeId} in window ${w.windowStart}`,
          size: 0,
          observed: `served ${status} count ${served?.count} min ${served?.minSpeedKmh} max ${served?.maxSpeedKmh} vehicles ${served?.distinctVehicles}, expected ${w.count} ${w.min} ${w.max} ${w.vehicles.size}; ${why}`,
        });
      }
    }
    for (const served of items) {
      if (uncertainWindows.has(`${routeId}|${served.windowStart}`)) continue;
      if (!wanted.some((w) => w.windowStart === served.windowStart)) {
        findings.add('read-model', {
          input: `no accepted event of ${routeId} in window ${served.windowStart}`,
          size: 0,
          observed: `served ${JSON.stringify(served).slice(0, 160)}`,
        });
      }
    }
  });
  const solos = acceptedSolo.filter(
    (s) => !uncertainVehicles.has(s.vehicleId) && !(restUnchecked && s.vehicleId.includes('-rest-')),
  );
  tally.readModelSkipped += acceptedSolo.length - solos.length;
  await pool(solos, 6, async (solo) => {
    tally.readModelChecks += 1;
    const { status, body } = await getJson(`/v1/vehicles/${encodeURIComponent(solo.vehicleId)}`);
    const state = body as { eventId?: string };
    if (status !== 200 || (solo.eventId && state.eventId !== solo.eventId)) {
      findings.add('read-model', {
        input: `accepted ${solo.what}`,
        size: solo.size,
        observed: `GET /v1/vehicles/${solo.vehicleId} answered ${status} ${JSON.stringify(body).slice(0, 160)}`,
      });
    }
  });
}

async function kafkaOption(): Promise<true | { brokers: string[] } | undefined> {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS.split(',') };
  try {
    await findJava();
    await resolveKafkaClasspath();
    return true;
  } catch (error) {
    tally.kafka = `no broker: ${(error as Error).message.slice(0, 120)}`;
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  console.log(`fuzz seed ${SEED} (replay: STREAMFOLD_FUZZ_SEED=${SEED}); ids start with ${ctx.prefix}`);
  const sample = <T>(arb: fc.Arbitrary<T>, numRuns: number, offset: number) =>
    fc.sample(arb, { seed: SEED + offset, numRuns });
  const bodySpecs = sample(bodyArb, COUNTS.rest, 0);
  const recordSpecs = sample(recordArb, COUNTS.kinesis, 1);
  const kafkaSpecs = sample(recordArb, COUNTS.kafka, 2);
  const frameSpecs = sample(frameArb, COUNTS.wsFrames, 3);
  const hostileSpecs = sample(hostileFrameArb, COUNTS.wsHostile, 4);

  const kafka = await kafkaOption();
  stack = await startStackProcess(kafka ? { kafka } : {});
  if (kafka && stack.kafkaBrokers.length > 0) {
    producer = idempotentProducer(kafkaClient({ brokers: stack.kafkaBrokers, clientId: 'streamfold-fuzz' }));
    await producer.connect();
    tally.kafka = `broker ${stack.kafkaBrokers.join(',')}`;
  }
  const sendStart = Date.now();
  sendDeadline = sendStart + BUDGET_MS;
  let phaseStart = Date.now();
  const mark = (phase: string) => {
    tally.phaseMs[phase] = Date.now() - phaseStart;
    phaseStart = Date.now();
  };
  tally.phaseMs.start = stack.startupMs;

  const rest = new EventBuilder(ctx, 'rest');
  const bodies = bodySpecs.map((spec) => buildBody(spec, rest));
  await pool(bodies, REST_CONCURRENCY, async (body, i) => {
    if (Date.now() > sendDeadline) {
      tally.unsent += 1;
      return;
    }
    await sendRestBody(body);
    if (stack.exited())
      findings.add('process-down', { input: body.what, size: body.body.length, observed: exitNote() });
    else if (i % HEALTH_EVERY === 0) await checkHealth(body.what, body.body.length);
  });
  await checkHealth('the last ingest body', 0);
  if (!stack.exited()) {
    restMarks = await markShards();
    // Not a failure by itself: the final check is that the mapping passed these markers by the end.
    tally.restDrainBehind = (await waitForPositions(restMarks, new Map(), REST_DRAIN_MS)).join('; ');
  }
  mark('rest');

  const kinesisEvents = new EventBuilder(ctx, 'kinesis');
  await putKinesis(recordSpecs.map((spec) => buildRecord(spec, kinesisEvents, avro)));
  const kafkaEvents = new EventBuilder(ctx, 'kafka');
  await sendKafka(kafkaSpecs.map((spec) => buildRecord(spec, kafkaEvents, avro)));
  await checkHealth('the last stream record', 0);
  mark('streams');

  await sendFrames(frameSpecs);
  await checkHealth('the last WebSocket frame', 0);
  tally.sendMs = Date.now() - sendStart;
  mark('websocket');

  const behind = await waitForPositions(lastKinesis, lastKafka, DRAIN_MS);
  if (!stack.exited()) {
    await checkStreamProgress(behind);
    await checkDeadLetters();
    await classifyMissingStreamDeadLetters();
    await checkReadModels();
  }
  mark('drain and checks');
  // Last, since a frame that breaks the protocol may take the process down.
  sendDeadline = Date.now() + HOSTILE_BUDGET_MS;
  await sendHostileFrames(hostileSpecs);
  await checkHealth('the last hostile frame', 0);
  mark('hostile frames');

  console.log(
    [
      `fuzz tally (seed ${SEED}, ${Math.round((Date.now() - started) / 1000)} s, stack start ${stack.startupMs} ms, sending ${tally.sendMs} ms):`,
      `  inputs: REST bodies ${tally.sent.rest}, Kinesis records ${tally.sent.kinesis}, Kafka records ${tally.sent.kafka} (${tally.kafka}), WebSocket frames ${tally.sent.wsFrames}, hostile frames ${tally.sent.wsHostile}; unsent (budget) ${tally.unsent}`,
      `  events: ${tally.restEvents} in REST bodies, ${tally.streamCandidates} in stream records; accepted ${tally.accepted}, rejected ${tally.rejected}`,
      `  dead letters: expected ${tally.deadLettersExpected}, found ${tally.deadLettersFound}, matched ${tally.deadLettersMatched}`,
      `  phases (ms): ${JSON.stringify(tally.phaseMs)}; hostile frames not sent after a crash ${tally.hostileSkipped}`,
      `  read-model checks ${tally.readModelChecks}, skipped for unprocessed records ${tally.readModelSkipped} (pool fixes ${acceptedPool.length}, solo vehicles ${acceptedSolo.length}); health checks ${tally.healthChecks}`,
    ].join('\n'),
  );
  const file = join(tmpdir(), `streamfold-fuzz-${SEED}.json`);
  writeFileSync(file, JSON.stringify({ seed: SEED, tally, findings }, null, 2));
  console.log(`fuzz findings: ${file}`);
}, 400_000);

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await stack?.stop();
});

describe(`fuzzing every way in (seed ${SEED})`, () => {
  it('sends at least 10,000 generated inputs within its time budget', () => {
    const { rest, kinesis, kafka, wsFrames, wsHostile } = tally.sent;
    expect(tally.unsent).toBe(0);
    expect(rest + kinesis + kafka + wsFrames + wsHostile + tally.hostileSkipped).toBeGreaterThanOrEqual(10_000);
  });

  it('answers every ingest body without a 5xx', () => {
    expect(findings.report('rest-5xx')).toEqual([]);
  });

  it('answers every ingest body with the status the contract gives it', () => {
    expect(findings.report('rest-status')).toEqual([]);
  });

  it('accepts and rejects each event as the contract says', () => {
    expect(findings.report('verdict-')).toEqual([]);
  });

  it('keeps the stack process up, /health answering, after every input', () => {
    expect(findings.report('process-down')).toEqual([]);
  });

  it('processes every stream record: no shard or partition is left behind, no failure queue holds a message', () => {
    expect(findings.report('stuck', 'kinesis-put')).toEqual([]);
  });

  it('dead-letters every rejected event and every record without an event, with a reason, within SQS limits', () => {
    expect(findings.report('dlq-')).toEqual([]);
  });

  it('folds every accepted event into its vehicle state and its route windows', () => {
    expect(tally.readModelChecks).toBeGreaterThan(0);
    expect(findings.report('read-model')).toEqual([]);
  });

  it('answers every WebSocket frame with the reply the contract gives it', () => {
    expect(findings.report('ws-reply')).toEqual([]);
  });

  it('closes only the connection of an oversized or invalid UTF-8 frame and keeps serving', () => {
    expect(findings.report('ws-hostile')).toEqual([]);
  });
});
