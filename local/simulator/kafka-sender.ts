/**
 * Delivery of simulator emissions onto a Kafka topic (MSK or the local broker) through an idempotent
 * producer, keyed by each delivery's key so an entity's events (a vehicle's positions) stay in order on one partition.
 */
import type { Producer } from 'kafkajs';
import { vehiclePositionFamily } from '../../pipelines/transit/events/formats.js';
import type { SchemaFamily } from '../../shared/avro/schema-registry.js';
import { encodeEvent, type WireFormat } from '../../shared/events/wire-format.js';
import { backoff, type RetryOptions, type Sender, type SendResult, sleep } from './senders.js';

/** Longest pause between two sends of a batch. */
const MAX_RETRY_DELAY_MS = 2_000;

export interface KafkaSenderOptions extends Pick<RetryOptions, 'baseDelayMs'> {
  /** How long a batch is re-sent while the cluster is unreachable. @default 60_000 */
  retryForMs?: number;
  /** A connected producer (see `idempotentProducer` in shared/kafka/client.ts). */
  producer: Producer;
  topic: string;
  /** How values are written: JSON text, or Avro in the Confluent wire format. */
  format: WireFormat;
  /** The event's schema family, for Avro. @default transit's `vehicle.position` */
  family?: SchemaFamily;
}

/** Records per produce request; kafkajs splits by partition itself. */
const KAFKA_MAX_BATCH = 500;

/**
 * Encodes one emission. In Avro mode an injected invalid event that the schema cannot even encode
 * (a missing field, a string where a number belongs) is written as JSON instead, since both formats
 * share the topic: it still reaches the processor, which dead-letters it with its reasons.
 */
export function encodeEmission(event: unknown, format: WireFormat, family = vehiclePositionFamily): Buffer {
  if (format === 'avro') {
    try {
      return encodeEvent(event as object, 'avro', family);
    } catch {
      // falls through to JSON: see above
    }
  }
  return Buffer.from(JSON.stringify(event) ?? 'null');
}

/**
 * Whether a kafkajs error may go away by itself (a broker restarting, a leader moving): kafkajs marks
 * those retriable, and wraps them in a non-retriable error once its own retries ran out or every seed
 * broker refused the connection, so the whole cause chain is looked at.
 */
function transient(error: unknown): boolean {
  for (
    let e = error as { retriable?: boolean; name?: string; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (e.retriable === true || e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSNumberOfRetriesExceeded') {
      return true;
    }
  }
  return false;
}

/**
 * Produces batches to `topic`, keyed by each delivery's key. kafkajs retries inside a send; when a broker outage
 * outlasts those retries, the batch is sent again, with backoff, for up to `retryForMs`. A re-sent
 * batch may repeat records that did reach the log: the processor counts an event id once.
 */
export function kafkaSender(options: KafkaSenderOptions): Sender {
  const retryForMs = options.retryForMs ?? 60_000;
  const baseDelayMs = options.baseDelayMs ?? 250;
  return {
    maxBatch: KAFKA_MAX_BATCH,
    async send(batch): Promise<SendResult> {
      const messages = batch.map((emission) => ({
        key: emission.key,
        value: encodeEmission(emission.event, options.format, options.family),
      }));
      const started = Date.now();
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) await sleep(Math.min(backoff(attempt, baseDelayMs), MAX_RETRY_DELAY_MS));
        try {
          await options.producer.send({ topic: options.topic, messages });
          return { accepted: batch.length, rejected: 0, failed: 0, rejections: [] };
        } catch (error) {
          if (!transient(error) || Date.now() - started >= retryForMs) {
            const problem = `${(error as Error).name}: ${(error as Error).message}`;
            return { accepted: 0, rejected: 0, failed: batch.length, rejections: [{ error: problem }] };
          }
        }
      }
    },
  };
}
