/**
 * Opaque pagination tokens: base64url of the JSON of a page cursor (pipelines/transit/queries/page-cursors.ts), which
 * names a position in the terms of the list, never a DynamoDB key. Clients must treat tokens as opaque; they
 * are checked field by field on the way back in, because a tampered one would otherwise reach DynamoDB as a
 * malformed start key and come back as a 500.
 */
import { BadRequestError } from './errors.js';

/** Encodes a cursor as a URL-safe token. */
/** Narrows one field of a decoded cursor. */
export type CursorFieldCheck<T> = (value: unknown) => value is T;

/** The checks of a cursor's fields, one per field. */
export type ShapeOf<C> = { [K in keyof C]-?: CursorFieldCheck<C[K]> };

export function encodeCursor(cursor: object): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

/** Decodes a token into JSON; throws `BadRequestError` naming `nextToken` when it does not decode. */
export function decodeToken(token: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw invalidToken();
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (cause) {
    throw invalidToken(cause);
  }
}

/** Checks that `value` is a cursor with exactly the fields of `shape`, each passing its check. */
export function asCursor<C>(value: unknown, shape: ShapeOf<C>): C {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidToken();
  const entries = Object.entries(value);
  if (entries.length !== Object.keys(shape).length) throw invalidToken();
  for (const [name, field] of entries) {
    const check: ((field: unknown) => boolean) | undefined = Object.hasOwn(shape, name)
      ? shape[name as keyof C]
      : undefined;
    if (!check?.(field)) throw invalidToken();
  }
  return value as C;
}

/** Decodes a token made by `encodeCursor` from a cursor of `shape`. */
export function decodeCursor<C>(token: string, shape: ShapeOf<C>): C {
  return asCursor(decodeToken(token), shape);
}

/** The error for a token that is not one this query minted. */
export function invalidToken(cause?: unknown): BadRequestError {
  return new BadRequestError('nextToken', 'nextToken is not a valid pagination token for this query', { cause });
}
