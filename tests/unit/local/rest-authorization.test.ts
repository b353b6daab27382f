import { describe, expect, it } from 'vitest';
import { cognitoClaims, cognitoIssuer } from '../../../local/runtime/rest-authorization.js';

const POOL = 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123';
const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123';
const NOW = new Date('2026-12-01T23:00:00Z');
const jwt = (claims: Record<string, unknown>) =>
  ['{"alg":"RS256"}', JSON.stringify(claims), 'sig'].map((part) => Buffer.from(part).toString('base64url')).join('.');

describe('Cognito ID tokens offline', () => {
  it("derives a pool's issuer from its ARN", () => {
    expect(cognitoIssuer(POOL)).toBe(ISSUER);
    expect(cognitoIssuer('arn:aws:s3:::bucket')).toBeUndefined();
  });

  it('accepts an unexpired ID token of the pool, with or without Bearer', () => {
    const claims = { iss: ISSUER, token_use: 'id', exp: NOW.getTime() / 1000 + 60, sub: 'u1' };

    expect(cognitoClaims(jwt(claims), [POOL], NOW)).toEqual(claims);
    expect(cognitoClaims(`Bearer ${jwt(claims)}`, [POOL], NOW)).toEqual(claims);
  });

  it('rejects a token of another pool, an access token, an expired token and garbage', () => {
    const exp = NOW.getTime() / 1000 + 60;

    expect(cognitoClaims(jwt({ iss: `${ISSUER}x`, token_use: 'id', exp }), [POOL], NOW)).toBeUndefined();
    expect(cognitoClaims(jwt({ iss: ISSUER, token_use: 'access', exp }), [POOL], NOW)).toBeUndefined();
    expect(
      cognitoClaims(jwt({ iss: ISSUER, token_use: 'id', exp: NOW.getTime() / 1000 }), [POOL], NOW),
    ).toBeUndefined();
    expect(cognitoClaims('a.b.c', [POOL], NOW)).toBeUndefined();
    expect(cognitoClaims(undefined, [POOL], NOW)).toBeUndefined();
  });
});
