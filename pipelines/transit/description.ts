/**
 * What the CDK app and the docs know of transit: plain data (it imports only other plain data). Its
 * deployment (`TRANSIT_DEPLOYMENT`) is spelled out rather than derived from a `PipelineDescription` as
 * the engine pipelines' are: transit was deployed before pipelines existed, and its stacks keep its
 * tables, logical ids, functions and routes.
 */
import type { PipelineDeployment, TableDeployment } from '../../shared/engine/deployment.js';
import { engineTable } from '../../shared/engine/deployment.js';
import { EVENT_TIME_SETTINGS } from '../../shared/settings.js';
import { TRANSIT_SETTINGS } from './settings.js';

/**
 * Where producers post vehicle positions: `/v1/events`, as it always was, and `/v1/transit/events`, where
 * every pipeline takes its events (`/v1/<name>/events`). Both are served by `functions/ingest.ts`.
 */
export const TRANSIT_INGEST_ROUTES = ['POST /v1/events', 'POST /v1/transit/events'] as const;

/** Transit's REST routes, as `METHOD /path` (docs/openapi.yaml); `functions/api.ts` serves the GETs. */
export const TRANSIT_REST_ROUTES = [
  ...TRANSIT_INGEST_ROUTES,
  'GET /v1/vehicles',
  'GET /v1/vehicles/{vehicleId}',
  'GET /v1/routes/{routeId}/metrics',
  'GET /v1/stops/{stopId}/eta',
  'GET /v1/anomalies',
] as const;

/** Who may call each of transit's routes by default (docs/contracts.md, REST authentication). */
export const TRANSIT_DEFAULT_REST_AUTH = {
  // Producers write with an API key.
  'POST /v1/events': 'apiKey',
  'POST /v1/transit/events': 'apiKey',
  // Vehicle positions, route metrics and stop ETAs are what transit agencies publish anyway (GTFS-realtime
  // feeds are open), and a passenger map reads them without logging in.
  'GET /v1/vehicles': 'none',
  'GET /v1/vehicles/{vehicleId}': 'none',
  'GET /v1/routes/{routeId}/metrics': 'none',
  'GET /v1/stops/{stopId}/eta': 'none',
  // Anomalies (stalled, off-route, impossible jumps) are operational incident data about vehicles and their
  // drivers, for back-office tools.
  'GET /v1/anomalies': 'iam',
} as const satisfies Record<(typeof TRANSIT_REST_ROUTES)[number], string>;

/**
 * Every route transit's functions serve with its default authorization: its own, and the stack's health
 * check, which its API function answers; health reveals nothing and is probed by monitors.
 */
export const TRANSIT_SERVED_REST_AUTH = { ...TRANSIT_DEFAULT_REST_AUTH, 'GET /health': 'none' } as const;

/** The WebSocket topic forms transit publishes, most general first (docs/contracts.md). */
export const TRANSIT_TOPIC_FORMS = ['vehicles', 'anomalies', 'route:{routeId}', 'vehicle:{vehicleId}'] as const;

/** The name `npm start` and the offline runtime's `seeds` option give transit's GTFS feed by. */
export const TRANSIT_SEED = 'gtfs';

/** Construct id of the engine's table beside transit's own (docs/transit-on-engine.md, step 8). */
export const TRANSIT_ENGINE_TABLE_ID = 'TransitEngineTable';

/** One of transit's read models: written by the processors, read by the API (keys per docs/contracts.md). */
const readModel = (table: Omit<TableDeployment, 'access'>): TableDeployment => ({
  ...table,
  access: { processors: 'readWrite', api: 'read' },
});

/**
 * What the CDK app builds for transit, at the stack's top level (no construct id), as it always was: a
 * module per function; the event-time settings on ingest and the processors, its own on the processors;
 * its read models, its GTFS reference and the engine's table beside them; and its routes with their
 * default authorization (`TRANSIT_DEFAULT_REST_AUTH`; the API function also answers `GET /health`).
 * The Kafka processor keeps the consumer group it always had.
 */
export const TRANSIT_DEPLOYMENT: PipelineDeployment = {
  name: 'transit',
  shards: 2,
  kafka: { topic: 'vehicle.position.v1', consumerGroupId: 'streamfold-processor' },
  functions: {
    ingest: { entry: 'functions/ingest.ts', handler: 'handler' },
    processor: { entry: 'functions/processor.ts', handler: 'handler' },
    kafkaProcessor: { entry: 'functions/kafka-processor.ts', handler: 'handler' },
    api: { entry: 'functions/api.ts', handler: 'handler' },
  },
  settings: [
    ...Object.values(EVENT_TIME_SETTINGS).map((setting) => ({ setting, for: ['ingest', 'processors'] as const })),
    ...Object.values(TRANSIT_SETTINGS).map((setting) => ({ setting, for: ['processors'] as const })),
  ],
  tables: [
    readModel({
      id: 'VehicleStateTable',
      variable: 'VEHICLE_STATE_TABLE',
      partitionKey: { name: 'vehicleId' },
      indexes: [{ name: 'byRoute', partitionKey: { name: 'routeId' }, sortKey: { name: 'vehicleId' } }],
    }),
    readModel({
      id: 'WindowsTable',
      variable: 'WINDOWS_TABLE',
      partitionKey: { name: 'pk' },
      sortKey: { name: 'windowStart', type: 'N' },
    }),
    readModel({
      id: 'AnomaliesTable',
      variable: 'ANOMALIES_TABLE',
      partitionKey: { name: 'pk' },
      sortKey: { name: 'sk' },
      indexes: [{ name: 'byDay', partitionKey: { name: 'day' }, sortKey: { name: 'sk' } }],
    }),
    readModel({
      id: 'EtaTable',
      variable: 'ETA_TABLE',
      partitionKey: { name: 'stopId' },
      sortKey: { name: 'vehicleId' },
      ttlAttribute: 'expiresAt',
    }),
    {
      id: 'ReferenceTable',
      variable: 'REFERENCE_TABLE',
      partitionKey: { name: 'pk' },
      sortKey: { name: 'sk' },
      // Offline, `npm start` loads the synthetic city's GTFS feed (or --gtfs DIR) into it.
      seed: { name: TRANSIT_SEED, loader: 'local/load-gtfs.ts', export: 'loadGtfs' },
      access: { processors: 'read', api: 'read' },
    },
    readModel({
      id: 'LateEventsTable',
      variable: 'LATE_EVENTS_TABLE',
      partitionKey: { name: 'routeId' },
      sortKey: { name: 'sk' },
    }),
    // The entity items and outputs TransitTablesStore does not keep in the read models.
    engineTable(TRANSIT_ENGINE_TABLE_ID, 'TRANSIT_ENGINE_TABLE', { processors: 'readWrite' }),
  ],
  ingestRoutes: Object.fromEntries(TRANSIT_INGEST_ROUTES.map((route) => [route, TRANSIT_DEFAULT_REST_AUTH[route]])),
  readRoutes: Object.fromEntries(
    Object.entries(TRANSIT_SERVED_REST_AUTH).filter(([route]) => route.startsWith('GET ')),
  ),
};
