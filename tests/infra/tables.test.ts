import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  buildApp,
  cdkJsonContext,
  NO_BUNDLING_CONTEXT,
  TRANSIT_PROCESSOR_CONTEXT_KEY,
} from '../../infra/streamfold-app.js';
import { planLocalStack } from '../../local/runtime/plan.js';
import { sensorsDescription } from '../fixtures/pipelines/sensors/description.js';
import { grants, TABLE_READ_WRITE } from '../helpers/iam-grants.js';
import { buildStack, synthTemplate, synthTemplateJson, type TemplateJson } from '../helpers/synth.js';

const template = synthTemplate();
const resources = synthTemplateJson().Resources;

/** Logical id of the one resource of `type` whose id starts with `prefix`. */
function logicalId(all: TemplateJson['Resources'], type: string, prefix: string): string {
  const ids = Object.keys(all).filter((id) => all[id]?.Type === type && id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

/** The table whose logical id starts with `name`, as raw template JSON. */
const table = (name: string) => resources[logicalId(resources, 'AWS::DynamoDB::Table', name)]!;

describe('DynamoDB tables', () => {
  it('are all on-demand, with point-in-time recovery and server-side encryption', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 8);
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('declare their offline seeding step only where there is one: the GTFS loader for the reference table', () => {
    const seeded = Object.entries(resources)
      .filter(([, resource]) => resource.Type === 'AWS::DynamoDB::Table' && resource.Metadata?.['streamfold:seed'])
      .map(([id, resource]) => [id.replace(/[0-9A-F]{8}$/, ''), resource.Metadata?.['streamfold:seed']]);

    expect(seeded).toEqual([['ReferenceTable', { name: 'gtfs', loader: 'local/load-gtfs.ts', export: 'loadGtfs' }]]);
  });

  it('are retained when the stack is deleted by default', () => {
    template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  // A logical id is the construct path's, hash included: if it changed, CloudFormation would make a new,
  // empty table and orphan the old one (retained) with its data, so the full ids are pinned here; the first
  // six are transit's, which its move onto the engine keeps (docs/transit-on-engine.md, step 8).
  it.each([
    ['VehicleStateTable9F85C55A', [['vehicleId', 'S']]],
    [
      'WindowsTable8FD96A3D',
      [
        ['pk', 'S'],
        ['windowStart', 'N'],
      ],
    ],
    [
      'AnomaliesTableC4B4429C',
      [
        ['pk', 'S'],
        ['sk', 'S'],
      ],
    ],
    [
      'EtaTableB77589DA',
      [
        ['stopId', 'S'],
        ['vehicleId', 'S'],
      ],
    ],
    [
      'ReferenceTableAB3BBC1B',
      [
        ['pk', 'S'],
        ['sk', 'S'],
      ],
    ],
    [
      'LateEventsTable95A4966A',
      [
        ['routeId', 'S'],
        ['sk', 'S'],
      ],
    ],
    [
      'ConnectionsTable8000B8A1',
      [
        ['pk', 'S'],
        ['sk', 'S'],
      ],
    ],
  ])('keeps %s under its logical id, with the contract’s typed keys', (id, keys) => {
    const properties = resources[id]?.Properties;

    expect(resources[id]?.Type).toBe('AWS::DynamoDB::Table');
    expect(properties?.['KeySchema']).toEqual(
      keys.map(([name], index) => ({ AttributeName: name, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
    );
    expect(properties?.['AttributeDefinitions']).toEqual(
      expect.arrayContaining(keys.map(([name, type]) => ({ AttributeName: name, AttributeType: type }))),
    );
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

describe('TransitEngineTable', () => {
  const id = logicalId(resources, 'AWS::DynamoDB::Table', 'TransitEngineTable');

  it('is keyed by the strings pk and sk', () => {
    expect(resources[id]?.Properties?.['KeySchema']).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(resources[id]?.Properties?.['AttributeDefinitions']).toEqual(
      expect.arrayContaining([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
    );
  });

  it('has the layout of a pipeline’s engine table: due index, TTL on ttl, on-demand, PITR, encrypted, retained', () => {
    const withPipeline = Template.fromStack(
      buildStack({ kafka: { mode: 'none' }, pipelines: [sensorsDescription] }),
    ).toJSON() as TemplateJson;
    const pipelineTable =
      withPipeline.Resources[logicalId(withPipeline.Resources, 'AWS::DynamoDB::Table', 'SensorsPipelineEngineTable')];

    expect(resources[id]).toEqual(pipelineTable);
    expect(resources[id]?.Properties?.['TimeToLiveSpecification']).toEqual({ AttributeName: 'ttl', Enabled: true });
  });

  it.each(['ProcessorFunction', 'KafkaProcessorFunction'])(
    'is read and written by %s, which gets its name as TRANSIT_ENGINE_TABLE',
    (name) => {
      const fn = logicalId(resources, 'AWS::Lambda::Function', name);
      const environment = resources[fn]?.Properties?.['Environment'] as
        | { Variables?: Record<string, unknown> }
        | undefined;
      const onTable = grants(resources, fn).filter(([, named]) => named.includes(id));

      expect(environment?.Variables?.['TRANSIT_ENGINE_TABLE']).toEqual({ Ref: id });
      expect(onTable).toHaveLength(1);
      expect(onTable[0]?.[0]).toEqual(TABLE_READ_WRITE);
      expect(onTable[0]?.[1]).toContain(`${id}/index/*`);
    },
  );

  it.each([
    [{}, 'engine'],
    [{ transitProcessor: 'batch' as const }, 'batch'],
  ])('sets the core the processors run from transitProcessor (%j: %s)', (props, core) => {
    const built = Template.fromStack(buildStack({ kafka: { mode: 'serverless' }, ...props })).toJSON() as TemplateJson;
    for (const name of ['ProcessorFunction', 'KafkaProcessorFunction']) {
      const fn = built.Resources[logicalId(built.Resources, 'AWS::Lambda::Function', name)];
      const environment = fn?.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined;
      expect(environment?.Variables?.['TRANSIT_PROCESSOR'], name).toBe(core);
    }
  });

  it('takes the core from the context too (cdk deploy -c streamfold:transitProcessor=batch), and refuses another', () => {
    const fromContext = (core: string) =>
      buildApp({ context: { ...cdkJsonContext(), ...NO_BUNDLING_CONTEXT, [TRANSIT_PROCESSOR_CONTEXT_KEY]: core } })
        .stack;
    const built = Template.fromStack(fromContext('batch')).toJSON() as TemplateJson;
    const fn = built.Resources[logicalId(built.Resources, 'AWS::Lambda::Function', 'ProcessorFunction')];
    const environment = fn?.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined;
    expect(environment?.Variables?.['TRANSIT_PROCESSOR']).toBe('batch');
    expect(() => fromContext('shadow')).toThrow('transitProcessor must be one of batch, engine, got "shadow"');
  });

  it('is bound to the two processors and no other function', () => {
    const functions = Object.keys(resources).filter((key) => resources[key]?.Type === 'AWS::Lambda::Function');
    const bound = functions.filter((fn) =>
      JSON.stringify(resources[fn]?.Properties?.['Environment'] ?? {}).includes(`"Ref":"${id}"`),
    );
    const granted = functions.filter((fn) =>
      resources[fn]?.Properties?.['Role'] ? grants(resources, fn).some(([, named]) => named.includes(id)) : false,
    );

    expect(bound.map((fn) => fn.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'KafkaProcessorFunction',
      'ProcessorFunction',
    ]);
    expect(granted.sort()).toEqual(bound.sort());
  });

  it('is an output, TransitEngineTableName', () => {
    expect(synthTemplateJson().Outputs?.['TransitEngineTableName']?.Value).toEqual({ Ref: id });
  });

  it('is created by the offline runtime with its keys and due index', () => {
    const planned = planLocalStack(synthTemplateJson()).tables.find((table) => table.logicalId === id);

    expect(planned?.keySchema).toEqual(resources[id]?.Properties?.['KeySchema']);
    expect(planned?.globalSecondaryIndexes.map((index) => index.IndexName)).toEqual(['due']);
  });

  it('takes its removal policy from the stack’s tableRemovalPolicy', () => {
    const destroyed = Template.fromStack(
      buildStack({ kafka: { mode: 'none' }, tableRemovalPolicy: RemovalPolicy.DESTROY }),
    ).toJSON() as TemplateJson;

    expect(destroyed.Resources[id]).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });
});
