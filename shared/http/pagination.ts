/**
 * Opaque pagination tokens: base64url of the JSON of a DynamoDB LastEvaluatedKey (or a small object
 * wrapping one). Clients must treat them as opaque; we validate them on the way back in because a
 * tampered key would otherwise surface as a DynamoDB ValidationException, i.e. a 500.
 */
import type { DynamoKey } from '../queries/keys.js';
import { BadRequestError } from './errors.js';

/** Encodes any JSON value as a URL-safe token. */
export function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Decodes a token made by `encodeToken`; throws `BadRequestError` naming `nextToken` when it does not decode. */
export function decodeToken(token: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw invalidToken();
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (cause) {
    throw invalidToken(cause);
  }
}

/**
 * Decodes a token that must hold a DynamoDB key with exactly the given attributes, each a string or number.
 * `expect` pins attribute values the query fixes (e.g. the partition key), so a token minted for one
 * route cannot be replayed against another.
 */
export function decodeKeyToken(token: string, attributes: readonly string[], expect: DynamoKey = {}): DynamoKey {
  const key = asDynamoKey(decodeToken(token), attributes);
  for (const [name, value] of Object.entries(expect)) {
    if (key[name] !== value) throw invalidToken();
  }
  return key;
}

/** Checks that `value` is a DynamoDB key with exactly `attributes`; throws `BadRequestError` otherwise. */
export function asDynamoKey(value: unknown, attributes: readonly string[]): DynamoKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidToken();
  const entries = Object.entries(value);
  if (entries.length !== attributes.length) throw invalidToken();
  for (const [name, v] of entries) {
    if (!attributes.includes(name) || (typeof v !== 'string' && typeof v !== 'number')) throw invalidToken();
  }
  return value as DynamoKey;
}

function invalidToken(cause?: unknown): BadRequestError {
  return new BadRequestError('nextToken', 'nextToken is not a valid pagination token', { cause });
}
