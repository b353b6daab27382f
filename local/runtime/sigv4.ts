/**
 * Verifies AWS Signature Version 4 on requests to the local APIs, as API Gateway does for IAM-protected
 * methods and the WebSocket management API: the signature is recomputed with the local credentials over
 * the headers the caller says it signed, with `@smithy/signature-v4` (the SDK's own signer).
 */
import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

/** Who may sign, and for which service and region. */
export interface SigV4Expectation {
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  /** e.g. `execute-api` */
  service: string;
}

/** A request as received: method, raw path and query (as on the wire), headers, body. */
export interface SignedRequest {
  method: string;
  /** `req.url`: the path and query exactly as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

/** Why a request was refused, shaped like API Gateway's 403s. */
export interface SigV4Failure {
  errorType: 'MissingAuthenticationTokenException' | 'UnrecognizedClientException' | 'InvalidSignatureException';
  message: string;
}

/** API Gateway refuses a signature dated more than 15 minutes away from its clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** node:crypto behind the signer's Checksum interface (a hash, or an HMAC when given a secret). */
export class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    throw new Error('not supported');
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** `20261201T231500Z` → Date. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * `undefined` when `request` carries a valid SigV4 signature of `expected.credentials` for the service and
 * region, dated within 15 minutes of `now`; otherwise why not (presigned query-string signatures are not supported).
 */
export async function verifySigV4(
  request: SignedRequest,
  expected: SigV4Expectation,
  now: Date = new Date(),
): Promise<SigV4Failure | undefined> {
  const authorization = headerValue(request.headers, 'authorization');
  if (!authorization)
    return { errorType: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const match = AUTHORIZATION.exec(authorization);
  if (!match) {
    return {
      errorType: 'InvalidSignatureException',
      message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' (AWS4-HMAC-SHA256)`,
    };
  }
  const [, accessKeyId, day, region, service, signedHeaderList = '', signature = ''] = match;
  if (accessKeyId !== expected.credentials.accessKeyId) {
    return {
      errorType: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  }
  if (region !== expected.region || service !== expected.service) {
    return {
      errorType: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region and to the service '${expected.service}'`,
    };
  }
  const signingDate = parseAmzDate(headerValue(request.headers, 'x-amz-date') ?? '');
  if (!signingDate || signingDate.toISOString().slice(0, 10).replaceAll('-', '') !== day) {
    return {
      errorType: 'InvalidSignatureException',
      message: 'X-Amz-Date is missing or does not match the credential scope',
    };
  }
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
    return {
      errorType: 'InvalidSignatureException',
      message: 'Signature expired: the request is dated more than 15 minutes away',
    };
  }
  const signedHeaders = signedHeaderList.split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = headerValue(request.headers, name);
    if (value === undefined)
      return { errorType: 'InvalidSignatureException', message: `signed header ${name} is missing` };
    headers[name] = value;
  }
  // The signer takes a signed x-amz-content-sha256 on trust; put the body's real hash there instead, so a
  // body changed after signing fails the signature instead of passing under a stale hash.
  if (headers['x-amz-content-sha256'] !== undefined) {
    headers['x-amz-content-sha256'] = createHash('sha256').update(request.body).digest('hex');
  }
  const url = new URL(request.url, 'http://localhost');
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  const signer = new SignatureV4({
    credentials: expected.credentials,
    region: expected.region,
    service: expected.service,
    sha256: NodeSha256,
    // Sign exactly the headers the caller signed: left on, the signer adds and signs x-amz-content-sha256,
    // which curl and botocore do not send, so only the JS SDK's signatures matched.
    applyChecksum: false,
  });
  const host = headers.host ?? '';
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: host.replace(/:\d+$/, ''),
      path: request.url.split('?')[0] ?? '/',
      query,
      headers,
      body: request.body,
    },
    { signingDate },
  );
  const recomputed = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  const same =
    recomputed.length === signature.length && timingSafeEqual(Buffer.from(recomputed), Buffer.from(signature));
  if (!same) {
    return {
      errorType: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return undefined;
}
