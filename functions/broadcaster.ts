/** Kinesis consumer of the output stream: pushes each result to the WebSocket clients subscribed to it. */
import type { KinesisStreamEvent } from 'aws-lambda';
import { TRANSIT_OUTPUT_KINDS } from '../pipelines/transit/topics.js';
import { dynamoDocumentClient, managementClient } from '../shared/aws-clients.js';
import { requireEnv, tableNames } from '../shared/config.js';
import { withPowertools } from '../shared/lambda.js';
import { metrics } from '../shared/observability.js';
import { broadcastBatch } from '../shared/websocket/broadcast.js';
import { createConnectionStore } from '../shared/websocket/connection-store.js';
import { createDynamoItemTable } from '../shared/websocket/dynamo-item-table.js';

const store = createConnectionStore(createDynamoItemTable(dynamoDocumentClient(), () => tableNames.connections));

export const handler = withPowertools((event: KinesisStreamEvent, context) =>
  broadcastBatch(
    event,
    { store, poster: managementClient(requireEnv('WS_MANAGEMENT_ENDPOINT')), metrics, kinds: TRANSIT_OUTPUT_KINDS },
    context,
  ),
);
