import { type CfnResource, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeControl } from '../control-tower.js';
import { acknowledgeNag } from '../nag.js';
import type { Throttle } from './streamfold-rest-api.js';

/** Options of a {@link StreamfoldWebSocketApi}. */
export interface StreamfoldWebSocketApiProps {
  /** The function behind every route ($connect, $disconnect, $default, subscribe, unsubscribe). */
  readonly handler: lambda.IFunction;
  /**
   * Stage name; part of the URL and of the management endpoint.
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * Throttle of the stage (messages and connects).
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttle?: Throttle;
  /**
   * How long access logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly accessLogRetention?: logs.RetentionDays;
}

/** Client actions routed by `$request.body.action` (docs/contracts.md, WebSocket messages). */
const ACTION_ROUTES = ['subscribe', 'unsubscribe'] as const;

// The REST standard fields (httpMethod, resourcePath, ...) do not exist for WebSocket requests.
const WEBSOCKET_ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  connectionId: '$context.connectionId',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  status: '$context.status',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  integrationLatency: '$context.integrationLatency',
  error: '$context.error.message',
});

/**
 * The WebSocket API clients subscribe through: every route goes to one function, and the
 * action routes return that function's response to the client.
 */
export class StreamfoldWebSocketApi extends Construct {
  /** The API. */
  public readonly api: apigwv2.WebSocketApi;
  /** The auto-deployed stage. */
  public readonly stage: apigwv2.WebSocketStage;

  constructor(scope: Construct, id: string, props: StreamfoldWebSocketApiProps) {
    super(scope, id);
    // One integration shared by all routes: the same function, the same invocation permission.
    const integration = new integrations.WebSocketLambdaIntegration('Integration', props.handler);
    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: 'streamfold-ws',
      description: 'Streamfold live updates',
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: { integration },
      disconnectRouteOptions: { integration },
      defaultRouteOptions: { integration, returnResponse: true },
    });
    for (const action of ACTION_ROUTES) this.api.addRoute(action, { integration, returnResponse: true });

    // --- Control Tower CT.APIGATEWAY.PR.5 (route authorization type): the suppressions, all here. ---
    // API Gateway runs an authorizer on a WebSocket API's $connect route only; the other routes belong to a
    // connection that $connect already admitted. Remove the $connect one once that route has its authorizer.
    const isConnect = (route: CfnResource) => (route as apigwv2.CfnRoute).routeKey === '$connect';
    acknowledgeControl(
      this.api,
      'CT.APIGATEWAY.PR.5',
      'A public live feed of read-only transit data: $connect admits anyone, and stage throttling limits abuse.',
      { where: isConnect },
    );
    acknowledgeControl(
      this.api,
      'CT.APIGATEWAY.PR.5',
      'API Gateway takes an authorization type on the $connect route of a WebSocket API only; this route ' +
        'serves a connection that $connect admitted.',
      { where: (route) => !isConnect(route) },
    );
    // --- end of CT.APIGATEWAY.PR.5 ---
    acknowledgeNag(
      this.api,
      'AwsSolutions-APIG4',
      'A public live feed of read-only transit data; clients can only subscribe to topics, and stage throttling limits abuse.',
    );

    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 200 };
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName ?? 'prod',
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigateway.AccessLogFormat.custom(WEBSOCKET_ACCESS_LOG_FORMAT),
      },
    });
  }

  /** `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`: where the management API lives. */
  get managementEndpoint(): string {
    return this.stage.callbackUrl;
  }

  /** Lets `grantee` post to and delete connections of this stage. */
  grantManageConnections(grantee: iam.IGrantable): iam.Grant {
    const grant = this.stage.grantManagementApiAccess(grantee);
    const principal = grantee.grantPrincipal;
    if (principal instanceof iam.Role) {
      const apiLogicalId = Stack.of(this).getLogicalId(this.api.node.defaultChild as apigwv2.CfnApi);
      acknowledgeNag(
        principal,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiLogicalId}>/${this.stage.stageName}/*/@connections/*]`,
        'Connection ids exist only at run time; the grant is limited to the connections of this API and stage.',
      );
    }
    return grant;
  }
}
