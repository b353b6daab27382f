/**
 * Delivery of simulator emissions: to the REST ingest (`POST {target}/v1/events`) or straight onto a
 * Kinesis stream, paced by each emission's `sendAtMs` scaled by a speedup factor.
 */
import { KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';

/** What happened to one batch. */
export interface SendResult {
  /** Events the endpoint took. */
  accepted: number;
  /** Events the endpoint refused as invalid (REST 207/400); expected for injected invalid events. */
  rejected: number;
  /** Events that could not be delivered after every retry. */
  failed: number;
  /** Rejection details as the endpoint returned them (first few per batch). */
  rejections: unknown[];
}

/**
 * What a sender delivers: an event (as sent: invalid ones too), when to send it (`sendAtMs` after the
 * start of the run), and the partition key that keeps its entity's events in order (Kinesis, Kafka).
 */
export interface Delivery {
  sendAtMs: number;
  event: unknown;
  key: string;
}

export interface Sender {
  /** Largest batch one `send` call accepts. */
  readonly maxBatch: number;
  send(batch: Delivery[]): Promise<SendResult>;
}

export interface RetryOptions {
  /** Attempts including the first. @default 6 */
  maxAttempts?: number;
  /** Base of the exponential backoff in ms. @default 100 */
  baseDelayMs?: number;
}

export interface RestSenderOptions extends RetryOptions {
  /** Base URL, e.g. `http://127.0.0.1:3000` or the API Gateway stage URL. */
  target: string;
  /** Sent as `x-api-key`. */
  apiKey: string;
  /** The ingest path: `/v1/<pipeline>/events` (transit also takes its events at `/v1/events`). @default '/v1/events' */
  path?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

export interface KinesisSenderOptions extends RetryOptions {
  streamName: string;
  /** @default a client with endpoint from `AWS_ENDPOINT_URL_KINESIS` */
  client?: KinesisClient;
}

/** The ingest API's limits: 500 events and 1 MB per request. */
export const REST_MAX_EVENTS = 500;
export const REST_MAX_BYTES = 1_000_000;
const KINESIS_MAX_RECORDS = 500;

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
/** Full-jitter exponential backoff for attempt `attempt` (1-based retries). */
export const backoff = (attempt: number, base: number) => Math.random() * base * 2 ** attempt;
const MAX_REJECTIONS_KEPT = 5;

/** Splits events into request bodies within the ingest limits (count and serialized size). */
export function chunkForRest(events: unknown[], maxEvents = REST_MAX_EVENTS, maxBytes = REST_MAX_BYTES): unknown[][] {
  const chunks: unknown[][] = [];
  let current: unknown[] = [];
  let bytes = '{"events":[]}'.length;
  for (const event of events) {
    const size = Buffer.byteLength(JSON.stringify(event) ?? 'null') + 1;
    if (current.length > 0 && (current.length >= maxEvents || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = '{"events":[]}'.length;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Reads the rejected count out of a 207/400 body without assuming more than an array or a count. */
function rejectionsOf(body: unknown, sent: number): { count: number; details: unknown[] } {
  if (typeof body !== 'object' || body === null) return { count: sent, details: [body] };
  const b = body as Record<string, unknown>;
  for (const key of ['rejected', 'errors', 'failures']) {
    const value = b[key];
    if (Array.isArray(value)) return { count: value.length, details: value.slice(0, MAX_REJECTIONS_KEPT) };
    if (typeof value === 'number') return { count: value, details: [body] };
  }
  if (typeof b['accepted'] === 'number') return { count: sent - b['accepted'], details: [body] };
  return { count: sent, details: [body] };
}

/**
 * Posts batches to `{target}{path}`. Retries 429 and 5xx (and network errors) with exponential
 * backoff; a 207 or 400 is final and its rejections are reported, since retrying an invalid event
 * cannot make it valid.
 */
export function restSender(options: RestSenderOptions): Sender {
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = `${options.target.replace(/\/+$/, '')}${options.path ?? '/v1/events'}`;
  const maxAttempts = options.maxAttempts ?? 6;
  const baseDelayMs = options.baseDelayMs ?? 100;

  async function post(events: unknown[]): Promise<SendResult> {
    let lastProblem = '';
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await sleep(backoff(attempt, baseDelayMs));
      let response: Response;
      try {
        response = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey },
          body: JSON.stringify({ events }),
        });
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
        continue;
      }
      const text = await response.text();
      if (response.status === 429 || response.status >= 500) {
        lastProblem = `HTTP ${response.status}`;
        continue;
      }
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // keep the raw text as the detail
      }
      if (response.status === 207 || response.status === 400) {
        const { count, details } = rejectionsOf(body, events.length);
        return { accepted: events.length - count, rejected: count, failed: 0, rejections: details };
      }
      if (response.ok) return { accepted: events.length, rejected: 0, failed: 0, rejections: [] };
      // 401/403/413 and friends: a configuration problem, not a transient one.
      return {
        accepted: 0,
        rejected: 0,
        failed: events.length,
        rejections: [{ status: response.status, body }],
      };
    }
    return { accepted: 0, rejected: 0, failed: events.length, rejections: [{ error: lastProblem }] };
  }

  return {
    maxBatch: REST_MAX_EVENTS,
    async send(batch) {
      const total: SendResult = { accepted: 0, rejected: 0, failed: 0, rejections: [] };
      for (const chunk of chunkForRest(batch.map((e) => e.event))) {
        const r = await post(chunk);
        total.accepted += r.accepted;
        total.rejected += r.rejected;
        total.failed += r.failed;
        total.rejections.push(...r.rejections.slice(0, MAX_REJECTIONS_KEPT - total.rejections.length));
      }
      return total;
    },
  };
}

/**
 * PutRecords straight onto the input stream (partition key = the delivery's key), retrying only the entries
 * that failed. Invalid events go on the stream too: the processor must dead-letter them itself.
 */
export function kinesisSender(options: KinesisSenderOptions): Sender {
  const client = options.client ?? new KinesisClient({});
  const maxAttempts = options.maxAttempts ?? 6;
  const baseDelayMs = options.baseDelayMs ?? 100;
  return {
    maxBatch: KINESIS_MAX_RECORDS,
    async send(batch) {
      const result: SendResult = { accepted: 0, rejected: 0, failed: 0, rejections: [] };
      for (let i = 0; i < batch.length; i += KINESIS_MAX_RECORDS) {
        let entries: PutRecordsRequestEntry[] = batch.slice(i, i + KINESIS_MAX_RECORDS).map((e) => ({
          Data: Buffer.from(JSON.stringify(e.event) ?? 'null'),
          PartitionKey: e.key,
        }));
        let lastProblem = '';
        for (let attempt = 0; attempt < maxAttempts && entries.length > 0; attempt++) {
          if (attempt > 0) await sleep(backoff(attempt, baseDelayMs));
          try {
            const out = await client.send(new PutRecordsCommand({ StreamName: options.streamName, Records: entries }));
            const records = out.Records ?? [];
            const retry = entries.filter((_, n) => records[n]?.ErrorCode);
            result.accepted += entries.length - retry.length;
            lastProblem = records.find((r) => r.ErrorCode)?.ErrorCode ?? '';
            entries = retry;
          } catch (error) {
            lastProblem = error instanceof Error ? error.name : String(error);
          }
        }
        if (entries.length > 0) {
          result.failed += entries.length;
          result.rejections.push({ error: lastProblem, records: entries.length });
        }
      }
      return result;
    },
  };
}

/** Live totals of a paced run. */
export interface SendCounters {
  /** Emissions handed to the sender. */
  sent: number;
  accepted: number;
  rejected: number;
  failed: number;
  batches: number;
  /** How far behind schedule the latest batch went out, in wall-clock ms. */
  lagMs: number;
  /** The last few rejection details, newest last. */
  lastRejections: unknown[];
}

export interface PaceOptions {
  /** Event time runs this many times faster than the wall clock. @default 1 */
  speedup?: number;
  /** Batches in flight at once. @default 4 */
  concurrency?: number;
  /** Emissions due within this many wall-clock ms go in one batch. @default 100 */
  batchWindowMs?: number;
  /** Stops pulling new emissions; in-flight batches still finish. */
  signal?: AbortSignal;
  /** Counters to update in place (so a caller can watch them live). */
  counters?: SendCounters;
  /** Called after each batch. */
  onBatch?: (result: SendResult, counters: SendCounters) => void;
}

/** Fresh zeroed counters. */
export function newSendCounters(): SendCounters {
  return { sent: 0, accepted: 0, rejected: 0, failed: 0, batches: 0, lagMs: 0, lastRejections: [] };
}

/**
 * Sends emissions in `sendAtMs` order, each at `start + sendAtMs / speedup` wall-clock time, batching
 * those that fall due together. With a large speedup this simply runs as fast as the sender allows.
 */
export async function paceAndSend(
  emissions: Iterable<Delivery>,
  sender: Sender,
  options: PaceOptions = {},
): Promise<SendCounters> {
  const speedup = options.speedup ?? 1;
  if (!(speedup > 0)) throw new RangeError('speedup must be positive');
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const windowMs = options.batchWindowMs ?? 100;
  const counters = options.counters ?? newSendCounters();
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  const iterator = emissions[Symbol.iterator]();
  let next = iterator.next();

  const dispatch = (batch: Delivery[], dueAt: number) => {
    counters.sent += batch.length;
    counters.batches++;
    counters.lagMs = Math.max(0, performance.now() - dueAt);
    const p = sender.send(batch).then(
      (r) => {
        counters.accepted += r.accepted;
        counters.rejected += r.rejected;
        counters.failed += r.failed;
        if (r.rejections.length > 0) counters.lastRejections = [...counters.lastRejections, ...r.rejections].slice(-10);
        options.onBatch?.(r, counters);
      },
      (error: unknown) => {
        counters.failed += batch.length;
        counters.lastRejections = [...counters.lastRejections, { error: String(error) }].slice(-10);
      },
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  while (!next.done && !options.signal?.aborted) {
    const dueAt = started + next.value.sendAtMs / speedup;
    const wait = dueAt - performance.now();
    if (wait > 0) {
      await sleep(wait, options.signal);
      continue;
    }
    const batch: Delivery[] = [];
    const cutoff = performance.now() + windowMs;
    while (!next.done && batch.length < sender.maxBatch && started + next.value.sendAtMs / speedup <= cutoff) {
      batch.push(next.value);
      next = iterator.next();
    }
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    dispatch(batch, dueAt);
  }
  await Promise.all(inFlight);
  return counters;
}
