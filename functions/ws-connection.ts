/** WebSocket routes `$connect`, `$disconnect`, `subscribe`, `unsubscribe`, `$default`. */
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { TRANSIT_TOPIC_FORMS } from '../pipelines/transit/description.js';
import { dynamoDocumentClient } from '../shared/aws-clients.js';
import { pipelineTopicForms, tableNames } from '../shared/config.js';
import { withPowertools } from '../shared/lambda.js';
import { handleWebSocketEvent } from '../shared/websocket/connection-routes.js';
import { createConnectionStore } from '../shared/websocket/connection-store.js';
import { createDynamoItemTable } from '../shared/websocket/dynamo-item-table.js';

const store = createConnectionStore(createDynamoItemTable(dynamoDocumentClient(), () => tableNames.connections));

/** Transit's topic forms and those of the stack's engine pipelines. */
const topicForms = [...TRANSIT_TOPIC_FORMS, ...pipelineTopicForms()];

export const handler = withPowertools((event: APIGatewayProxyWebsocketEventV2) =>
  handleWebSocketEvent(event, store, topicForms),
);
