import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { NodeSha256, verifySigV4 } from '../../../local/runtime/sigv4.js';

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const EXPECTED = { credentials: CREDENTIALS, region: 'us-east-1', service: 'execute-api' };
const NOW = new Date('2026-12-01T23:00:00Z');

/** A request signed the way the SDK signs, as the server would receive it. */
async function signed(body: string, credentials = CREDENTIALS, signingDate = NOW) {
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'execute-api', sha256: NodeSha256 });
  const request = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 3001,
      path: '/@connections/abc%3D',
      query: {},
      headers: { host: '127.0.0.1:3001', 'content-type': 'application/json' },
      body,
    },
    { signingDate },
  );
  return {
    method: 'POST',
    url: '/@connections/abc%3D',
    headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), String(v)])),
    body: Buffer.from(body),
  };
}

describe('verifySigV4', () => {
  it('accepts what the SDK signer signed with the expected credentials', async () => {
    expect(await verifySigV4(await signed('{"a":1}'), EXPECTED, NOW)).toBeUndefined();
  });

  it('refuses an unsigned request as a missing authentication token', async () => {
    const request = await signed('x');
    delete request.headers.authorization;

    expect(await verifySigV4(request, EXPECTED, NOW)).toMatchObject({
      errorType: 'MissingAuthenticationTokenException',
    });
  });

  it('refuses a body changed after signing, and a signature made with another secret', async () => {
    const tampered = { ...(await signed('{"a":1}')), body: Buffer.from('{"a":2}') };
    const otherSecret = await signed('{"a":1}', { accessKeyId: 'local', secretAccessKey: 'guess' });

    expect((await verifySigV4(tampered, EXPECTED, NOW))?.errorType).toBe('InvalidSignatureException');
    expect((await verifySigV4(otherSecret, EXPECTED, NOW))?.errorType).toBe('InvalidSignatureException');
  });

  it('refuses another access key, and a signature older than 15 minutes', async () => {
    const otherKey = await signed('x', { accessKeyId: 'intruder', secretAccessKey: 'local' });
    const old = await signed('x', CREDENTIALS, new Date(NOW.getTime() - 16 * 60_000));

    expect((await verifySigV4(otherKey, EXPECTED, NOW))?.errorType).toBe('UnrecognizedClientException');
    expect((await verifySigV4(old, EXPECTED, NOW))?.message).toMatch(/expired/);
  });
});
