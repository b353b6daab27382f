import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  type Producer,
} from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { encodeEmission, kafkaSender } from '../../../local/simulator/kafka-sender.js';
import type { Emission } from '../../../local/simulator/workload.js';
import { vehiclePositionFamily } from '../../../pipelines/transit/events/formats.js';
import { decodeConfluentAvro } from '../../../shared/events/wire-format.js';
import { position } from '../../helpers/processing.js';

/** A producer whose `send` fails with the given errors first, then records what it was given. */
function flakyProducer(failures: Error[]) {
  const sent: Array<{ topic: string; messages: Array<{ key: string; value: Buffer }> }> = [];
  let calls = 0;
  const producer = {
    async send(record: (typeof sent)[number]) {
      calls++;
      const failure = failures.shift();
      if (failure) throw failure;
      sent.push(record);
      return [];
    },
  } as unknown as Producer;
  return { producer, sent, calls: () => calls };
}

const emission = (vehicleId: string): Emission => ({
  sendAtMs: 0,
  event: position({ vehicleId }),
  kind: 'normal',
  vehicleId,
  key: vehicleId,
});

describe('kafkaSender', () => {
  it('keys every record by its vehicle and counts the batch accepted', async () => {
    const { producer, sent } = flakyProducer([]);
    const result = await kafkaSender({ producer, topic: 't', format: 'json' }).send([emission('V1'), emission('V2')]);

    expect(result).toMatchObject({ accepted: 2, failed: 0 });
    expect(sent[0]!.messages.map((m) => m.key)).toEqual(['V1', 'V2']);
  });

  it('sends a batch again when a broker outage outlasted the producer retries', async () => {
    const outage = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection error: ECONNREFUSED'), {
      retryCount: 5,
      retryTime: 30_000,
    });
    const refused = Object.assign(new KafkaJSNonRetriableError('Connection error: connect ECONNREFUSED'), {
      cause: new KafkaJSConnectionError('Connection error'),
    });
    const { producer, sent, calls } = flakyProducer([outage, refused, new KafkaJSConnectionError('Connection error')]);
    const result = await kafkaSender({ producer, topic: 't', format: 'json', baseDelayMs: 1 }).send([emission('V1')]);

    expect(result).toMatchObject({ accepted: 1, failed: 0 });
    expect(calls()).toBe(4);
    expect(sent).toHaveLength(1);
  });

  it('gives up at once on an error that retrying cannot fix, and says which', async () => {
    const { producer, calls } = flakyProducer([new KafkaJSNonRetriableError('Message too large')]);
    const result = await kafkaSender({ producer, topic: 't', format: 'json', baseDelayMs: 1 }).send([emission('V1')]);

    expect(result).toMatchObject({
      accepted: 0,
      failed: 1,
      rejections: [{ error: 'KafkaJSNonRetriableError: Message too large' }],
    });
    expect(calls()).toBe(1);
  });
});

describe('encodeEmission', () => {
  it('writes Avro in the Confluent wire format', () => {
    const event = position();

    expect(decodeConfluentAvro(encodeEmission(event, 'avro'), vehiclePositionFamily)).toEqual(event);
  });

  it('writes an invalid event the schema cannot encode as JSON, so the processor can dead-letter it', () => {
    const broken = { ...position(), speedKmh: 'fast' };

    expect(JSON.parse(encodeEmission(broken, 'avro').toString())).toEqual(broken);
  });
});
