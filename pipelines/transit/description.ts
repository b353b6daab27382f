/**
 * What the CDK app and the docs know of transit: plain data, importing nothing at run time. Transit is
 * not (yet) a pipeline on the engine, so it has no `PipelineDescription`; these are its parts that the
 * stack composes beside the engine pipelines.
 */

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

/** The WebSocket topic forms transit publishes, most general first (docs/contracts.md). */
export const TRANSIT_TOPIC_FORMS = ['vehicles', 'anomalies', 'route:{routeId}', 'vehicle:{vehicleId}'] as const;
