/**
 * SDK clients, created once per execution environment. Endpoints come from the SDK's own
 * `AWS_ENDPOINT_URL_<SERVICE>` variables, so the same code talks to AWS, LocalStack or the local emulators.
 * HTTP/1.1 everywhere: the emulators do not speak HTTP/2, and nothing here streams.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const requestHandler = () => new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 });

let dynamo: DynamoDBDocumentClient | undefined;
let kinesis: KinesisClient | undefined;
let sqs: SQSClient | undefined;
const management = new Map<string, ApiGatewayManagementApiClient>();

/** The DynamoDB document client (plain JS values in and out, undefined attributes dropped). */
export function dynamoDocumentClient(): DynamoDBDocumentClient {
  dynamo ??= DynamoDBDocumentClient.from(new DynamoDBClient({ requestHandler: requestHandler() }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return dynamo;
}

export function kinesisClient(): KinesisClient {
  kinesis ??= new KinesisClient({ requestHandler: requestHandler() });
  return kinesis;
}

export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({ requestHandler: requestHandler() });
  return sqs;
}

/** A client for the WebSocket API's management endpoint (one per endpoint). */
export function managementClient(endpoint: string): ApiGatewayManagementApiClient {
  let client = management.get(endpoint);
  if (!client) {
    client = new ApiGatewayManagementApiClient({ endpoint, requestHandler: requestHandler() });
    management.set(endpoint, client);
  }
  return client;
}
