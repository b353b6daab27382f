// Reads every read-model table of a local stack into plain, comparable data: the fields that record
// processing (versions, source positions, processing times) are dropped, since two paths that fold the
// same events must agree on everything else.
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import type { TestStack } from './local-stack.js';

/** The read-model tables, by the logical-id prefix docs/contracts.md gives them. */
export const READ_MODEL_TABLES = ['VehicleStateTable', 'WindowsTable', 'AnomaliesTable', 'EtaTable', 'LateEventsTable'];

/** Attributes that say how or when an item was written rather than what the events were. */
const BOOKKEEPING = new Set(['version', 'positions', 'eventIds', 'updatedAt', 'detectedAt', 'receivedAt', 'expiresAt']);

/**
 * Sums of speeds are added in batch order, which differs between sources; floating-point addition is
 * not associative, so fractional numbers are compared to 12 significant digits.
 */
const rounded = (_key: string, value: unknown) =>
  typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(12)) : value;

const canonical = (item: Record<string, unknown>) =>
  JSON.stringify(
    Object.fromEntries(
      Object.entries(item)
        .filter(([key]) => !BOOKKEEPING.has(key))
        .sort(),
    ),
    rounded,
  );

/** Table prefix → its items, canonicalized and sorted. */
export async function readModelSnapshot(stack: TestStack): Promise<Record<string, string[]>> {
  const snapshot: Record<string, string[]> = {};
  for (const prefix of READ_MODEL_TABLES) {
    const logicalId = Object.keys(stack.resources).find((id) => id.startsWith(prefix));
    if (!logicalId) throw new Error(`the stack has no ${prefix}`);
    const items: string[] = [];
    for await (const page of paginateScan({ client: stack.dynamo }, { TableName: stack.resources[logicalId] })) {
      for (const item of page.Items ?? []) items.push(canonical(item));
    }
    snapshot[prefix] = items.sort();
  }
  return snapshot;
}

/** The logical id of a stack resource by its contract prefix (CDK appends a hash). */
export function resourceId(stack: TestStack, prefix: string): string {
  const id = Object.keys(stack.resources).find((key) => key.startsWith(prefix));
  if (!id) throw new Error(`the stack has no resource ${prefix}*`);
  return id;
}
