/** Factories for processor tests: position events, Kinesis records and an in-memory pipeline. */
import type { KinesisStreamRecord } from 'aws-lambda';
import type { ProcessingSettings } from '../../pipelines/transit/config.js';
import { withCumulativeDistance } from '../../pipelines/transit/geo.js';
import type { OutputRecord, VehiclePosition } from '../../pipelines/transit/model.js';
import { MemoryStore } from '../../pipelines/transit/processing/memory-store.js';
import type {
  DeadLetterMessage,
  DeadLetterSink,
  Publisher,
  ReferenceSource,
  ShapeRef,
} from '../../pipelines/transit/processing/ports.js';
import { type ProcessorDeps, processBatch } from '../../pipelines/transit/processing/process-batch.js';
import { kinesisSourceRecords, type SourceRecord } from '../../shared/events/source-records.js';

export const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);

export const settings: ProcessingSettings = {
  windowSizeMs: 60_000,
  allowedLatenessMs: 120_000,
  maxClockSkewMs: 60_000,
  speedZThreshold: 3,
  stallMs: 5 * 60_000,
  maxPlausibleSpeedKmh: 160,
  offRouteMeters: 150,
};

/** A straight west-east road of 40 km at lat 52.37 with a stop every 10 km. */
export const SHAPE: ShapeRef = (() => {
  const points = Array.from({ length: 41 }, (_, i) => ({ lat: 52.37, lon: 4.9 + (i * 0.1) / 6.8 }));
  const shape = withCumulativeDistance(points);
  const length = shape.at(-1)![2];
  return {
    shapeId: 'S1',
    points: shape,
    stops: [0, 1, 2, 3, 4].map((k) => ({
      stopId: `STOP${k}`,
      name: `Stop ${k}`,
      lat: 52.37,
      lon: 4.9 + (k * 0.4) / 6.8,
      distM: (length * k) / 4,
      seq: k + 1,
    })),
  };
})();

/** Longitude at a distance (m) along SHAPE. */
export const lonAt = (metres: number) => 4.9 + (metres / SHAPE.points.at(-1)![2]) * (4 / 6.8);

export function position(overrides: Partial<VehiclePosition> = {}): VehiclePosition {
  return {
    eventId: `e-${Math.random().toString(36).slice(2)}`,
    vehicleId: 'V1',
    routeId: 'R1',
    tripId: 'T1',
    lat: 52.37,
    lon: 4.9,
    speedKmh: 30,
    headingDeg: 90,
    ts: T0,
    occupancy: null,
    accuracyM: null,
    ...overrides,
  };
}

/** Kinesis records for payloads, with increasing sequence numbers starting at `firstSeq`. */
export function kinesisRecords(
  payloads: unknown[],
  firstSeq = 1,
  shardId = 'shardId-000000000000',
): KinesisStreamRecord[] {
  return payloads.map((payload, i) => {
    const sequenceNumber = String(49_000_000_000n + BigInt(firstSeq + i));
    const data = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString('base64');
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: (payload as { vehicleId?: string })?.vehicleId ?? 'pk',
        sequenceNumber,
        data,
        approximateArrivalTimestamp: T0 / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/test',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/InputStream',
    };
  });
}

export const sourceRecords = (payloads: unknown[], firstSeq = 1, shardId?: string): SourceRecord[] =>
  kinesisSourceRecords(kinesisRecords(payloads, firstSeq, shardId));

export class CapturingPublisher implements Publisher {
  readonly records: OutputRecord[] = [];
  failNext = 0;
  async publish(records: OutputRecord[]) {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('injected publish failure');
    }
    this.records.push(...records);
  }
}

export class CapturingDeadLetters implements DeadLetterSink {
  readonly messages: DeadLetterMessage[] = [];
  failAll = false;
  async send(messages: DeadLetterMessage[]) {
    if (this.failAll) return messages;
    this.messages.push(...messages);
    return [];
  }
}

export const reference: ReferenceSource = {
  routeShapes: async (routeId) => (routeId === 'R1' ? new Map([[SHAPE.shapeId, SHAPE]]) : undefined),
  tripShapeId: async () => SHAPE.shapeId,
};

/** A small seeded random generator (mulberry32): the same seed gives the same batch splits on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Cuts records into consecutive batches of 1 to `maxSize` records, at random. */
export function randomBatches<T>(records: T[], random: () => number, maxSize: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < records.length; ) {
    const size = 1 + Math.floor(random() * maxSize);
    batches.push(records.slice(i, i + size));
    i += size;
  }
  return batches;
}

/** Attributes that say how or when an item was written rather than what the events were. */
const BOOKKEEPING = new Set(['version', 'positions', 'eventIds', 'updatedAt', 'detectedAt', 'receivedAt', 'expiresAt']);

/** Fractional numbers to 12 significant digits: sums added in another order may differ in the last bits. */
const rounded = (_key: string, value: unknown) =>
  typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(12)) : value;

const canonical = (item: object) =>
  JSON.stringify(
    Object.fromEntries(
      Object.entries(item)
        .filter(([key]) => !BOOKKEEPING.has(key))
        .sort(([a], [b]) => a.localeCompare(b)),
    ),
    rounded,
  );

/** Every read model of a memory store as sorted canonical items, bookkeeping left out, to compare two runs. */
export function readModels(store: MemoryStore): Record<string, string[]> {
  const items = (map: ReadonlyMap<string, object>) => [...map.values()].map(canonical).sort();
  return {
    states: items(store.states),
    windows: items(store.windows),
    anomalies: items(store.anomalies),
    etas: items(store.etas),
    lateEvents: items(store.lateEvents),
  };
}

/** A processor wired to in-memory ports, with the clock at `now`. */
export function pipeline(now = T0 + 3_600_000) {
  const store = new MemoryStore();
  const publisher = new CapturingPublisher();
  const deadLetters = new CapturingDeadLetters();
  const deps: ProcessorDeps = { store, reference, publisher, deadLetters, settings, clock: () => now };
  return {
    store,
    publisher,
    deadLetters,
    deps,
    run: (records: SourceRecord[]) => processBatch(records, deps),
    window: (pk: string, windowStart: number) => store.windows.get(`${pk}|${windowStart}`),
  };
}

/** A processor dead letter for an invalid latitude, carrying `payload`. */
export const deadLetter = (payload: unknown): DeadLetterMessage => ({
  source: 'processor',
  reason: 'invalid event: lat: must be within [-90, 90], got 91',
  errors: [{ field: 'lat', reason: 'must be within [-90, 90], got 91' }],
  record: { partition: 'shardId-000000000000', position: '0001', itemIdentifier: '1' },
  payload,
  receivedAt: '2026-11-21T08:00:00.000Z',
});
