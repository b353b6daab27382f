/**
 * The Lambda handlers of a pipeline, from its definition: a pipeline's `handlers.ts` is one line,
 * `export const { ingest, processor, kafkaProcessor, tick, api } = pipelineHandlers(definition)`.
 * Wiring only: the AWS clients, the environment, Powertools; the work is in the engine.
 *
 * Environment: `ENGINE_TABLE` (the pipeline's table), `INPUT_STREAM_NAME` (ingest),
 * `OUTPUT_STREAM_NAME` (the stack's output stream, towards WebSocket clients), `DEAD_LETTER_QUEUE_URL`,
 * and `REFERENCE_TABLE` (the processors of a pipeline with reference data).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, KinesisStreamBatchResponse, KinesisStreamEvent, MSKEvent } from 'aws-lambda';
import { dynamoDocumentClient, kinesisClient, sqsClient } from '../aws-clients.js';
import { queueUrls, requireEnv, streamNames } from '../config.js';
import { SqsDeadLetterSink } from '../events/dead-letters.js';
import {
  candidateDecoder,
  kafkaSourceRecords,
  kinesisSourceRecords,
  type SourceRecord,
} from '../events/source-records.js';
import { WireFormatError } from '../events/wire-format.js';
import { createRouter } from '../http/router.js';
import { createIngestHandler } from '../ingest/ingest-handler.js';
import { withPowertools } from '../lambda.js';
import { logger, metrics, publishCounters } from '../observability.js';
import { KinesisEventWriter } from '../streams/kinesis-writer.js';
import type { PipelineOutputRecord } from '../streams/output-record.js';
import { DynamoEngineStore } from './dynamo-engine-store.js';
import { DynamoReferenceSource } from './dynamo-reference-source.js';
import { checkPipeline, type PipelineDefinition, type TopicMessage } from './pipeline.js';
import {
  emptyPipelineStats,
  type PipelineBatchStats,
  type PipelinePorts,
  processRecords,
  type RunnablePipeline,
  runnable,
  runTick,
} from './process-records.js';
import { engineReader, type PipelineRouteDeps } from './serving.js';

/** Some records of a Kafka batch could not be dead-lettered; the event source retries the batch. */
export class KafkaBatchError extends Error {
  override name = 'KafkaBatchError';
}

const METRICS: Array<[keyof PipelineBatchStats, string]> = [
  ['accepted', 'EventsProcessed'],
  ['redelivered', 'EventsRedelivered'],
  ['rejected', 'EventsRejected'],
  ['duplicates', 'DuplicatesSkipped'],
  ['late', 'LateEvents'],
  ['itemsWritten', 'ItemsWritten'],
  ['detections', 'Detections'],
  ['conditionalRetries', 'ConditionalRetries'],
  ['referenceMissing', 'EventsWithoutReference'],
];

/** Messages as the broadcaster reads them off the output stream. */
export const toOutputRecords = (messages: TopicMessage[]): PipelineOutputRecord[] =>
  messages.map((m) => ({ kind: 'pipeline', type: m.type, topics: m.topics, key: m.key, data: m.data }));

/** A pipeline without an Avro reader refuses Avro-framed records (to the DLQ, by name), never misreads them. */
const noAvro = (name: string) => () => {
  throw new WireFormatError(`pipeline ${name} reads JSON events only: an Avro-framed record has no reader here`);
};

export function pipelineHandlers<E, V>(
  definition: PipelineDefinition<E, V>,
  /** Decodes a Confluent-framed Avro value of the pipeline's family. @default refuse Avro (JSON only) */
  decodeAvro?: (bytes: Buffer) => Record<string, unknown>,
) {
  checkPipeline(definition);
  const { name } = definition.description;
  const schema = definition.event.validator;
  const pipeline: RunnablePipeline<E, V> = runnable(
    definition,
    candidateDecoder({
      requiredFields: schema.requiredFields,
      decodeAvro: decodeAvro ?? noAvro(name),
    }),
  );

  // Each port is built on first use, so a function gets (and needs) only the variables it uses, and a
  // missing one fails its first invocation with its name: ingest has no table, the api no queue.
  let store: DynamoEngineStore | undefined;
  let deadLetters: SqsDeadLetterSink | undefined;
  let publisher: KinesisEventWriter<PipelineOutputRecord> | undefined;
  let references: DynamoReferenceSource | undefined;
  const ports: PipelinePorts = {
    get store() {
      store ??= new DynamoEngineStore(dynamoDocumentClient(), requireEnv('ENGINE_TABLE'), name);
      return store;
    },
    get deadLetters() {
      deadLetters ??= new SqsDeadLetterSink(sqsClient(), queueUrls.deadLetter);
      return deadLetters;
    },
    // Kept per container for the source's TTL (a minute): a batch reads only keys it has not seen lately.
    get references() {
      if (!definition.reference) return undefined;
      references ??= new DynamoReferenceSource(dynamoDocumentClient(), requireEnv('REFERENCE_TABLE'));
      return references;
    },
    publish(messages) {
      // Partitioned by the message's key, so one key's messages stay in order.
      publisher ??= new KinesisEventWriter(kinesisClient(), streamNames.output, (record) => record.key);
      return publisher.write(toOutputRecords(messages));
    },
  };

  async function processAndRecord(records: SourceRecord[], source: 'kinesis' | 'kafka') {
    const stats = emptyPipelineStats();
    try {
      const outcome = await processRecords(pipeline, records, ports, stats);
      publishCounters(METRICS, stats, { pipeline: name, source });
      return outcome;
    } catch (error) {
      // A failed attempt's commits count once (its retry skips them as redelivered); the rest of its
      // counters are counted again by the retry, so the metrics of a failed attempt are the commits only.
      const commits = { ...emptyPipelineStats(), accepted: stats.accepted, redelivered: stats.redelivered };
      publishCounters(METRICS, commits, { pipeline: name, source });
      throw error;
    }
  }

  const router = createRouter<PipelineRouteDeps>({
    routes: definition.routes ?? [],
    get read() {
      return engineReader(definition, ports.store, Date.now);
    },
    now: Date.now,
    log: logger,
  });

  let ingestHandler: ReturnType<typeof createIngestHandler<V>> | undefined;

  return {
    ingest: withPowertools(async (event: APIGatewayProxyEvent) => {
      ingestHandler ??= createIngestHandler<V>({
        contract: {
          validate: (value, now) => schema.validate(value, { maxClockSkewMs: definition.maxClockSkewMs }, now),
          idOf: definition.event.id,
        },
        writer: new KinesisEventWriter<V>(kinesisClient(), streamNames.input, definition.event.entity),
        deadLetters: ports.deadLetters,
      });
      return ingestHandler(event);
    }),
    processor: withPowertools(async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
      const { failedItemIdentifiers } = await processAndRecord(kinesisSourceRecords(event.Records), 'kinesis');
      return { batchItemFailures: failedItemIdentifiers.map((itemIdentifier) => ({ itemIdentifier })) };
    }),
    kafkaProcessor: withPowertools(async (event: MSKEvent): Promise<void> => {
      const { failedItemIdentifiers } = await processAndRecord(kafkaSourceRecords(event), 'kafka');
      if (failedItemIdentifiers.length > 0) {
        throw new KafkaBatchError(`dead letters could not be sent for ${failedItemIdentifiers.join(', ')}`);
      }
    }),
    tick: withPowertools(async (_event: unknown) => {
      const result = await runTick(pipeline, ports);
      metrics.addMetric('WindowsClosed', MetricUnit.Count, result.closed);
      logger.info('tick', { pipeline: name, ...result });
      return result;
    }),
    api: withPowertools((event: APIGatewayProxyEvent) => router(event)),
  };
}
