/**
 * REST API Gateway behaviour without the network: route matching with API Gateway's precedence, the
 * proxy (payload v1) event, and translating a proxy result back to an HTTP response.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from './intrinsics.js';
import type { RestRoutePlan } from './plan.js';

/** A matched route and the values of its `{param}` segments. */
export interface RouteMatch {
  route: RestRoutePlan;
  pathParameters: Record<string, string>;
}

type SegmentKind = 'literal' | 'param' | 'greedy';

function segmentKind(segment: string): SegmentKind {
  if (/^\{.+\+\}$/.test(segment)) return 'greedy';
  if (/^\{.+\}$/.test(segment)) return 'param';
  return 'literal';
}

const SPECIFICITY: Record<SegmentKind, number> = { literal: 2, param: 1, greedy: 0 };

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

/** Matches a path against a resource path template; returns the path parameters and a specificity score. */
/** A path segment decoded as API Gateway passes path parameters; a malformed escape stays as sent for the function to refuse. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function matchPath(
  template: string,
  path: string,
): { params: Record<string, string>; score: number[] } | undefined {
  const wanted = splitPath(template);
  const actual = splitPath(path);
  const params: Record<string, string> = {};
  const score: number[] = [];
  for (let i = 0; i < wanted.length; i++) {
    const segment = wanted[i] ?? '';
    const kind = segmentKind(segment);
    score.push(SPECIFICITY[kind]);
    if (kind === 'greedy') {
      const rest = actual.slice(i);
      if (rest.length === 0) return undefined;
      params[segment.slice(1, -2)] = rest.map(decodeSegment).join('/');
      return { params, score };
    }
    const value = actual[i];
    if (value === undefined) return undefined;
    if (kind === 'param') params[segment.slice(1, -1)] = decodeSegment(value);
    else if (segment !== value) return undefined;
  }
  return actual.length === wanted.length ? { params, score } : undefined;
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? -1) - (b[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * The route API Gateway would pick: the most specific path (literal over `{param}` over `{proxy+}`,
 * segment by segment), then the exact method over `ANY`. `undefined` when none matches.
 */
export function matchRoute(routes: readonly RestRoutePlan[], method: string, path: string): RouteMatch | undefined {
  let best: { route: RestRoutePlan; params: Record<string, string>; score: number[] } | undefined;
  const upper = method.toUpperCase();
  for (const route of routes) {
    if (route.httpMethod !== upper && route.httpMethod !== 'ANY') continue;
    const match = matchPath(route.path, path);
    if (!match) continue;
    const score = [...match.score, route.httpMethod === 'ANY' ? 0 : 1];
    if (!best || compareScores(score, best.score) > 0) best = { route, params: match.params, score };
  }
  return best ? { route: best.route, pathParameters: best.params } : undefined;
}

/** The parts of an HTTP request the proxy event is built from. */
export interface RestRequest {
  method: string;
  /** Path and query string, as received (e.g. `/v1/vehicles?route=R1`). */
  url: string;
  /** Node's `rawHeaders`: name, value, name, value... (keeps case and repeats). */
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
  requestId: string;
  apiId: string;
  domainName: string;
  now: Date;
}

/** The REST proxy integration event (payload v1), as API Gateway builds it. */
export function buildRestEvent(match: RouteMatch, request: RestRequest): APIGatewayProxyEvent {
  const url = new URL(request.url, 'http://localhost');
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] ?? '';
    const value = request.rawHeaders[i + 1] ?? '';
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const hasQuery = Object.keys(query).length > 0;
  const hasParams = Object.keys(match.pathParameters).length > 0;
  const { route } = match;
  const headerValue = (name: string) =>
    Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1] ?? null;
  return {
    resource: route.path,
    path: url.pathname,
    httpMethod: request.method.toUpperCase(),
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: hasParams ? match.pathParameters : null,
    stageVariables: null,
    body: request.body.length > 0 ? request.body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: request.apiId,
      authorizer: null,
      domainName: request.domainName,
      domainPrefix: request.domainName.split('.')[0] ?? request.domainName,
      extendedRequestId: request.requestId,
      httpMethod: request.method.toUpperCase(),
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: route.apiKeyRequired ? headerValue('x-api-key') : null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp,
        user: null,
        userAgent: headerValue('user-agent'),
        userArn: null,
      },
      path: `/${route.stageName}${url.pathname}`,
      protocol: 'HTTP/1.1',
      requestId: request.requestId,
      requestTime: request.now.toISOString(),
      requestTimeEpoch: request.now.getTime(),
      resourceId: route.methodLogicalId,
      resourcePath: route.path,
      stage: route.stageName,
    },
  };
}

/** An HTTP response to write. */
export interface HttpResponse {
  statusCode: number;
  /** Header name → values (repeated headers stay separate). */
  headers: Record<string, string[]>;
  body: Buffer;
}

/** API Gateway's answer when a Lambda proxy response is malformed or the function failed. */
export const BAD_GATEWAY: HttpResponse = jsonResponse(502, { message: 'Internal server error' });

/** A JSON response with API Gateway's error header conventions. */
export function jsonResponse(
  statusCode: number,
  payload: unknown,
  headers: Record<string, string[]> = {},
): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': ['application/json'], ...headers },
    body: Buffer.from(JSON.stringify(payload)),
  };
}

/** Translates a proxy result (`statusCode`, `headers`, `multiValueHeaders`, `body`, `isBase64Encoded`). */
export function translateProxyResult(value: unknown): HttpResponse {
  if (typeof value !== 'object' || value === null) return BAD_GATEWAY;
  const result = value as Record<string, unknown>;
  const statusCode = Number(result.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return BAD_GATEWAY;
  const headers: Record<string, string[]> = {};
  if (typeof result.headers === 'object' && result.headers !== null) {
    for (const [name, v] of Object.entries(result.headers)) headers[name.toLowerCase()] = [String(v)];
  }
  if (typeof result.multiValueHeaders === 'object' && result.multiValueHeaders !== null) {
    for (const [name, values] of Object.entries(result.multiValueHeaders)) {
      if (Array.isArray(values)) headers[name.toLowerCase()] = values.map(String);
    }
  }
  const rawBody = result.body === undefined || result.body === null ? '' : String(result.body);
  const body = result.isBase64Encoded === true ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody, 'utf8');
  headers['content-type'] ??= ['application/json'];
  return { statusCode, headers, body };
}
