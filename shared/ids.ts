/**
 * The one rule for entity ids (vehicle, route, trip, stop, event), shared by validation, storage keys,
 * URL paths and WebSocket topics, so an id that is accepted can always be stored and read back.
 *
 * Real GTFS ids hold colons, spaces and parentheses (`de:08212:1004:2:2 (U)`), so the rule forbids only
 * what breaks a consumer: control characters, lone surrogates and U+FFFE/U+FFFF (unprintable, not valid
 * UTF-8, or refused by SQS), `/`
 * (a path separator even when percent-encoded, at some proxies), `#` (the separator of our storage
 * keys), `%` (so a path parameter decodes the same whether or not the gateway decoded it already), surrounding spaces (lost by CSV tools and forms), and `.` / `..` (dot segments that URL
 * normalisation removes, so `/v1/vehicles/..` never reaches the route).
 */

export const MAX_ID_LENGTH = 128;

/** The rule in words, for error messages and docs. */
export const ID_RULE = `1 to ${MAX_ID_LENGTH} characters without control characters, U+FFFE, U+FFFF, "/", "#" or "%", no leading or trailing space, not "." or ".."`;

// C0 and C1 controls, DEL, line/paragraph separators, the byte-order mark and the two noncharacters SQS refuses.
const FORBIDDEN = /[\p{Cc}\u2028\u2029\uFEFF\uFFFE\uFFFF/#%]/u;

/** Why `value` is not a valid id, or undefined when it is. */
export function idProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a string, got ${value === null ? 'null' : typeof value}`;
  if (value.length === 0) return 'must not be empty';
  // Characters, as the OpenAPI maxLength counts them, not UTF-16 units; there are never more characters
  // than units, so only a long id is spread into its characters (that array was per id of every event).
  if (value.length > MAX_ID_LENGTH) {
    const length = [...value].length;
    if (length > MAX_ID_LENGTH) return `must be at most ${MAX_ID_LENGTH} characters, got ${length}`;
  }
  if (!value.isWellFormed()) return 'must be valid Unicode (it holds a lone surrogate)';
  const forbidden = FORBIDDEN.exec(value);
  if (forbidden) {
    const code = forbidden[0].codePointAt(0) ?? 0;
    return `must not contain ${code < 0x20 || code > 0x7e ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `"${forbidden[0]}"`}`;
  }
  if (/^\s|\s$/u.test(value)) return 'must not start or end with a space';
  if (value === '.' || value === '..') return `must not be "${value}"`;
  return undefined;
}

/**
 * A path parameter as the id it names. Ids hold no `%`, so any `%` is percent-encoding: decoding is
 * right whether the gateway passed the parameter as received or decoded it already. Returns undefined
 * for malformed percent-encoding.
 */
export function decodePathId(value: string): string | undefined {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Whether `value` is a valid id. */
export const isValidId = (value: unknown): value is string => idProblem(value) === undefined;
