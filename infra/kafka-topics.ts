import { readFileSync } from 'node:fs';
import { repoPath } from './paths.js';

/** A Kafka topic of the event contracts (`schemas/registry.json`). */
export interface ContractTopic {
  readonly name: string;
  readonly partitions: number;
}

/** The topic the Kafka processor consumes (docs/contracts.md). */
export const VEHICLE_POSITION_TOPIC = 'vehicle.position.v1';

/** The topic `name` as `schemas/registry.json` declares it; fails at synth time when it is missing or malformed. */
export function contractTopic(name: string): ContractTopic {
  const topic = declaredTopic(name);
  if (!topic) throw new Error(`schemas/registry.json declares no topic ${name}`);
  return topic;
}

/** The topic `name` as `schemas/registry.json` declares it, or undefined when it declares none; fails when malformed. */
export function declaredTopic(name: string): ContractTopic | undefined {
  const registry = JSON.parse(readFileSync(repoPath('schemas/registry.json'), 'utf8')) as {
    topics?: { name?: unknown; partitions?: unknown }[];
  };
  const topic = registry.topics?.find((candidate) => candidate.name === name);
  if (!topic) return undefined;
  const { partitions } = topic;
  if (!(typeof partitions === 'number' && Number.isInteger(partitions) && partitions >= 1)) {
    throw new Error(`schemas/registry.json: topic ${name} needs a whole number of partitions >= 1`);
  }
  return { name, partitions };
}
