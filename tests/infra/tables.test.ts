import { describe, expect, it } from 'vitest';
import { synthTemplate, synthTemplateJson } from '../helpers/synth.js';

const template = synthTemplate();

/** The table whose logical id starts with `name`, as raw template JSON. */
function table(name: string) {
  const entry = Object.entries(synthTemplateJson().Resources).find(
    ([id, resource]) => resource.Type === 'AWS::DynamoDB::Table' && id.startsWith(name),
  );
  if (!entry) throw new Error(`no table ${name}`);
  return entry[1];
}

describe('DynamoDB tables', () => {
  it('are all on-demand, with point-in-time recovery and server-side encryption', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 7);
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('declare their offline seeding step only where there is one: the GTFS loader for the reference table', () => {
    const seeded = Object.entries(synthTemplateJson().Resources)
      .filter(([, resource]) => resource.Type === 'AWS::DynamoDB::Table' && resource.Metadata?.['streamfold:seed'])
      .map(([id, resource]) => [id.replace(/[0-9A-F]{8}$/, ''), resource.Metadata?.['streamfold:seed']]);

    expect(seeded).toEqual([['ReferenceTable', { name: 'gtfs', loader: 'local/load-gtfs.ts', export: 'loadGtfs' }]]);
  });

  it('are retained when the stack is deleted by default', () => {
    template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it.each([
    ['VehicleStateTable', [{ AttributeName: 'vehicleId', KeyType: 'HASH' }]],
    [
      'WindowsTable',
      [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'windowStart', KeyType: 'RANGE' },
      ],
    ],
    [
      'AnomaliesTable',
      [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    ],
    [
      'EtaTable',
      [
        { AttributeName: 'stopId', KeyType: 'HASH' },
        { AttributeName: 'vehicleId', KeyType: 'RANGE' },
      ],
    ],
    [
      'ReferenceTable',
      [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    ],
    [
      'LateEventsTable',
      [
        { AttributeName: 'routeId', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    ],
    [
      'ConnectionsTable',
      [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    ],
  ])('%s has the key schema of the contract', (name, keySchema) => {
    expect(table(name).Properties?.['KeySchema']).toEqual(keySchema);
  });

  it('types windowStart as a number', () => {
    expect(table('WindowsTable').Properties?.['AttributeDefinitions']).toContainEqual({
      AttributeName: 'windowStart',
      AttributeType: 'N',
    });
  });

  it.each([
    ['VehicleStateTable', 'byRoute', 'routeId', 'vehicleId'],
    ['AnomaliesTable', 'byDay', 'day', 'sk'],
  ])('%s has the GSI %s on (%s, %s) projecting all attributes', (name, indexName, partitionKey, sortKey) => {
    expect(table(name).Properties?.['GlobalSecondaryIndexes']).toEqual([
      {
        IndexName: indexName,
        KeySchema: [
          { AttributeName: partitionKey, KeyType: 'HASH' },
          { AttributeName: sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });

  it.each(['EtaTable', 'ConnectionsTable'])('%s expires items by expiresAt', (name) => {
    expect(table(name).Properties?.['TimeToLiveSpecification']).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });
});
