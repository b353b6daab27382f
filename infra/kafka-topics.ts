import { readFileSync } from 'node:fs';
import { repoPath } from './paths.js';

/** A Kafka topic of the event contracts (`schemas/registry.json`). */
export interface ContractTopic {
  readonly name: string;
  readonly partitions: number;
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
