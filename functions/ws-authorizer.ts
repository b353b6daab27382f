/** REQUEST authorizer of the WebSocket `$connect` route: passes the token on as the API key, checks Origin. */
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { withPowertools } from '../shared/lambda.js';
import { authorizeConnect, parseAllowedOrigins } from '../shared/websocket/authorizer.js';

const allowedOrigins = parseAllowedOrigins(process.env.WS_ALLOWED_ORIGINS);

export const handler = withPowertools(async (event: APIGatewayRequestAuthorizerEvent) =>
  authorizeConnect(event, allowedOrigins),
);
