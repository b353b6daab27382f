import { describe, expect, it } from 'vitest';
import { planLocalStack, type RestRoutePlan } from '../../../local/runtime/plan.js';
import { BAD_GATEWAY, buildRestEvent, matchRoute, translateProxyResult } from '../../../local/runtime/rest-routes.js';
import { fixtureTemplate } from './fixtures/fixture-template.js';

const routes = planLocalStack(fixtureTemplate()).restRoutes;
const route = (path: string, httpMethod = 'GET'): RestRoutePlan => ({
  methodLogicalId: `M${path}`,
  restApiLogicalId: 'Api',
  stageName: 'prod',
  httpMethod,
  path,
  apiKeyRequired: false,
  authorizationType: 'NONE',
  target: { kind: 'lambda', functionLogicalId: 'Fn' },
});

describe('matchRoute', () => {
  it('matches a {param} segment and decodes it', () => {
    const match = matchRoute(routes, 'GET', '/v1/items/a%20b');

    expect(match?.route.path).toBe('/v1/items/{itemId}');
    expect(match?.pathParameters).toEqual({ itemId: 'a b' });
  });

  it('passes a malformed escape on as sent instead of throwing', () => {
    expect(matchRoute(routes, 'GET', '/v1/items/%E0%A4%A')?.pathParameters).toEqual({ itemId: '%E0%A4%A' });
  });

  it('prefers a literal segment over a {param}', () => {
    expect(matchRoute(routes, 'GET', '/v1/items/latest')?.route.path).toBe('/v1/items/latest');
  });

  it('matches the root resource', () => {
    expect(matchRoute(routes, 'GET', '/')?.route.path).toBe('/');
  });

  it('finds nothing for an unknown path or method', () => {
    expect(matchRoute(routes, 'GET', '/v2/items')).toBeUndefined();
    expect(matchRoute(routes, 'DELETE', '/v1/items')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/v1/items/a/b')).toBeUndefined();
  });

  it('lets {proxy+} take the rest of the path, below a {param}', () => {
    const table = [route('/files/{proxy+}', 'ANY'), route('/files/{name}')];

    expect(matchRoute(table, 'GET', '/files/a')?.route.path).toBe('/files/{name}');
    expect(matchRoute(table, 'GET', '/files/a/b/c')?.pathParameters).toEqual({ proxy: 'a/b/c' });
  });

  it('prefers the exact method over ANY', () => {
    const table = [route('/x', 'ANY'), route('/x', 'POST')];

    expect(matchRoute(table, 'POST', '/x')?.route.httpMethod).toBe('POST');
    expect(matchRoute(table, 'PUT', '/x')?.route.httpMethod).toBe('ANY');
  });
});

describe('buildRestEvent', () => {
  const match = { route: route('/v1/items/{itemId}'), pathParameters: { itemId: '42' } };
  const event = buildRestEvent(match, {
    method: 'get',
    url: '/v1/items/42?tag=a&tag=b&x=1',
    rawHeaders: ['X-Trace', 'one', 'X-Trace', 'two', 'User-Agent', 'test'],
    body: Buffer.alloc(0),
    sourceIp: '127.0.0.1',
    requestId: 'req-1',
    apiId: 'Api',
    domainName: '127.0.0.1:3000',
    now: new Date(Date.UTC(2025, 0, 1)),
  });

  it('carries single and multi-value headers and query strings like API Gateway', () => {
    expect(event.headers).toEqual({ 'X-Trace': 'two', 'User-Agent': 'test' });
    expect(event.multiValueHeaders).toEqual({ 'X-Trace': ['one', 'two'], 'User-Agent': ['test'] });
    expect(event.queryStringParameters).toEqual({ tag: 'b', x: '1' });
    expect(event.multiValueQueryStringParameters).toEqual({ tag: ['a', 'b'], x: ['1'] });
  });

  it('fills resource, path, parameters and request context', () => {
    expect(event).toMatchObject({
      resource: '/v1/items/{itemId}',
      path: '/v1/items/42',
      httpMethod: 'GET',
      pathParameters: { itemId: '42' },
      body: null,
      isBase64Encoded: false,
      requestContext: {
        requestId: 'req-1',
        stage: 'prod',
        resourcePath: '/v1/items/{itemId}',
        httpMethod: 'GET',
        path: '/prod/v1/items/42',
        requestTimeEpoch: Date.UTC(2025, 0, 1),
        identity: { sourceIp: '127.0.0.1', userAgent: 'test' },
      },
    });
  });
});

describe('translateProxyResult', () => {
  it('decodes a base64 body', () => {
    const response = translateProxyResult({
      statusCode: 200,
      body: Buffer.from([0, 255]).toString('base64'),
      isBase64Encoded: true,
    });

    expect([...response.body]).toEqual([0, 255]);
  });

  it('merges headers and multi-value headers', () => {
    const response = translateProxyResult({
      statusCode: 201,
      headers: { 'X-A': '1' },
      multiValueHeaders: { 'X-B': ['2', '3'] },
      body: '',
    });

    expect(response.headers).toEqual({ 'x-a': ['1'], 'x-b': ['2', '3'], 'content-type': ['application/json'] });
  });

  it('answers 502 for a malformed response, like API Gateway', () => {
    expect(translateProxyResult('hello')).toBe(BAD_GATEWAY);
    expect(translateProxyResult({ body: 'no status' })).toBe(BAD_GATEWAY);
  });
});
