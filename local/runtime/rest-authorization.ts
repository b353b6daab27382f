/**
 * What API Gateway (REST) checks before a method's integration runs, for the authorization types the
 * template gives methods: `AWS_IAM` (the SigV4 signature, verified with the local credentials) and
 * `COGNITO_USER_POOLS` (an ID token of one of the method's pools). API keys are checked by the server.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './intrinsics.js';
import type { RestRoutePlan } from './plan.js';
import { type HttpResponse, jsonResponse } from './rest-routes.js';
import { type SignedRequest, verifySigV4 } from './sigv4.js';

/** Go on (and what the integration's event learns about the caller), or refuse with API Gateway's answer. */
export type RestAuthorizationDecision =
  | { ok: true; apply(event: APIGatewayProxyEvent): void }
  | { ok: false; response: HttpResponse };

const UNAUTHORIZED = jsonResponse(401, { message: 'Unauthorized' }, { 'x-amzn-errortype': ['UnauthorizedException'] });

/** `arn:aws:cognito-idp:<region>:<account>:userpool/<poolId>` → the pool's token issuer. */
export function cognitoIssuer(userPoolArn: string): string | undefined {
  const match = /^arn:aws[a-z-]*:cognito-idp:([a-z0-9-]+):\d{12}:userpool\/(.+)$/.exec(userPoolArn);
  return match ? `https://cognito-idp.${match[1]}.amazonaws.com/${match[2]}` : undefined;
}

/**
 * The claims of a Cognito ID token of one of `userPoolArns`, unexpired at `now`; `undefined` otherwise.
 * Offline the signature is NOT verified (that needs the pool's published keys): the issuer, `token_use` and
 * expiry are, so a missing, foreign, access or expired token fails here as it would in AWS.
 */
export function cognitoClaims(
  authorization: string | undefined,
  userPoolArns: readonly string[],
  now: Date,
): Record<string, unknown> | undefined {
  const parts = authorization?.replace(/^Bearer\s+/i, '').split('.') ?? [];
  const payload = parts[1];
  if (parts.length !== 3 || !payload) return undefined;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof claims !== 'object' || claims === null) return undefined;
  const issuers = userPoolArns.map(cognitoIssuer);
  if (typeof claims.iss !== 'string' || !issuers.includes(claims.iss)) return undefined;
  if (claims.token_use !== 'id') return undefined;
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now.getTime()) return undefined;
  return claims;
}

/** Applies the method's `AuthorizationType` to a request, as API Gateway does before invoking the integration. */
export async function authorizeRestRequest(
  route: RestRoutePlan,
  request: SignedRequest,
  credentials: { accessKeyId: string; secretAccessKey: string },
  now: Date = new Date(),
): Promise<RestAuthorizationDecision> {
  if (route.authorizationType === 'AWS_IAM') {
    const failure = await verifySigV4(request, { credentials, region: LOCAL_REGION, service: 'execute-api' }, now);
    if (failure) {
      return {
        ok: false,
        response: jsonResponse(403, { message: failure.message }, { 'x-amzn-errortype': [failure.errorType] }),
      };
    }
    return {
      ok: true,
      apply(event) {
        Object.assign(event.requestContext.identity, {
          accessKey: credentials.accessKeyId,
          accountId: LOCAL_ACCOUNT_ID,
          caller: credentials.accessKeyId,
          user: credentials.accessKeyId,
          userArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/${credentials.accessKeyId}`,
        });
      },
    };
  }
  if (route.authorizationType === 'COGNITO_USER_POOLS') {
    const header = request.headers.authorization;
    const claims = cognitoClaims(Array.isArray(header) ? header[0] : header, route.cognitoUserPoolArns ?? [], now);
    if (!claims) return { ok: false, response: UNAUTHORIZED };
    return {
      ok: true,
      apply(event) {
        // API Gateway passes the claims as strings.
        const strings = Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, String(v)]));
        event.requestContext.authorizer = { claims: strings };
      },
    };
  }
  return { ok: true, apply: () => undefined };
}
