/**
 * Kafka clients for every Kafka user in the project (the simulator's producer, the topic custom
 * resource, the local event-source mapping): plaintext for a local broker, TLS + IAM SASL for MSK.
 */
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, type KafkaConfig, logLevel, type Producer, type RetryOptions } from 'kafkajs';

/** How to reach a Kafka cluster. */
export interface KafkaConnection {
  /** `host:port` bootstrap servers. */
  brokers: string[];
  /** Client id the broker logs and quotas see. */
  clientId: string;
  /**
   * Authenticate with IAM (MSK's `AWS_MSK_IAM` through SASL/OAUTHBEARER, over TLS) in this region.
   * @default plaintext, no authentication (a local broker)
   */
  iamRegion?: string;
  /** Client retry settings. @default kafkajs' defaults */
  retry?: RetryOptions;
  /** kafkajs log level. @default logLevel.WARN */
  logLevel?: logLevel;
}

/** A kafkajs client for a local broker or, with `iamRegion`, an MSK cluster with IAM authentication. */
export function kafkaClient(connection: KafkaConnection): Kafka {
  const config: KafkaConfig = {
    clientId: connection.clientId,
    brokers: connection.brokers,
    logLevel: connection.logLevel ?? logLevel.WARN,
    ...(connection.retry ? { retry: connection.retry } : {}),
  };
  const region = connection.iamRegion;
  if (region) {
    config.ssl = true;
    config.sasl = {
      mechanism: 'oauthbearer',
      // A fresh token per connection: the signer presigns with the current credentials (no network call).
      oauthBearerProvider: async () => ({ value: (await generateAuthToken({ region })).token }),
    };
  }
  return new Kafka(config);
}

/**
 * An idempotent producer: acks from all in-sync replicas, broker-side de-duplication of retries, and
 * one request in flight per broker so retries cannot reorder a partition. Its retries never give up
 * on their own (kafkajs' default for idempotence), so a broker outage delays sends instead of losing them.
 */
export function idempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}
