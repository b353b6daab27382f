/**
 * Transit as a whole pipeline on the engine (docs/transit-on-engine.md, step 9): the definition
 * (windows, vehicle state, track anomalies, speed z-score, stop ETAs, what it publishes), its ports
 * over transit's own tables, and one batch as transit's processors run it. Behind the stack setting
 * `transitProcessor` (`TRANSIT_PROCESSOR=engine`); `processBatch` stays the default until the shadow
 * run (step 10) has compared the two on deployed traffic.
 *
 * What it publishes is transit's output records (`vehicle`, `window`, `anomaly`), the same shapes
 * and partition keys `processBatch` sends, so the broadcaster and every client read them as before.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll } from '../../../shared/dynamo/batch.js';
import type { Detection } from '../../../shared/engine/detectors.js';
import { DynamoEngineStore } from '../../../shared/engine/dynamo-engine-store.js';
import type { Update } from '../../../shared/engine/operators/operator.js';
import type { PipelineDefinition, TopicBinding, TopicMessage } from '../../../shared/engine/pipeline.js';
import {
  type PipelineBatchStats,
  type PipelinePorts,
  processRecords,
  type RunnablePipeline,
  runnable,
} from '../../../shared/engine/process-records.js';
import type { SinkTarget, SinkWrites } from '../../../shared/engine/sinks.js';
import type { DeadLetterSink } from '../../../shared/events/dead-letters.js';
import type { SourceRecord } from '../../../shared/events/source-records.js';
import type { ProcessingSettings } from '../config.js';
import { TRANSIT_DEPLOYMENT, TRANSIT_TOPIC_FORMS } from '../description.js';
import { decodeCandidates } from '../events/formats.js';
import type { OutputRecord, VehiclePosition } from '../model.js';
import type { Publisher } from '../processing/ports.js';
import type { ReadModelTables } from '../queries/dynamo-read-models.js';
import { projectAnomaly } from '../queries/projections.js';
import { topicsForRecord } from '../topics.js';
import { transitAnomalyOf } from './anomalies.js';
import { TRANSIT_PIPELINE, transitStatePart } from './definition.js';
import { STOP_ETAS } from './etas.js';
import type { PlacedPosition } from './route-reference.js';
import { RouteReferenceSource } from './route-reference-source.js';
import { SPEED_ZSCORE, speedZScore } from './speed-score.js';
import { TransitTablesStore } from './transit-tables-store.js';
import { TRACK_ANOMALIES, VEHICLE_STATE, vehicleOfUpdate, vehicleStateMoved } from './vehicle-state.js';
import { ROUTE_WINDOWS, VEHICLE_WINDOWS, windowOfUpdate } from './windows.js';

type TransitRecord = Exclude<OutputRecord, { kind: 'pipeline' }>;

/** A binding publishing one of transit's output kinds on the topics `topicsForRecord` gives it. */
function binding(
  type: TransitRecord['kind'],
  from: TopicBinding['from'],
  shape: (message: { update?: Update; detection?: Detection }) => Record<string, unknown>,
): TopicBinding {
  return {
    type,
    from,
    shape,
    topics: (_message, data) => topicsForRecord({ kind: type, data } as TransitRecord),
    schema: {},
  };
}

/**
 * Transit's whole definition. An anomaly's `detectedAt` is in its detection (the fold's or the
 * detector's processing time, kept by the store), so what is published and stored agree; `clock` only
 * stamps a detection stored without one.
 */
export function transitDefinition(
  settings: ProcessingSettings,
  clock: () => number = Date.now,
): PipelineDefinition<PlacedPosition, VehiclePosition> {
  const part = transitStatePart(settings);
  const anomalyOf = transitAnomalyOf(settings);
  const anomaly = ({ detection }: { detection?: Detection }) => {
    const found = detection && anomalyOf(detection, new Date(clock()).toISOString());
    return found ? (projectAnomaly(found) as unknown as Record<string, unknown>) : {};
  };
  const window = ({ update }: { update?: Update }) =>
    update ? (windowOfUpdate(update) as unknown as Record<string, unknown>) : {};
  return {
    description: {
      name: TRANSIT_PIPELINE,
      constructId: 'Transit',
      description: 'transit telemetry: vehicle positions, route metrics, stop ETAs, anomalies',
      // Transit's functions are a module each (TRANSIT_DEPLOYMENT), not a pipeline's handlers module.
      handlers: TRANSIT_DEPLOYMENT.functions.processor.entry,
      topic: TRANSIT_DEPLOYMENT.kafka.topic,
      partitionKeyField: 'vehicleId',
      routes: [],
      topics: [...TRANSIT_TOPIC_FORMS],
      tickRate: 'rate(1 minute)',
      shards: TRANSIT_DEPLOYMENT.shards,
      reference: {},
    },
    ...part,
    detectors: [...(part.detectors ?? []), speedZScore(settings)],
    publish: [
      // A batch of only older fixes updates the item, not the state: no vehicle then, as processBatch.
      {
        ...binding('vehicle', { operator: VEHICLE_STATE }, ({ update }) =>
          update ? (vehicleOfUpdate(update) as unknown as Record<string, unknown>) : {},
        ),
        topics: ({ update }, data) =>
          update && vehicleStateMoved(update) ? topicsForRecord({ kind: 'vehicle', data } as TransitRecord) : [],
      },
      binding('window', { operator: ROUTE_WINDOWS }, window),
      binding('window', { operator: VEHICLE_WINDOWS }, window),
      binding('anomaly', { detector: TRACK_ANOMALIES }, anomaly),
      binding('anomaly', { detector: SPEED_ZSCORE }, anomaly),
    ],
  };
}

/** `EtaTable` as the `stop-etas` sink's target: deletes and puts in batch writes (retried when throttled). */
export class EtaTableTarget implements SinkTarget {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async write(sink: string, { puts, deletes }: SinkWrites): Promise<void> {
    if (sink !== STOP_ETAS) throw new RangeError(`transit has no sink "${sink}"`);
    await batchWriteAll(this.client, this.table, [
      ...deletes.map((Key) => ({ DeleteRequest: { Key } })),
      ...puts.map((Item) => ({ PutRequest: { Item } })),
    ]);
  }
}

/** Where transit's engine path reads and writes: the read models' tables, and the engine's beside them. */
export interface TransitEngineTables extends ReadModelTables {
  /** `TransitEngineTable`: entity items and the engine's own outputs. */
  engine: string;
}

/** Everything one container of transit's engine path needs. */
export interface TransitEngine {
  pipeline: RunnablePipeline<PlacedPosition, VehiclePosition>;
  ports: Omit<PipelinePorts, 'publish'>;
  publisher: Publisher;
}

export function transitEngine(options: {
  client: DynamoDBDocumentClient;
  tables: TransitEngineTables;
  settings: ProcessingSettings;
  publisher: Publisher;
  deadLetters: DeadLetterSink;
  clock?: () => number;
}): TransitEngine {
  const { client, tables, settings, clock = Date.now } = options;
  const pipeline = runnable(transitDefinition(settings, clock), decodeCandidates);
  const store = new TransitTablesStore({
    client,
    windowsTable: tables.windows,
    vehicleStateTable: tables.vehicleState,
    lateEventsTable: tables.lateEvents,
    anomaliesTable: tables.anomalies,
    anomalyOf: transitAnomalyOf(settings),
    rest: new DynamoEngineStore(client, tables.engine, TRANSIT_PIPELINE),
    horizonMs: pipeline.compiled.horizonMs,
    clock,
  });
  return {
    pipeline,
    ports: {
      store,
      deadLetters: options.deadLetters,
      references: new RouteReferenceSource(client, tables.reference),
      sinks: new EtaTableTarget(client, tables.etas),
      clock,
    },
    publisher: options.publisher,
  };
}

/** Transit's output record of a topic message: its kind is the binding's type. */
const outputRecordOf = (message: TopicMessage) => ({ kind: message.type, data: message.data }) as TransitRecord;

/** One batch through the engine; throws for a retry as `processBatch` does, `stats` filled as it goes. */
export function processTransitRecords(records: SourceRecord[], engine: TransitEngine, stats: PipelineBatchStats) {
  return processRecords(
    engine.pipeline,
    records,
    {
      ...engine.ports,
      // topicMessages leaves out messages with no topic (a vehicle that did not move), and calls this only with some.
      publish: (messages) => engine.publisher.publish(messages.map(outputRecordOf)),
    },
    stats,
  );
}
