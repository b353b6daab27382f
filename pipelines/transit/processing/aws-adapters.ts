/** Transit's processor ports on AWS (or the local emulators): the output stream and the GTFS reference table. */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KinesisEventWriter } from '../../../shared/streams/kinesis-writer.js';
import { loadRouteReference, loadTrip } from '../gtfs/reference-store.js';
import type { OutputRecord } from '../model.js';
import type { Publisher, ReferenceSource, ShapeRef } from './ports.js';

/** The entity a result is about: its partition key, so one entity's updates stay in order. */
export function outputPartitionKey(record: OutputRecord): string {
  switch (record.kind) {
    case 'vehicle':
      return record.data.vehicleId;
    case 'window':
      return record.data.entityId;
    case 'anomaly':
      return record.data.vehicleId;
    case 'pipeline':
      return record.key;
  }
}

/** The output stream: results as JSON, partitioned by the entity they are about. */
export class KinesisPublisher implements Publisher {
  private readonly writer: KinesisEventWriter<OutputRecord>;

  constructor(kinesis: KinesisClient, streamName: string) {
    this.writer = new KinesisEventWriter(kinesis, streamName, outputPartitionKey);
  }

  publish(records: OutputRecord[]) {
    return this.writer.write(records);
  }
}

/**
 * Reference data from the ReferenceTable's current feed version, cached per execution environment for a
 * few minutes (so a reloaded feed is seen within `ttlMs`).
 */
export class DynamoReferenceSource implements ReferenceSource {
  private readonly routes = new Map<string, { at: number; shapes: Promise<Map<string, ShapeRef> | undefined> }>();
  private readonly trips = new Map<string, { at: number; shapeId: Promise<string | undefined> }>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  routeShapes(routeId: string) {
    const cached = this.routes.get(routeId);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.shapes;
    const shapes = loadRouteReference(routeId, { client: this.client, tableName: this.tableName }).then((route) =>
      route
        ? new Map([...route.shapes].map(([shapeId, shape]): [string, ShapeRef] => [shapeId, { shapeId, ...shape }]))
        : undefined,
    );
    this.routes.set(routeId, { at: Date.now(), shapes });
    shapes.catch(() => this.routes.delete(routeId));
    return shapes;
  }

  tripShapeId(tripId: string) {
    const cached = this.trips.get(tripId);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.shapeId;
    const shapeId = loadTrip(tripId, { client: this.client, tableName: this.tableName }).then((trip) => trip?.shapeId);
    this.trips.set(tripId, { at: Date.now(), shapeId });
    shapeId.catch(() => this.trips.delete(tripId));
    return shapeId;
  }
}
