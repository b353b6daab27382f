import type { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { chunkForRest, kinesisSender, paceAndSend, restSender } from '../../../local/simulator/senders.js';
import type { Emission } from '../../../local/simulator/workload.js';
import { vehiclePosition } from '../../events/vehicle-position.js';

const emission = (i: number, overrides: Partial<Emission> = {}): Emission => ({
  sendAtMs: i * 10,
  event: vehiclePosition({ eventId: `e-${i}`, vehicleId: `V${i % 3}`, ts: 1_736_150_400_000 + i }),
  kind: 'normal',
  vehicleId: `V${i % 3}`,
  key: `V${i % 3}`,
  ...overrides,
});

/** A fetch double answering from a list of statuses/bodies, recording the requests. */
function fakeFetch(answers: { status: number; body?: unknown }[]) {
  const requests: { url: string; init: RequestInit }[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    requests.push({ url, init });
    const a = answers[Math.min(requests.length - 1, answers.length - 1)]!;
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), { status: a.status });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, requests };
}

describe('chunkForRest', () => {
  it('keeps at most 500 events per request', () => {
    const chunks = chunkForRest(Array.from({ length: 1201 }, (_, i) => ({ i })));

    expect(chunks.map((c) => c.length)).toEqual([500, 500, 201]);
  });

  it('keeps each request body under 1 MB', () => {
    const big = { pad: 'x'.repeat(300_000) };

    const chunks = chunkForRest([big, big, big, big]);

    expect(chunks.map((c) => c.length)).toEqual([3, 1]);
    for (const c of chunks) expect(JSON.stringify({ events: c }).length).toBeLessThanOrEqual(1_000_000);
  });
});

describe('restSender', () => {
  it('posts {events} to /v1/events with the API key', async () => {
    const { fetch, requests } = fakeFetch([{ status: 202 }]);

    const result = await restSender({ target: 'http://127.0.0.1:3000/', apiKey: 'k', fetch }).send([emission(1)]);

    expect(result).toMatchObject({ accepted: 1, rejected: 0, failed: 0 });
    expect(requests[0]!.url).toBe('http://127.0.0.1:3000/v1/events');
    expect((requests[0]!.init.headers as Record<string, string>)['x-api-key']).toBe('k');
    expect(JSON.parse(requests[0]!.init.body as string)).toEqual({ events: [emission(1).event] });
  });

  it('retries 5xx and 429 with backoff, then succeeds', async () => {
    const { fetch, requests } = fakeFetch([{ status: 503 }, { status: 429 }, { status: 200 }]);

    const result = await restSender({ target: 'http://x', apiKey: 'k', fetch, baseDelayMs: 1 }).send([emission(1)]);

    expect(requests).toHaveLength(3);
    expect(result.accepted).toBe(1);
  });

  it('reports the rejections of a 207 without retrying', async () => {
    const rejected = [{ index: 1, reason: 'lat out of range' }];
    const { fetch, requests } = fakeFetch([{ status: 207, body: { accepted: 1, rejected } }]);

    const result = await restSender({ target: 'http://x', apiKey: 'k', fetch }).send([emission(1), emission(2)]);

    expect(requests).toHaveLength(1);
    expect(result).toMatchObject({ accepted: 1, rejected: 1, failed: 0, rejections: rejected });
  });

  it('counts a batch as failed after the last attempt', async () => {
    const { fetch, requests } = fakeFetch([{ status: 500 }]);

    const result = await restSender({ target: 'http://x', apiKey: 'k', fetch, baseDelayMs: 1, maxAttempts: 3 }).send([
      emission(1),
    ]);

    expect(requests).toHaveLength(3);
    expect(result.failed).toBe(1);
  });
});

describe('kinesisSender', () => {
  it('partitions by each delivery key (transit: the vehicle) and retries only the failed entries', async () => {
    const calls: PutRecordsCommand[] = [];
    const client = {
      send: async (command: PutRecordsCommand) => {
        calls.push(command);
        const records = command.input.Records!;
        return {
          Records: records.map((_, i) =>
            calls.length === 1 && i === 1
              ? { ErrorCode: 'ProvisionedThroughputExceededException' }
              : { SequenceNumber: '1' },
          ),
        };
      },
    } as unknown as KinesisClient;

    const result = await kinesisSender({ streamName: 'in', client, baseDelayMs: 1 }).send([
      emission(1),
      emission(2),
      emission(3),
    ]);

    expect(result).toMatchObject({ accepted: 3, failed: 0 });
    expect(calls[0]!.input.Records!.map((r) => r.PartitionKey)).toEqual(['V1', 'V2', 'V0']);
    expect(calls[1]!.input.Records).toHaveLength(1);
    expect(JSON.parse(Buffer.from(calls[1]!.input.Records![0]!.Data!).toString())).toEqual(emission(2).event);
  });
});

describe('paceAndSend', () => {
  it('sends every emission in order, batched, as fast as a large speedup allows', async () => {
    const batches: Emission[][] = [];
    const sender = {
      maxBatch: 500,
      send: async (batch: Emission[]) => {
        batches.push(batch);
        return { accepted: batch.length, rejected: 0, failed: 0, rejections: [] };
      },
    };
    const emissions = Array.from({ length: 1200 }, (_, i) => emission(i));

    const counters = await paceAndSend(emissions, sender, { speedup: 1_000_000, concurrency: 1 });

    expect(counters).toMatchObject({ sent: 1200, accepted: 1200, failed: 0 });
    expect(batches.flat()).toEqual(emissions);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(500);
  });

  it('waits for emissions that are not due yet, and stops when aborted', async () => {
    const sent: Emission[] = [];
    const sender = {
      maxBatch: 500,
      send: async (batch: Emission[]) => {
        sent.push(...batch);
        return { accepted: batch.length, rejected: 0, failed: 0, rejections: [] };
      },
    };
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 150);

    await paceAndSend([emission(0), emission(1, { sendAtMs: 60_000 })], sender, { signal: abort.signal });

    expect(sent.map((e) => e.sendAtMs)).toEqual([0]);
  });
});
