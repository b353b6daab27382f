import { describe, expect, it } from 'vitest';
import { authorizeConnect, parseAllowedOrigins, UnauthorizedError } from '../../../shared/websocket/authorizer.js';

import { wsAuthorizerEvent as connectEvent } from '../../helpers/ws-events.js';

const METHOD_ARN = connectEvent().methodArn;

describe('WebSocket $connect authorizer', () => {
  it('passes the token on as the usage identifier key, for API Gateway to check against its usage plans', () => {
    const response = authorizeConnect(connectEvent({ token: 'k1' }), '*');

    expect(response).toEqual({
      principalId: 'subscriber',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }],
      },
      usageIdentifierKey: 'k1',
      context: { origin: '' },
    });
  });

  it('answers Unauthorized (401) without a token', () => {
    expect(() => authorizeConnect(connectEvent(), '*')).toThrow(UnauthorizedError);
    expect(() => authorizeConnect(connectEvent({ token: '' }), '*')).toThrow('Unauthorized');
  });

  it('denies a browser origin that is not allowed, and allows a listed one whatever its header case', () => {
    const allowed = ['https://maps.example.com'];

    const denied = authorizeConnect(connectEvent({ token: 'k' }, { Origin: 'https://evil.example' }), allowed);
    const accepted = authorizeConnect(connectEvent({ token: 'k' }, { origin: 'https://maps.example.com' }), allowed);

    expect(denied.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(denied.usageIdentifierKey).toBeUndefined();
    expect(accepted.policyDocument.Statement[0]?.Effect).toBe('Allow');
    expect(accepted.context).toEqual({ origin: 'https://maps.example.com' });
  });

  it('does not check the origin of a client that sends none (not a browser)', () => {
    const response = authorizeConnect(connectEvent({ token: 'k' }), ['https://maps.example.com']);

    expect(response.policyDocument.Statement[0]?.Effect).toBe('Allow');
  });

  it('reads WS_ALLOWED_ORIGINS as a comma-separated list, any origin when unset or *', () => {
    expect(parseAllowedOrigins(undefined)).toBe('*');
    expect(parseAllowedOrigins('https://a.example, *')).toBe('*');
    expect(parseAllowedOrigins('https://a.example, http://localhost:8080')).toEqual([
      'https://a.example',
      'http://localhost:8080',
    ]);
  });
});
