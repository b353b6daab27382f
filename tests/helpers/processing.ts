/** Factories for processor tests: position events, Kinesis records and an in-memory pipeline. */
import type { KinesisStreamRecord } from 'aws-lambda';
import type { ProcessingSettings } from '../../shared/config.js';
import { kinesisSourceRecords, type SourceRecord } from '../../shared/events/source-records.js';
import { withCumulativeDistance } from '../../shared/geo.js';
import type { OutputRecord, VehiclePosition } from '../../shared/model.js';
import { MemoryStore } from '../../shared/processing/memory-store.js';
import type {
  DeadLetterMessage,
  DeadLetterSink,
  Publisher,
  ReferenceSource,
  ShapeRef,
} from '../../shared/processing/ports.js';
import { type ProcessorDeps, processBatch } from '../../shared/processing/process-batch.js';

export const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);

export const settings: ProcessingSettings = {
  windowSizeMs: 60_000,
  allowedLatenessMs: 120_000,
  speedZThreshold: 3,
  stallMs: 5 * 60_000,
  maxPlausibleSpeedKmh: 160,
  offRouteMeters: 150,
};

/** A straight west-east street of 4 km at lat 52.37 with a stop every kilometre. */
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
