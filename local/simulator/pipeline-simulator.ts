/**
 * The simulator of an engine pipeline: its definition's workload (`PipelineDefinition.workload`) with
 * the engine's faults injected (`simulatedEvents`, shared/engine/workload.ts), sent like transit's
 * vehicles: to `POST /v1/<name>/events`, straight onto the pipeline's input stream, or to its Kafka
 * topic (JSON, or Avro with the event's schema family), paced in event time.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SchemaFamily } from '../../shared/avro/schema-registry.js';
import type { PipelineDefinition } from '../../shared/engine/pipeline.js';
import { type FaultKind, type Faults, type SimulatedEvent, simulatedEvents } from '../../shared/engine/workload.js';
import type { WireFormat } from '../../shared/events/wire-format.js';
import { type Delivering, defaultStartTime, startDelivery } from '../simulate.js';
import { SeededRandom } from './random.js';
import type { Sender } from './senders.js';

/** Options of {@link runPipelineSimulator}. */
export interface PipelineSimulatorOptions {
  /** Event-time length of the run. */
  minutes: number;
  /** Events per second over all the workload's entities. */
  rate: number;
  /** Seeds the workload and the faults: the same seed sends the same events. */
  seed: number;
  /** Event time of the first event. @default now, or with a speedup `minutes` before now (`defaultStartTime`) */
  startTime?: number;
  /** Event time runs this many times faster than the wall clock. @default 1 */
  speedup?: number;
  faults?: Faults;
  /** REST base URL (`POST {target}/v1/<name>/events`). */
  target?: string;
  /** Sent as `x-api-key` to the REST ingest. */
  apiKey?: string;
  /** The pipeline's input stream: events go straight onto it instead of the REST ingest. */
  stream?: string;
  kinesisClient?: KinesisClient;
  /** Kafka: events are produced to the pipeline's topic (`description.topic`) instead; Avro needs `family`. */
  kafka?: { brokers: string[]; format?: WireFormat; family?: SchemaFamily; iamRegion?: string };
  /** A custom sender (tests); overrides the rest. */
  sender?: Sender;
  /** Batches in flight at once. @default 4 */
  concurrency?: number;
}

/** A running pipeline simulator. */
export interface PipelineSimulatorHandle extends Delivering {
  /** Events generated so far, by how they were sent. */
  readonly byKind: Record<FaultKind, number>;
}

/** The events a run sends, in send order: what {@link runPipelineSimulator} sends for the same options. */
export function pipelineEmissions<E, V>(
  definition: PipelineDefinition<E, V>,
  options: Pick<PipelineSimulatorOptions, 'minutes' | 'rate' | 'seed' | 'faults'> & { startTime: number },
): Generator<SimulatedEvent> {
  const random = new SeededRandom(options.seed);
  const faultRandom = new SeededRandom(options.seed ^ 0x5bd1e995);
  return simulatedEvents(definition, {
    startTime: options.startTime,
    seconds: options.minutes * 60,
    rate: options.rate,
    random: () => random.next(),
    faultRandom: () => faultRandom.next(),
    ...(options.faults ? { faults: options.faults } : {}),
  });
}

/** Starts sending; resolves once the first batch is on its way. */
export async function runPipelineSimulator<E, V>(
  definition: PipelineDefinition<E, V>,
  options: PipelineSimulatorOptions,
): Promise<PipelineSimulatorHandle> {
  const { name, topic } = definition.description;
  // The Kafka sender's default family is transit's: another pipeline's events would go out as JSON.
  if (!options.sender && options.kafka?.format === 'avro' && !options.kafka.family) {
    throw new RangeError(`avro on Kafka needs the event's schema family (kafka.family) for ${name}`);
  }
  const startTime = options.startTime ?? defaultStartTime(options.minutes, options.speedup ?? 1);
  const byKind: Record<FaultKind, number> = { normal: 0, duplicate: 0, 'out-of-order': 0, late: 0, invalid: 0 };
  const counted = function* (events: Iterable<SimulatedEvent>) {
    for (const event of events) {
      byKind[event.kind]++;
      yield event;
    }
  };
  const delivering = await startDelivery(counted(pipelineEmissions(definition, { ...options, startTime })), {
    ...options,
    path: `/v1/${name}/events`,
    clientId: `streamfold-simulator-${name}`,
    ...(options.kafka ? { kafka: { ...options.kafka, topic } } : {}),
  });
  return { ...delivering, byKind };
}
