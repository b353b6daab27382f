/**
 * Loads a GTFS static feed into the ReferenceTable.
 *
 *   npm run load-gtfs -- <dir> [--table NAME | --stack STACKNAME]
 *
 * Offline (`AWS_ENDPOINT_URL_DYNAMODB` set) the table defaults to `ReferenceTable` on that endpoint;
 * against AWS the table name is the `ReferenceTableName` output of the CloudFormation stack
 * (default `Streamfold`).
 */

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseGtfsFeed } from '../shared/gtfs/parse-feed.js';
import { referenceItems, type ShapeSimplification } from '../shared/gtfs/reference-items.js';
import { writeReferenceItems } from '../shared/gtfs/reference-store.js';

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
  const written = await writeReferenceItems(items, {
    tableName,
    ...(options.client ? { client: options.client } : {}),
  });
  const result = {
    routes: feed.routes.size,
    shapes: feed.routeShapes.length,
    trips: feed.trips.size,
    stops: feed.stops.size,
    items: written,
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
      `(${written} items) into ${tableName}`,
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

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      table: { type: 'string' },
      stack: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const dir = positionals[0];
  if (values.help || !dir) {
    console.log('usage: npm run load-gtfs -- <gtfs-dir> [--table NAME | --stack STACKNAME]');
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  if (values.table && values.stack) throw new Error('give either --table or --stack, not both');
  const offline = Boolean(process.env['AWS_ENDPOINT_URL_DYNAMODB']);
  if (offline) {
    // The emulators accept any credentials, but the SDK still insists on having some.
    process.env['AWS_REGION'] ??= 'us-east-1';
    process.env['AWS_ACCESS_KEY_ID'] ??= 'local';
    process.env['AWS_SECRET_ACCESS_KEY'] ??= 'local';
  }
  const tableName =
    values.table ??
    (offline && !values.stack
      ? await resolveOfflineReferenceTable()
      : await resolveReferenceTable(values.stack ?? DEFAULT_STACK_NAME));
  await loadGtfs(path.resolve(dir), tableName);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exitCode = 1;
  });
}
