/**
 * Delivery of simulator emissions onto a Kafka topic (MSK or the local broker) through an idempotent
 * producer, keyed by vehicleId so each vehicle's positions stay in order on one partition.
 */
import type { Producer } from 'kafkajs';
import { encodeEvent, type WireFormat } from '../../shared/events/wire-format.js';
import type { VehiclePosition } from '../../shared/generated/schemas.js';
import type { Sender, SendResult } from './senders.js';

export interface KafkaSenderOptions {
  /** A connected producer (see `idempotentProducer` in shared/kafka/client.ts). */
  producer: Producer;
  topic: string;
  /** How values are written: JSON text, or Avro in the Confluent wire format. */
  format: WireFormat;
}

/** Records per produce request; kafkajs splits by partition itself. */
const KAFKA_MAX_BATCH = 500;

/**
 * Encodes one emission. In Avro mode an injected invalid event that the schema cannot even encode
 * (a missing field, a string where a number belongs) is written as JSON instead, since both formats
 * share the topic: it still reaches the processor, which dead-letters it with its reasons.
 */
export function encodeEmission(event: unknown, format: WireFormat): Buffer {
  if (format === 'avro') {
    try {
      return encodeEvent(event as VehiclePosition, 'avro');
    } catch {
      // falls through to JSON: see above
    }
  }
  return Buffer.from(JSON.stringify(event) ?? 'null');
}

/**
 * Produces batches to `topic`. The idempotent producer retries on its own (a broker restart only
 * delays a send); a send that still throws counts its events as failed.
 */
export function kafkaSender(options: KafkaSenderOptions): Sender {
  return {
    maxBatch: KAFKA_MAX_BATCH,
    async send(batch): Promise<SendResult> {
      try {
        await options.producer.send({
          topic: options.topic,
          messages: batch.map((emission) => ({
            key: emission.vehicleId,
            value: encodeEmission(emission.event, options.format),
          })),
        });
        return { accepted: batch.length, rejected: 0, failed: 0, rejections: [] };
      } catch (error) {
        return { accepted: 0, rejected: 0, failed: batch.length, rejections: [{ error: (error as Error).message }] };
      }
    },
  };
}
