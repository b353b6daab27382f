import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';
import type { RestAuthorization } from '../rest-auth.js';

/** Steady-state rate and burst of a throttle. */
export interface Throttle {
  /** Requests per second. */
  readonly rateLimit: number;
  /** Requests allowed above the rate for a short burst. */
  readonly burstLimit: number;
}

/** Options of a {@link StreamfoldRestApi}. */
export interface StreamfoldRestApiProps {
  /**
   * Stage name; part of every URL.
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * Throttle applied to every method of the stage, protecting the functions and tables behind them.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttle?: Throttle;
  /**
   * Throttle per API key on routes that require one (the ingest usage plan).
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly apiKeyThrottle?: Throttle;
  /**
   * How long access logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * The Cognito user pool whose ID tokens routes with `authorization: 'cognito'` accept.
   * @default none (no route may use cognito)
   */
  readonly cognitoUserPoolArn?: string;
}

/** Options of one route. */
export interface RouteOptions {
  /**
   * How callers authenticate: public, the usage plan's API key (`x-api-key`), IAM (SigV4), or a Cognito ID token.
   * @default 'none'
   */
  readonly authorization?: RestAuthorization;
  /**
   * Why the route's authorization is enough, written into the acknowledgments of cdk-nag's APIG4
   * (authorization) and COG4 (Cognito) findings for modes other than `iam` and `cognito`.
   * @default a reason per mode, written for transit's routes
   */
  readonly nagReason?: string;
}

/** Why a route's mode is what cdk-nag's APIG4 (authorization) and COG4 (Cognito) rules ask about. */
const NAG_REASONS: Record<RestAuthorization, string> = {
  none:
    'Public, read-only transit data (what agencies publish as GTFS-realtime) chosen per route in the restAuth stack ' +
    'prop; stage throttling limits abuse.',
  apiKey:
    'Event producers are devices and gateways identified by their API key under a throttled usage plan, not end users ' +
    'with a Cognito or IAM identity.',
  iam: 'Callers are back-office tools with AWS credentials, authorized by IAM (SigV4) rather than a Cognito pool.',
  cognito: '',
};

/**
 * The REST API: a regional API with one stage, stage and per-key throttling, JSON access logs,
 * execution error logs, X-Ray tracing, request validation, and one explicit method per route
 * (no `{proxy+}`) so the template lists every route.
 */
export class StreamfoldRestApi extends apigateway.RestApi {
  /** The API key callers of key-protected routes send. */
  public readonly apiKey: apigateway.IApiKey;
  /** The usage plan that throttles key-protected routes per key. */
  public readonly usagePlan: apigateway.UsagePlan;
  private readonly validator: apigateway.RequestValidator;
  private readonly cognitoUserPoolArn: string | undefined;
  private cognitoAuthorizer: apigateway.CognitoUserPoolsAuthorizer | undefined;

  constructor(scope: Construct, id: string, props: StreamfoldRestApiProps = {}) {
    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 200 };
    // Created beside the API because the stage (built inside `super`) needs it.
    const accessLogs = new logs.LogGroup(scope, `${id}AccessLogs`, {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    super(scope, id, {
      restApiName: 'streamfold',
      description: 'Streamfold ingest and query API',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      // API Gateway needs the account-level CloudWatch role to write any log, access logs included.
      cloudWatchRole: true,
      deployOptions: {
        stageName: props.stageName ?? 'prod',
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        // Request bodies carry vehicle positions; keep them out of execution logs.
        dataTraceEnabled: false,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
      },
    });

    this.cognitoUserPoolArn = props.cognitoUserPoolArn;
    // Body validation only applies where a request model is declared. POST /v1/events deliberately has
    // none: the ingest function validates events itself and sends invalid ones, with reasons, to the DLQ.
    this.validator = this.addRequestValidator('RequestValidator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    this.apiKey = this.addApiKey('IngestApiKey', { description: 'Key of event producers (POST /v1/events)' });
    const apiKeyThrottle = props.apiKeyThrottle ?? { rateLimit: 50, burstLimit: 100 };
    this.usagePlan = this.addUsagePlan('IngestUsagePlan', {
      description: 'Per-key throttle of event producers',
      throttle: apiKeyThrottle,
      apiStages: [{ api: this, stage: this.deploymentStage }],
    });
    this.usagePlan.addApiKey(this.apiKey);

    acknowledgeNag(
      this,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'The account-level API Gateway logging role uses the AWS-documented managed policy; it only lets API Gateway write its own logs.',
    );
  }

  /**
   * Adds `httpMethod path` as a Lambda proxy integration. Path parameters (`{name}`) are declared
   * required so API Gateway rejects a request without them before invoking the function.
   */
  addLambdaRoute(
    httpMethod: string,
    path: string,
    fn: lambda.IFunction,
    options: RouteOptions = {},
  ): apigateway.Method {
    const resource = this.root.resourceForPath(path);
    const requestParameters: Record<string, boolean> = {};
    for (const match of path.matchAll(/\{(\w+)\}/g)) requestParameters[`method.request.path.${match[1]}`] = true;
    const authorization = options.authorization ?? 'none';
    const method = resource.addMethod(httpMethod, new apigateway.LambdaIntegration(fn), {
      apiKeyRequired: authorization === 'apiKey',
      ...this.authorizerOf(authorization),
      requestValidator: this.validator,
      requestParameters,
    });
    const reason = options.nagReason ?? NAG_REASONS[authorization];
    if (authorization !== 'iam' && authorization !== 'cognito') acknowledgeNag(method, 'AwsSolutions-APIG4', reason);
    if (authorization !== 'cognito') acknowledgeNag(method, 'AwsSolutions-COG4', reason);
    return method;
  }

  private authorizerOf(authorization: RestAuthorization): apigateway.MethodOptions {
    if (authorization === 'iam') return { authorizationType: apigateway.AuthorizationType.IAM };
    if (authorization !== 'cognito') return { authorizationType: apigateway.AuthorizationType.NONE };
    if (!this.cognitoUserPoolArn) throw new Error('a cognito route needs cognitoUserPoolArn');
    this.cognitoAuthorizer ??= new apigateway.CognitoUserPoolsAuthorizer(this, 'CognitoAuthorizer', {
      cognitoUserPools: [cognito.UserPool.fromUserPoolArn(this, 'UserPool', this.cognitoUserPoolArn)],
    });
    return { authorizationType: apigateway.AuthorizationType.COGNITO, authorizer: this.cognitoAuthorizer };
  }
}
