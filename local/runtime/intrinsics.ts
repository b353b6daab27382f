/**
 * Resolves the CloudFormation intrinsics that appear in function environments (`Ref`, `Fn::GetAtt`,
 * `Fn::Join`, `Fn::Sub`, `Fn::Select`) to local names, URLs and well-formed fake ARNs.
 */
import { type CfnTemplate, isRecord } from './template.js';

/** The region every local ARN and client uses. */
export const LOCAL_REGION = 'us-east-1';
/** The account id every local ARN uses. */
export const LOCAL_ACCOUNT_ID = '000000000000';
/** The API id local WebSocket events and ARNs carry. */
export const LOCAL_WEBSOCKET_API_ID = 'localwsapi';

/** Raised when an intrinsic cannot be resolved locally; names the resource and property. */
export class UnresolvableIntrinsicError extends Error {
  override name = 'UnresolvableIntrinsicError';
}

/** Where the local services listen; what `Ref`/`GetAtt` of queues and the WebSocket API resolve to. */
export interface LocalAddresses {
  /** Base URL of the SQS emulator, e.g. `http://127.0.0.1:4566`. */
  sqsEndpoint: string;
  /** The WebSocket management API, e.g. `http://127.0.0.1:3001`. */
  webSocketManagementUrl: string;
  /** The WebSocket client URL, e.g. `ws://127.0.0.1:3001`. */
  webSocketUrl: string;
}

/** Where an expression sits, for error messages. */
export interface IntrinsicLocation {
  resource: string;
  property: string;
}

type ArnService = 'kinesis' | 'dynamodb' | 'sqs' | 'lambda' | 'kafka' | 'events';

/** A fake but well-formed ARN of a local resource. */
export function localArn(service: ArnService, name: string): string {
  const prefix = `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}`;
  switch (service) {
    case 'kinesis':
      return `${prefix}:stream/${name}`;
    case 'dynamodb':
      return `${prefix}:table/${name}`;
    case 'sqs':
      return `${prefix}:${name}`;
    case 'lambda':
      return `${prefix}:function:${name}`;
    case 'kafka':
      return `${prefix}:cluster/${name}/local`;
    case 'events':
      return `${prefix}:rule/${name}`;
  }
}

/** The local URL of a queue, in the shape SQS uses (`<endpoint>/<account>/<name>`). */
export function localQueueUrl(sqsEndpoint: string, name: string): string {
  return `${sqsEndpoint}/${LOCAL_ACCOUNT_ID}/${name}`;
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT_ID,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Streamfold',
  'AWS::StackId': `arn:aws:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stack/Streamfold/local`,
  'AWS::NoValue': '',
};

// Stands for the WebSocket API's id while a Join/Sub is evaluated: whatever URL the template builds
// from it (execute-api callback URL or wss:// URL) becomes the local one.
const WS_API_MARKER = '\u0000streamfold-ws-api\u0000';

const TABLE_TYPES = new Set(['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable']);

/**
 * Resolves one template expression to a string, as CloudFormation would but with local values.
 * @throws UnresolvableIntrinsicError naming `where` for anything it does not know.
 */
export function resolveIntrinsic(
  template: CfnTemplate,
  expression: unknown,
  addresses: LocalAddresses,
  where: IntrinsicLocation,
): string {
  const resolved = evaluate(template, expression, addresses, where);
  if (!resolved.includes(WS_API_MARKER)) return resolved;
  if (resolved === WS_API_MARKER) return LOCAL_WEBSOCKET_API_ID;
  return resolved.startsWith('wss://') ? addresses.webSocketUrl : addresses.webSocketManagementUrl;
}

function fail(where: IntrinsicLocation, detail: string): never {
  throw new UnresolvableIntrinsicError(`${where.resource}.${where.property}: ${detail}`);
}

function evaluate(template: CfnTemplate, expr: unknown, addresses: LocalAddresses, where: IntrinsicLocation): string {
  if (typeof expr === 'string') return expr;
  if (typeof expr === 'number' || typeof expr === 'boolean') return String(expr);
  if (!isRecord(expr)) return fail(where, `cannot resolve ${JSON.stringify(expr)}`);
  const keys = Object.keys(expr);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) return fail(where, `cannot resolve ${JSON.stringify(expr)}`);
  const arg = expr[key];
  switch (key) {
    case 'Ref':
      if (typeof arg !== 'string') return fail(where, 'Ref takes a string');
      return ref(template, arg, addresses, where);
    case 'Fn::GetAtt': {
      const parts = typeof arg === 'string' ? arg.split('.') : arg;
      if (!Array.isArray(parts) || parts.length !== 2) return fail(where, 'Fn::GetAtt takes [logicalId, attribute]');
      const [id, attribute] = parts.map((p) => evaluate(template, p, addresses, where));
      return getAtt(template, id ?? '', attribute ?? '', addresses, where);
    }
    case 'Fn::Join': {
      if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string' || !Array.isArray(arg[1])) {
        return fail(where, 'Fn::Join takes [separator, [values]]');
      }
      const separator = arg[0];
      return arg[1].map((part: unknown) => evaluate(template, part, addresses, where)).join(separator);
    }
    case 'Fn::Select': {
      if (!Array.isArray(arg) || arg.length !== 2 || !Array.isArray(arg[1])) {
        return fail(where, 'Fn::Select takes [index, [values]]');
      }
      const index = Number(evaluate(template, arg[0], addresses, where));
      const item: unknown = arg[1][index];
      if (item === undefined) return fail(where, `Fn::Select index ${index} out of range`);
      return evaluate(template, item, addresses, where);
    }
    case 'Fn::Sub':
      return sub(template, arg, addresses, where);
    default:
      return fail(where, `${key} is not supported by the local runtime`);
  }
}

function sub(template: CfnTemplate, arg: unknown, addresses: LocalAddresses, where: IntrinsicLocation): string {
  const [text, variables] = typeof arg === 'string' ? [arg, {}] : Array.isArray(arg) ? [arg[0], arg[1] ?? {}] : [];
  if (typeof text !== 'string' || !isRecord(variables)) return fail(where, 'Fn::Sub takes a string or [string, {}]');
  return text.replace(/\$\{(!?)([^}]+)\}/g, (_whole, literal: string, name: string) => {
    if (literal) return `\${${name}}`;
    if (name in variables) return evaluate(template, variables[name], addresses, where);
    if (name in PSEUDO_PARAMETERS || !name.includes('.')) return ref(template, name, addresses, where);
    const dot = name.indexOf('.');
    return getAtt(template, name.slice(0, dot), name.slice(dot + 1), addresses, where);
  });
}

function ref(template: CfnTemplate, id: string, addresses: LocalAddresses, where: IntrinsicLocation): string {
  const pseudo = PSEUDO_PARAMETERS[id];
  if (pseudo !== undefined) return pseudo;
  const resource = template.Resources[id];
  if (!resource) return fail(where, `Ref to unknown resource ${id}`);
  switch (resource.Type) {
    case 'AWS::Kinesis::Stream':
    case 'AWS::Lambda::Function':
    case 'AWS::Events::Rule':
      return id;
    case 'AWS::SQS::Queue':
      return localQueueUrl(addresses.sqsEndpoint, id);
    case 'AWS::ApiGatewayV2::Api':
      return WS_API_MARKER;
    case 'AWS::MSK::ServerlessCluster':
    case 'AWS::MSK::Cluster':
      return localArn('kafka', id);
    case 'AWS::ApiGatewayV2::Stage': {
      const stageName = resource.Properties?.StageName;
      return typeof stageName === 'string' ? stageName : fail(where, `${id} has no literal StageName`);
    }
    default:
      if (TABLE_TYPES.has(resource.Type)) return id;
      return fail(where, `Ref to ${id} (${resource.Type}) is not supported by the local runtime`);
  }
}

function getAtt(
  template: CfnTemplate,
  id: string,
  attribute: string,
  addresses: LocalAddresses,
  where: IntrinsicLocation,
): string {
  const resource = template.Resources[id];
  if (!resource) return fail(where, `Fn::GetAtt of unknown resource ${id}`);
  const key = `${resource.Type}.${attribute}`;
  switch (key) {
    case 'AWS::Kinesis::Stream.Arn':
      return localArn('kinesis', id);
    case 'AWS::DynamoDB::Table.Arn':
    case 'AWS::DynamoDB::GlobalTable.Arn':
      return localArn('dynamodb', id);
    case 'AWS::SQS::Queue.Arn':
      return localArn('sqs', id);
    case 'AWS::SQS::Queue.QueueUrl':
      return localQueueUrl(addresses.sqsEndpoint, id);
    case 'AWS::SQS::Queue.QueueName':
      return id;
    case 'AWS::Lambda::Function.Arn':
      return localArn('lambda', id);
    case 'AWS::Events::Rule.Arn':
      return localArn('events', id);
    case 'AWS::MSK::ServerlessCluster.Arn':
    case 'AWS::MSK::Cluster.Arn':
      return localArn('kafka', id);
    case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
      return addresses.webSocketUrl;
    default:
      return fail(where, `Fn::GetAtt ${id}.${attribute} (${resource.Type}) is not supported by the local runtime`);
  }
}

/**
 * The logical id an expression points at through `Ref` or `Fn::GetAtt`, searched anywhere inside it
 * (an integration URI is a Join around the function's ARN). Only ids of `types` count.
 */
export function findReferencedId(template: CfnTemplate, expr: unknown, types: ReadonlySet<string>): string | undefined {
  if (Array.isArray(expr)) {
    for (const item of expr) {
      const found = findReferencedId(template, item, types);
      if (found) return found;
    }
    return undefined;
  }
  if (!isRecord(expr)) return undefined;
  const candidate = typeof expr.Ref === 'string' ? expr.Ref : getAttTarget(expr['Fn::GetAtt']);
  if (candidate !== undefined) {
    const type = template.Resources[candidate]?.Type;
    if (type !== undefined && types.has(type)) return candidate;
  }
  for (const value of Object.values(expr)) {
    const found = findReferencedId(template, value, types);
    if (found) return found;
  }
  return undefined;
}

function getAttTarget(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg.split('.')[0];
  if (Array.isArray(arg) && typeof arg[0] === 'string') return arg[0];
  return undefined;
}
