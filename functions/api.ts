/** REST read API: every GET route of docs/openapi.yaml, routed by `event.resource` + `httpMethod`. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { dynamoDocumentClient } from '../shared/aws-clients.js';
import { tableNames } from '../shared/config.js';
import { createRouter } from '../shared/http/router.js';
import { withPowertools } from '../shared/lambda.js';
import { logger } from '../shared/observability.js';
import { createDynamoReadModels } from '../shared/queries/dynamo-read-models.js';

// `tableNames` getters are lazy, so a missing variable fails the first request with its name, not the import.
const route = createRouter({
  read: createDynamoReadModels(dynamoDocumentClient(), tableNames),
  now: Date.now,
  log: logger,
});

export const handler = withPowertools((event: APIGatewayProxyEvent) => route(event));
