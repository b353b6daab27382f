import { type CfnResource, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
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
   * The REQUEST authorizer of `$connect` (`functions/ws-authorizer.ts`): gets the `token` query parameter,
   * returns it as the usage identifier key, and API Gateway accepts the connection only if it is an API
   * key of the subscriber usage plan.
   */
  readonly authorizer: lambda.IFunction;
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

/** The query parameter clients put their API key in (`wss://.../prod?token=<key>`); browsers cannot set headers. */
export const WEBSOCKET_TOKEN_SOURCE = 'route.request.querystring.token';

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
  /** The key subscribers connect with (`?token=<value>`). */
  public readonly subscriberApiKey: apigwv2.ApiKey;

  constructor(scope: Construct, id: string, props: StreamfoldWebSocketApiProps) {
    super(scope, id);
    // One integration shared by all routes: the same function, the same invocation permission.
    const integration = new integrations.WebSocketLambdaIntegration('Integration', props.handler);
    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: 'streamfold-ws',
      description: 'Streamfold live updates',
      routeSelectionExpression: '$request.body.action',
      // The authorizer passes the token on; API Gateway checks it is a key of the subscriber usage plan.
      apiKeySelectionExpression: apigwv2.WebSocketApiKeySelectionExpression.AUTHORIZER_USAGE_IDENTIFIER_KEY,
      disconnectRouteOptions: { integration },
      defaultRouteOptions: { integration, returnResponse: true },
    });
    // Declared as a route of its own: connectRouteOptions cannot require an API key.
    new apigwv2.WebSocketRoute(this, 'ConnectRoute', {
      webSocketApi: this.api,
      routeKey: '$connect',
      integration,
      authorizer: new authorizers.WebSocketLambdaAuthorizer('TokenAuthorizer', props.authorizer, {
        identitySource: [WEBSOCKET_TOKEN_SOURCE],
      }),
      apiKeyRequired: true,
    });
    for (const action of ACTION_ROUTES) this.api.addRoute(action, { integration, returnResponse: true });

    // Control Tower CT.APIGATEWAY.PR.5 (route authorization type): $connect has its authorizer; API Gateway
    // runs one on a WebSocket API's $connect route only, so the other routes are acknowledged.
    const isConnect = (route: CfnResource) => (route as apigwv2.CfnRoute).routeKey === '$connect';
    acknowledgeControl(
      this.api,
      'CT.APIGATEWAY.PR.5',
      'API Gateway takes an authorization type on the $connect route of a WebSocket API only; this route ' +
        'serves a connection that $connect admitted.',
      { where: (route) => !isConnect(route) },
    );
    acknowledgeNag(
      this.api,
      'AwsSolutions-APIG4',
      'Only $connect can authorize a WebSocket; it has a Lambda authorizer and requires an API key. Messages travel ' +
        'on the connection it authorized.',
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

    this.subscriberApiKey = new apigwv2.ApiKey(this, 'SubscriberApiKey', {
      description: 'Key of WebSocket subscribers (?token=<key> on connect)',
    });
    const plan = new apigwv2.UsagePlan(this, 'SubscriberUsagePlan', {
      description: 'WebSocket subscribers',
      apiStages: [{ api: this.api, stage: this.stage }],
      throttle,
    });
    plan.addApiKey(this.subscriberApiKey);
    // The plan names the stage by its literal name; it must exist first.
    plan.node.addDependency(this.stage);
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
