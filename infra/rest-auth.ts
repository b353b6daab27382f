/**
 * Who may call each REST route (stack prop `restAuth`): the routes, the modes API Gateway (REST, v1) offers
 * that fit them, and the defaults. Plain data, shared by the stack, its props check and the tests.
 */

import {
  TRANSIT_INGEST_ROUTES,
  TRANSIT_REST_ROUTES,
  TRANSIT_SERVED_REST_AUTH,
} from '../pipelines/transit/description.js';
import {
  deploymentRestAuth,
  engineDeployment,
  pipelineIngestPath,
  type RestAuthorizationName,
} from '../shared/engine/deployment.js';
import type { PipelineDescription } from '../shared/engine/pipeline.js';

/**
 * How callers of a route authenticate:
 * - `none`: public;
 * - `apiKey`: the `x-api-key` header must be a key of a usage plan of the stage (throttled per key);
 * - `iam`: SigV4-signed with AWS credentials allowed `execute-api:Invoke` on the method;
 * - `cognito`: an ID token of the Cognito user pool `cognitoUserPoolArn` in the `Authorization` header
 *   (REST API v1 has no JWT authorizer for other issuers; that would be a Lambda authorizer).
 */
export type RestAuthorization = RestAuthorizationName;

/** Every mode, for checks of values that come from outside TypeScript (context, JSON). */
export const REST_AUTHORIZATIONS: readonly RestAuthorization[] = ['none', 'apiKey', 'iam', 'cognito'];

/** The routes of the REST API, as `METHOD /path` (docs/openapi.yaml): transit's and the health check. */
export const REST_ROUTES = [...TRANSIT_REST_ROUTES, 'GET /health'] as const;

/** One REST route. */
export type RestRouteKey = (typeof REST_ROUTES)[number];

/** Whether `route` is one of transit's ingest routes (served by the ingest function, behind an API key). */
export const isTransitIngestRoute = (route: string): route is (typeof TRANSIT_INGEST_ROUTES)[number] =>
  (TRANSIT_INGEST_ROUTES as readonly string[]).includes(route);

/**
 * The defaults, decided per route by whether its data is public (docs/contracts.md, REST authentication):
 * transit's own (`TRANSIT_DEFAULT_REST_AUTH`), and health, which reveals nothing and is probed by monitors.
 */
export const DEFAULT_REST_AUTH: Readonly<Record<RestRouteKey, RestAuthorization>> = TRANSIT_SERVED_REST_AUTH;

/** The mode of every route: the defaults, overridden by `restAuth`. */
export function resolveRestAuth(
  overrides: Partial<Record<RestRouteKey, RestAuthorization>> = {},
): Record<RestRouteKey, RestAuthorization> {
  return { ...DEFAULT_REST_AUTH, ...overrides };
}

/** Where producers post a pipeline's events: `/v1/<name>/events`. */
export { pipelineIngestPath };

/** A pipeline's ingest route, `POST /v1/<name>/events`. */
export function pipelineIngestRoute(pipeline: Pick<PipelineDescription, 'name'>): string {
  return `POST ${pipelineIngestPath(pipeline)}`;
}

/**
 * The mode of every route of a pipeline, ingest first: `apiKey` for ingest (producers write to the stream,
 * as on transit's `POST /v1/events`), `none` for the read routes (a pipeline's results are public unless
 * the stack says otherwise), each overridden by `overrides` (stack prop `pipelineRestAuth`) where it names
 * the route: the modes its construct gives the routes (`engineDeployment`, `deploymentRestAuth`).
 */
export function resolvePipelineRestAuth(
  pipeline: PipelineDescription,
  overrides: Readonly<Record<string, RestAuthorization>> = {},
): Record<string, RestAuthorization> {
  return deploymentRestAuth(engineDeployment(pipeline), overrides);
}
