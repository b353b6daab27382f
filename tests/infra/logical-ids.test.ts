/**
 * A stack deployed before transit became a pipeline like the others (one StreamfoldPipeline per pipeline,
 * composed from their deployments) must update in place: every resource keeps its logical id and type,
 * and no table is replaced. The fixture is the default template of 2026-12-03, before the move.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { synthTemplateJson } from '../helpers/synth.js';

interface Pinned {
  Type: string;
  KeySchema?: unknown;
  AttributeDefinitions?: unknown;
  GlobalSecondaryIndexes?: { IndexName: string; KeySchema: unknown }[];
}

const before = JSON.parse(
  readFileSync(new URL('../fixtures/infra/template-2026-12-03.json', import.meta.url), 'utf8'),
) as { resources: Record<string, Pinned> };
const now = synthTemplateJson().Resources;

describe("the template against 2026-12-03's, before transit was built as a pipeline", () => {
  it('has every resource it had, by the same logical id and of the same type', () => {
    const missing = Object.entries(before.resources)
      .filter(([id, pinned]) => now[id]?.Type !== pinned.Type)
      .map(([id, pinned]) => `${id} (${pinned.Type})`);

    expect(Object.keys(before.resources).length).toBeGreaterThan(150);
    expect(missing).toEqual([]);
  });

  it("keeps every table's keys and indexes, so CloudFormation replaces none", () => {
    const tables = Object.entries(before.resources).filter(([, pinned]) => pinned.Type === 'AWS::DynamoDB::Table');
    const keys = (properties: Record<string, unknown> | undefined) => ({
      KeySchema: properties?.['KeySchema'],
      AttributeDefinitions: properties?.['AttributeDefinitions'],
      GlobalSecondaryIndexes: (properties?.['GlobalSecondaryIndexes'] as Pinned['GlobalSecondaryIndexes'])?.map(
        ({ IndexName, KeySchema }) => ({ IndexName, KeySchema }),
      ),
    });

    expect(tables.map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual([
      'AnomaliesTable',
      'ConnectionsTable',
      'EtaTable',
      'LateEventsTable',
      'ReferenceTable',
      'TransitEngineTable',
      'VehicleStateTable',
      'WindowsTable',
    ]);
    for (const [id, pinned] of tables) {
      expect(keys(now[id]?.Properties), id).toEqual({
        KeySchema: pinned.KeySchema,
        AttributeDefinitions: pinned.AttributeDefinitions,
        GlobalSecondaryIndexes: pinned.GlobalSecondaryIndexes,
      });
    }
  });
});
