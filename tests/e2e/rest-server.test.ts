// The local REST server alone, over loopback, with a stub function: each method's AuthorizationType from the
// template is enforced before the integration runs, as API Gateway does.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);

import { LOCAL_CREDENTIALS } from '../../local/runtime/emulators.js';
import type { InvokeResult } from '../../local/runtime/function-host.js';
import type { RestRoutePlan } from '../../local/runtime/plan.js';
import { type RestServer, startRestServer } from '../../local/runtime/rest-server.js';
import { signedGet } from '../helpers/local-stack.js';

const POOL = 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123';
const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123';

const route = (path: string, extra: Partial<RestRoutePlan>): RestRoutePlan => ({
  methodLogicalId: path,
  restApiLogicalId: 'Api',
  stageName: 'prod',
  httpMethod: 'GET',
  path,
  apiKeyRequired: false,
  authorizationType: 'NONE',
  target: { kind: 'lambda', functionLogicalId: 'Fn' },
  ...extra,
});

const events: { requestContext: { identity: Record<string, unknown>; authorizer: unknown } }[] = [];

async function invoke(_id: string, event: unknown): Promise<InvokeResult> {
  events.push(event as (typeof events)[number]);
  return { ok: true, requestId: 'r', value: { statusCode: 200, body: '{"ok":true}' } } as InvokeResult;
}

/** An unsigned JWT with these claims (offline, Cognito tokens are checked without their signature). */
const jwt = (claims: Record<string, unknown>) =>
  ['{"alg":"RS256"}', JSON.stringify(claims), 'sig'].map((part) => Buffer.from(part).toString('base64url')).join('.');

let server: RestServer;

beforeAll(async () => {
  server = await startRestServer({
    routes: [
      route('/public', {}),
      route('/iam', { authorizationType: 'AWS_IAM' }),
      route('/cognito', { authorizationType: 'COGNITO_USER_POOLS', cognitoUserPoolArns: [POOL] }),
      route('/iam-and-key', { authorizationType: 'AWS_IAM', apiKeyRequired: true }),
    ],
    invoke,
    apiKey: 'the-key',
    credentials: LOCAL_CREDENTIALS,
    log: () => undefined,
  });
});

afterAll(async () => {
  await server?.close();
});

describe('local REST server, AWS_IAM methods', () => {
  it('answers an unsigned call 403 MissingAuthenticationToken without invoking the function', async () => {
    events.length = 0;

    const response = await fetch(`${server.url}/iam`);

    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(events).toEqual([]);
  });

  it('serves a call signed with the local credentials, and tells the function who called', async () => {
    events.length = 0;

    const response = await signedGet(`${server.url}/iam?x=1&y=a%20b`);

    expect(response.status).toBe(200);
    expect(events[0]?.requestContext.identity).toMatchObject({
      accessKey: 'local',
      userArn: expect.stringMatching(/user\/local$/),
    });
  });

  it('refuses another secret (403 InvalidSignature) and still checks the API key after the signature', async () => {
    const wrong = await signedGet(`${server.url}/iam`, { accessKeyId: 'local', secretAccessKey: 'nope' });
    const signedWithoutKey = await signedGet(`${server.url}/iam-and-key`);

    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(signedWithoutKey.status).toBe(403);
    expect(await signedWithoutKey.json()).toEqual({ message: 'Forbidden' });
  });

  it('serves a call signed by curl --aws-sigv4, a signer that is not the JS SDK (it signs no content hash)', async () => {
    const { stdout } = await execFileAsync('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--aws-sigv4',
      'aws:amz:us-east-1:execute-api',
      '--user',
      'local:local',
      `${server.url}/iam?x=1`,
    ]);
    expect(stdout).toBe('200');
  });

  it('leaves methods without authorization public', async () => {
    expect((await fetch(`${server.url}/public`)).status).toBe(200);
  });
});

describe('local REST server, COGNITO_USER_POOLS methods', () => {
  const inAnHour = Math.floor(Date.now() / 1000) + 3600;

  it.each([
    ['no token', undefined],
    [
      'a token of another pool',
      jwt({ iss: 'https://cognito-idp.eu-west-1.amazonaws.com/other', token_use: 'id', exp: inAnHour }),
    ],
    ['an access token', jwt({ iss: ISSUER, token_use: 'access', exp: inAnHour })],
    ['an expired token', jwt({ iss: ISSUER, token_use: 'id', exp: 1 })],
    ['something that is not a JWT', 'hello'],
  ])('answers 401 Unauthorized to %s', async (_case, token) => {
    const response = await fetch(`${server.url}/cognito`, token ? { headers: { authorization: token } } : {});

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
  });

  it("serves an unexpired ID token of the method's pool and passes its claims as strings", async () => {
    events.length = 0;

    const response = await fetch(`${server.url}/cognito`, {
      headers: { authorization: jwt({ iss: ISSUER, token_use: 'id', exp: inAnHour, sub: 'u1', email_verified: true }) },
    });

    expect(response.status).toBe(200);
    expect(events[0]?.requestContext.authorizer).toEqual({
      claims: { iss: ISSUER, token_use: 'id', exp: String(inAnHour), sub: 'u1', email_verified: 'true' },
    });
  });
});
