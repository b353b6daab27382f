/**
 * Loads a GTFS static feed into the ReferenceTable.
 *
 *   npm run load-gtfs -- <dir> [--table NAME | --stack STACKNAME] [--endpoint URL]
 *
 * Where it goes, first match wins: `--endpoint` (a local DynamoDB endpoint; the table is `--table` or
 * the one `ReferenceTable*` there); `--table` / `--stack` (AWS, or the endpoint in
 * `AWS_ENDPOINT_URL_DYNAMODB`); `AWS_ENDPOINT_URL_DYNAMODB` alone; the running local stack named in
 * `.local/stack.json`; else the `ReferenceTableName` output of the AWS stack `Streamfold`. It prints
 * which one it chose.
 */

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseGtfsFeed } from '../pipelines/transit/gtfs/parse-feed.js';
import { referenceItems, type ShapeSimplification } from '../pipelines/transit/gtfs/reference-items.js';
import { replaceFeed } from '../pipelines/transit/gtfs/reference-store.js';
import { findLocalStack } from './runtime/discovery.js';

export const DEFAULT_STACK_NAME = 'Streamfold';
export const OFFLINE_TABLE_NAME = 'ReferenceTable';

export interface LoadGtfsOptions {
  /** Document client to write with. @default the shared client (endpoint from `AWS_ENDPOINT_URL_DYNAMODB`) */
  client?: DynamoDBDocumentClient;
  /** Progress and warnings. @default console.log */
  log?: (message: string) => void;
}

export interface LoadGtfsResult {
  routes: number;
  shapes: number;
  trips: number;
  stops: number;
  items: number;
  /** The feed version now current, and the one it replaced. */
  version: string;
  previousVersion: string | undefined;
  /** Items of earlier feeds deleted after the switch. */
  deletedItems: number;
  /** Shapes derived from stop sequences (trips without a usable shape), and how many routes have one. */
  derivedShapes: number;
  derivedRoutes: number;
  simplifiedShapes: ShapeSimplification[];
  warnings: string[];
}

/** Parses the feed in `dir` and writes its reference items to `tableName`. */
export async function loadGtfs(dir: string, tableName: string, options: LoadGtfsOptions = {}): Promise<LoadGtfsResult> {
  const log = options.log ?? console.log;
  const feed = await parseGtfsFeed(dir);
  for (const warning of feed.warnings) log(`warning: ${warning}`);
  const simplifiedShapes: ShapeSimplification[] = [];
  const items = referenceItems(feed, {
    onSimplified: (info) => {
      simplifiedShapes.push(info);
      log(
        `shape ${info.shapeId} (route ${info.routeId}) simplified from ${info.pointsBefore} to ${info.pointsAfter} points ` +
          `(tolerance ${info.toleranceM} m) to stay under the DynamoDB item size limit`,
      );
    },
  });
  const replaced = await replaceFeed(items, {
    tableName,
    ...(options.client ? { client: options.client } : {}),
  });
  const written = replaced.written;
  const result = {
    routes: feed.routes.size,
    shapes: feed.routeShapes.length,
    trips: feed.trips.size,
    stops: feed.stops.size,
    items: written,
    version: replaced.version,
    previousVersion: replaced.previousVersion,
    deletedItems: replaced.deleted,
    derivedShapes: feed.derived.shapeIds.size,
    derivedRoutes: feed.derived.routeIds.size,
    simplifiedShapes,
    warnings: feed.warnings,
  };
  if (result.derivedShapes > 0) {
    log(
      `derived ${plural(result.derivedShapes, 'shape')} for ${plural(result.derivedRoutes, 'route')} from their trips' stop sequences ` +
        '(trips without a usable shape in shapes.txt)',
    );
  }
  log(
    `loaded ${result.routes} routes, ${result.shapes} route shapes, ${result.trips} trips, ${result.stops} stops ` +
      `(${written} items) into ${tableName} as feed version ${replaced.version}` +
      (replaced.previousVersion ? ` (replacing ${replaced.previousVersion}` : ' (the first versioned feed') +
      `; ${plural(replaced.deleted, 'item')} of earlier feeds deleted)`,
  );
  return result;
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** The `ReferenceTableName` output of a deployed stack. */
export async function resolveReferenceTable(stackName: string, client = new CloudFormationClient({})): Promise<string> {
  const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  const value = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'ReferenceTableName')?.OutputValue;
  if (!value) throw new Error(`stack ${stackName} has no ReferenceTableName output`);
  return value;
}

/**
 * Offline, tables are named by their template logical id (`ReferenceTable` plus CDK's hash suffix):
 * the one table on the endpoint whose name starts with `ReferenceTable`.
 */
export async function resolveOfflineReferenceTable(client = new DynamoDBClient({})): Promise<string> {
  const { TableNames = [] } = await client.send(new ListTablesCommand({}));
  const matches = TableNames.filter((name) => name.startsWith(OFFLINE_TABLE_NAME));
  if (matches.length !== 1) {
    throw new Error(
      `expected one table named ${OFFLINE_TABLE_NAME}* on the local endpoint, found: ${matches.join(', ') || 'none'}`,
    );
  }
  return matches[0]!;
}

/** The seed name transit's reference table declares (`streamfold:seed`), under which the local stack lists it. */
export const GTFS_SEED = 'gtfs';

/** The repository root (this file is `local/load-gtfs.ts`): where `.local/stack.json` is looked for. */
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The emulators accept any credentials, but the SDK still insists on having some. */
const EMULATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Where a load goes: a table, on a local endpoint or (no endpoint) in AWS, and why that one. */
export interface LoadTarget {
  tableName: string;
  /** A local DynamoDB endpoint; undefined for AWS (or the endpoint in `AWS_ENDPOINT_URL_DYNAMODB`). */
  endpoint?: string;
  region?: string;
  /** One line saying what was chosen and why, for the user. */
  description: string;
}

export interface TargetArgs {
  table?: string | undefined;
  stack?: string | undefined;
  endpoint?: string | undefined;
}

export interface ResolveTargetOptions {
  /** Where `.local/stack.json` is looked for. @default the repository root */
  root?: string;
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** Looks up a table name on an endpoint (tests replace it). @default ListTables on the endpoint */
  offlineTable?: (endpoint: string | undefined, region: string) => Promise<string>;
  /** Looks up a deployed stack's table (tests replace it). @default the stack's `ReferenceTableName` output */
  stackTable?: (stackName: string) => Promise<string>;
}

const emulatorClient = (endpoint: string | undefined, region: string) =>
  new DynamoDBClient({ region, ...(endpoint ? { endpoint, credentials: EMULATOR_CREDENTIALS } : {}) });

/** Decides where a load goes (see the file's comment for the order). */
export async function resolveLoadTarget(args: TargetArgs, options: ResolveTargetOptions = {}): Promise<LoadTarget> {
  if (args.table && args.stack) throw new Error('give either --table or --stack, not both');
  const env = options.env ?? process.env;
  const offlineTable =
    options.offlineTable ??
    ((endpoint: string | undefined, region: string) => resolveOfflineReferenceTable(emulatorClient(endpoint, region)));
  const stackTable = options.stackTable ?? ((name: string) => resolveReferenceTable(name));
  const envEndpoint = env['AWS_ENDPOINT_URL_DYNAMODB'];
  const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1';

  if (args.endpoint) {
    const tableName = args.table ?? (await offlineTable(args.endpoint, region));
    return {
      tableName,
      endpoint: args.endpoint,
      region,
      description: `table ${tableName} on ${args.endpoint} (--endpoint)`,
    };
  }
  if (args.table || args.stack) {
    const tableName = args.table ?? (await stackTable(args.stack!));
    const where = envEndpoint ? `on ${envEndpoint} (AWS_ENDPOINT_URL_DYNAMODB)` : 'in AWS';
    const why = args.table ? '--table' : `output of stack ${args.stack}`;
    return {
      tableName,
      ...(envEndpoint ? { endpoint: envEndpoint, region } : {}),
      description: `table ${tableName} ${where} (${why})`,
    };
  }
  if (envEndpoint) {
    const tableName = await offlineTable(envEndpoint, region);
    return {
      tableName,
      endpoint: envEndpoint,
      region,
      description: `table ${tableName} on ${envEndpoint} (AWS_ENDPOINT_URL_DYNAMODB)`,
    };
  }
  const found = findLocalStack(options.root ?? REPO_ROOT);
  const file = path.relative(process.cwd(), found.file) || found.file;
  const seedTable = found.status === 'found' ? found.stack.seedTables?.[GTFS_SEED] : undefined;
  if (found.status === 'found' && seedTable) {
    const { stack } = found;
    return {
      tableName: seedTable,
      endpoint: stack.endpoints.dynamodb,
      region: stack.region,
      description:
        `the local stack in ${file} (pid ${stack.pid}, ready since ${stack.startedAt}): ` +
        `table ${seedTable} on ${stack.endpoints.dynamodb}`,
    };
  }
  const why =
    found.status === 'stale' ? `ignored ${file}: its stack (pid ${found.stack.pid}) is not running` : `no ${file}`;
  const tableName = await stackTable(DEFAULT_STACK_NAME).catch((error: unknown) => {
    throw new Error(
      `no local stack is running (${why}) and the AWS stack ${DEFAULT_STACK_NAME} could not be read ` +
        `(${(error as Error).message}); start one with npm start, or pass --endpoint, --table or --stack`,
      { cause: error },
    );
  });
  return {
    tableName,
    description: `table ${tableName} in AWS (output of stack ${DEFAULT_STACK_NAME}; no local stack running: ${why})`,
  };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      table: { type: 'string' },
      stack: { type: 'string' },
      endpoint: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const dir = positionals[0];
  if (values.help || !dir) {
    console.log('usage: npm run load-gtfs -- <gtfs-dir> [--table NAME | --stack STACKNAME] [--endpoint URL]');
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const target = await resolveLoadTarget(values);
  console.log(`loading into ${target.description}`);
  const client = target.endpoint
    ? DynamoDBDocumentClient.from(emulatorClient(target.endpoint, target.region ?? 'us-east-1'), {
        marshallOptions: { removeUndefinedValues: true },
      })
    : undefined;
  await loadGtfs(path.resolve(dir), target.tableName, client ? { client } : {});
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exitCode = 1;
  });
}
