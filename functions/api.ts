/** REST read API: every GET route of docs/openapi.yaml, routed by `event.resource` + `httpMethod`. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { transitTables } from '../pipelines/transit/config.js';
import { createDynamoReadModels } from '../pipelines/transit/queries/dynamo-read-models.js';
import { routes } from '../pipelines/transit/routes.js';
import { dynamoDocumentClient } from '../shared/aws-clients.js';
import { createRouter } from '../shared/http/router.js';
import { withPowertools } from '../shared/lambda.js';
import { logger } from '../shared/observability.js';

// `transitTables` getters are lazy, so a missing variable fails the first request with its name, not the import.
const route = createRouter({
  read: createDynamoReadModels(dynamoDocumentClient(), transitTables),
  now: Date.now,
  log: logger,
  routes,
});

export const handler = withPowertools((event: APIGatewayProxyEvent) => route(event));
