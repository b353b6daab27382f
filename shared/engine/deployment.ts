/**
 * What the CDK app builds for one pipeline, as plain data: its functions (which code, which settings),
 * its tables (keys, indexes, who may read and write them), its routes and its Kafka consumer. The stack
 * builds every pipeline from one of these with the same construct (infra/constructs/streamfold-pipeline.ts),
 * so nothing in infra knows what a pipeline computes.
 *
 * An engine pipeline's deployment follows from its description (`engineDeployment`). Transit, deployed
 * before the engine existed, spells its own out (pipelines/transit/description.ts): its tables, module per
 * function and routes are the ones its clients and its deployed stacks already have.
 */
import type { Setting } from '../settings.js';
import type { PipelineDescription } from './pipeline.js';

/** The functions of a pipeline; `processors` in an access list means both processors. */
export type PipelineRole = 'ingest' | 'processor' | 'kafkaProcessor' | 'tick' | 'api';

/** Who a table or setting is for: a role, or `processors` for the Kinesis and the Kafka processor alike. */
export type RoleGroup = Exclude<PipelineRole, 'processor' | 'kafkaProcessor'> | 'processors';

/** The roles a group stands for. */
export const rolesOf = (group: RoleGroup): readonly PipelineRole[] =>
  group === 'processors' ? ['processor', 'kafkaProcessor'] : [group];

/** A key attribute of a table or index, as DynamoDB types it. */
export interface KeyDeployment {
  name: string;
  /** @default 'S' */
  type?: 'S' | 'N';
}

/** One table of a pipeline. */
export interface TableDeployment {
  /** Construct id, the prefix of its logical id (and, after the pipeline's prefix, of its output `<id>Name`). */
  id: string;
  /** The variable the functions read its name from. */
  variable: string;
  partitionKey: KeyDeployment;
  sortKey?: KeyDeployment;
  /** Global secondary indexes, all attributes projected. */
  indexes?: readonly { name: string; partitionKey: KeyDeployment; sortKey?: KeyDeployment }[];
  /** Attribute of an epoch-seconds expiry DynamoDB deletes items by. */
  ttlAttribute?: string;
  /** The offline runtime's seeding step (`streamfold:seed` metadata). */
  seed?: { name: string; loader: string; export: string };
  /** Which functions may use it, and how; a function not named has no access and no variable. */
  access: Partial<Record<RoleGroup, 'read' | 'write' | 'readWrite'>>;
}

/** The code of one function: a repo-relative module and the export Lambda invokes. */
export interface FunctionCode {
  entry: string;
  handler: string;
  /** Powertools service name. @default the entry's file name */
  serviceName?: string;
}

/** Everything the CDK app builds for one pipeline. */
export interface PipelineDeployment {
  name: string;
  /**
   * Construct id of the pipeline in the stack: the prefix of its resources' logical ids, its outputs and
   * its alarms. Absent for a pipeline whose resources were deployed at the stack's top level before
   * pipelines existed (transit): they keep those logical ids, and an existing stack updates in place.
   */
  constructId?: string;
  /** Input stream shards. */
  shards: number;
  /** The Kafka topic it consumes, and the consumer group (a new group would start from its first offset). */
  kafka: { topic: string; consumerGroupId: string };
  /** Code of each function; without `tick`, the pipeline has no tick and no schedule. */
  functions: Record<Exclude<PipelineRole, 'tick'>, FunctionCode> & { tick?: FunctionCode & { rate: string } };
  /** Numeric settings and the functions that read them; each function gets the variables of its own. */
  settings: readonly { setting: Setting; for: readonly RoleGroup[] }[];
  tables: readonly TableDeployment[];
  /** Routes the ingest function serves (`POST /v1/<name>/events`, and any it served before), and their default authorization. */
  ingestRoutes: Readonly<Record<string, RestAuthorizationName>>;
  /** Routes the api function serves, and their default authorization. */
  readRoutes: Readonly<Record<string, RestAuthorizationName>>;
}

/** How callers of a REST route authenticate (infra/rest-auth.ts says what each means). */
export type RestAuthorizationName = 'none' | 'apiKey' | 'iam' | 'cognito';

/** Every route of a deployment, ingest first, with its authorization: its default unless `overrides` names it. */
export function deploymentRestAuth(
  d: Pick<PipelineDeployment, 'ingestRoutes' | 'readRoutes'>,
  overrides: Readonly<Record<string, RestAuthorizationName>> = {},
): Record<string, RestAuthorizationName> {
  return Object.fromEntries(
    Object.entries({ ...d.ingestRoutes, ...d.readRoutes }).map(([route, mode]) => [route, overrides[route] ?? mode]),
  );
}

/** Every processor's and the tick's role groups. */
const ALL: readonly RoleGroup[] = ['ingest', 'processors', 'tick', 'api'];

/**
 * The engine store's table (shared/engine/dynamo-engine-store.ts): items by `pk`/`sk`, the sparse `due`
 * index of open windows and sessions by close time, which the tick queries, and expiry by `ttl`. Written
 * by the processors and the tick, read by the api.
 */
export function engineTable(id: string, variable: string, access: TableDeployment['access']): TableDeployment {
  return {
    id,
    variable,
    partitionKey: { name: 'pk' },
    sortKey: { name: 'sk' },
    indexes: [{ name: 'due', partitionKey: { name: 'dueShard' }, sortKey: { name: 'closeAt', type: 'N' } }],
    ttlAttribute: 'ttl',
    access,
  };
}

/**
 * The names a pipeline's resources give the stack's outputs, alarms and dashboard series, its prefix
 * first: two pipelines must not share one (transit's have no prefix, so a pipeline whose construct id
 * is `Kafka` would take over transit's `KafkaProcessorFailureQueueUrl`).
 */
export function deploymentNames(d: PipelineDeployment): string[] {
  const p = d.constructId ?? '';
  return [
    `${p}InputStream`,
    `${p}InputStreamName`,
    ...d.tables.map((table) => `${p}${table.id}Name`),
    `${p}ProcessorFailureQueue`,
    `${p}ProcessorFailureQueueUrl`,
    `${p}KafkaProcessorFailureQueue`,
    `${p}KafkaProcessorFailureQueueUrl`,
    `${p}IngestPath`,
  ];
}

/** `/v1/<name>/events`: where producers post a pipeline's events. */
export const pipelineIngestPath = (pipeline: Pick<PipelineDescription, 'name'>): string =>
  `/v1/${pipeline.name}/events`;

/**
 * An engine pipeline's deployment: one module exporting its five handlers, each function named
 * `<name>-<handler>` in logs and metrics; its engine table (and reference table, keyed by `pk`, read by
 * the processors); every setting on every function; ingest behind an API key, the read routes public.
 */
export function engineDeployment(d: PipelineDescription): PipelineDeployment {
  const code = (handler: string): FunctionCode => ({
    entry: d.handlers,
    handler,
    serviceName: `${d.name}-${handler.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`,
  });
  return {
    name: d.name,
    constructId: d.constructId,
    shards: d.shards,
    kafka: { topic: d.topic, consumerGroupId: `streamfold-${d.name}-processor` },
    functions: {
      ingest: code('ingest'),
      processor: code('processor'),
      kafkaProcessor: code('kafkaProcessor'),
      api: code('api'),
      tick: { ...code('tick'), rate: d.tickRate },
    },
    settings: (d.settings ?? []).map((setting) => ({ setting, for: ALL })),
    tables: [
      engineTable('EngineTable', 'ENGINE_TABLE', { processors: 'readWrite', tick: 'readWrite', api: 'read' }),
      ...(d.reference
        ? [
            {
              id: 'ReferenceTable',
              variable: 'REFERENCE_TABLE',
              partitionKey: { name: 'pk' },
              ...(d.reference.seed ? { seed: d.reference.seed } : {}),
              access: { processors: 'read' },
            } satisfies TableDeployment,
          ]
        : []),
    ],
    ingestRoutes: { [`POST ${pipelineIngestPath(d)}`]: 'apiKey' },
    readRoutes: Object.fromEntries(d.routes.map((route) => [route, 'none'])),
  };
}
