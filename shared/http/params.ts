/**
 * Request parameter parsing. Every failure is a `BadRequestError` that names the parameter, so a client
 * can tell which of several query-string values to fix.
 */
import { ISO_INSTANT_RULE, parseIsoInstant } from '../event-time.js';
import { idProblem } from '../ids.js';
import { BadRequestError } from './errors.js';

/** Page size bounds shared by every list route. */
export const LIMIT_DEFAULT = 100;
export const LIMIT_MAX = 500;

type Params = Record<string, string | undefined> | null | undefined;

/** A required id parameter (path or query). */
export function requireId(params: Params, name: string): string {
  const value = params?.[name];
  if (value === undefined || value === '') throw new BadRequestError(name, `${name} is required`);
  const problem = idProblem(value);
  if (problem) throw new BadRequestError(name, `${name} ${problem}`);
  return value;
}

/** An optional id parameter; absent or empty means not given. */
export function optionalId(params: Params, name: string): string | undefined {
  const value = params?.[name];
  return value === undefined || value === '' ? undefined : requireId(params, name);
}

/** `limit`: an integer in 1..LIMIT_MAX, LIMIT_DEFAULT when absent. */
export function parseLimit(params: Params, name = 'limit'): number {
  const raw = params?.[name];
  if (raw === undefined || raw === '') return LIMIT_DEFAULT;
  const value = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= 1 && value <= LIMIT_MAX)) {
    throw new BadRequestError(name, `${name} must be an integer between 1 and ${LIMIT_MAX}`);
  }
  return value;
}

/** A point in time given as epoch milliseconds or an ISO-8601 date-time with an offset (the events' rule), as epoch ms. */
export function parseTime(params: Params, name: string, fallback: number): number {
  const raw = params?.[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d{1,13}$/.test(raw) ? Number(raw) : parseIsoInstant(raw);
  if (value === undefined) throw new BadRequestError(name, `${name} must be epoch milliseconds or ${ISO_INSTANT_RULE}`);
  return value;
}

/** An optional parameter that must be one of `allowed` (an enum filter such as an anomaly `type`). */
export function optionalOneOf<T extends string>(params: Params, name: string, allowed: readonly T[]): T | undefined {
  const raw = params?.[name];
  if (raw === undefined || raw === '') return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new BadRequestError(name, `${name} must be one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

/** The optional `nextToken`, still encoded; the query that minted it decodes it. */
export function optionalToken(params: Params, name = 'nextToken'): string | undefined {
  const raw = params?.[name];
  return raw === undefined || raw === '' ? undefined : raw;
}
