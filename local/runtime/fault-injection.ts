/**
 * Fault injection for chaos tests: a seeded fraction of a function's invocations crash in its worker,
 * before the handler runs or after it ran (its side effects done, its result lost), so callers see a
 * function error and event sources take their normal retry / bisect path.
 */
import { SeededRandom } from '../simulator/random.js';

/** Which invocations crash. Off unless given. */
export interface FaultInjection {
  /** Fraction of invocations that crash, 0 to 1. */
  rate: number;
  /** Seed of the draws; each function draws from its own sequence, so runs repeat. @default 1 */
  seed?: number;
  /**
   * Functions that crash, by logical id (CDK's 8-hex suffix may be left off, e.g. `ProcessorFunction`)
   * or local name. @default every function
   */
  functions?: string[];
}

/** Where an injected crash happens in the worker. */
export type FaultPoint = 'before-handler' | 'after-handler';

/** Raised when fault-injection settings are out of range. */
export class FaultInjectionConfigError extends Error {
  override name = 'FaultInjectionConfigError';
}

/** Throws when `settings` cannot be used. */
export function checkFaultInjection(settings: FaultInjection): void {
  if (!(Number.isFinite(settings.rate) && settings.rate >= 0 && settings.rate <= 1))
    throw new FaultInjectionConfigError(`fault rate must be between 0 and 1, got ${settings.rate}`);
  if (settings.seed !== undefined && !Number.isInteger(settings.seed))
    throw new FaultInjectionConfigError(`fault seed must be an integer, got ${settings.seed}`);
}

/** True when `functions` (undefined = all) names this function. */
export function selectsFunction(functions: string[] | undefined, logicalId: string, name: string): boolean {
  if (!functions) return true;
  return functions.some(
    (f) =>
      f === logicalId || f === name || (logicalId.startsWith(f) && /^[0-9A-F]{8}$/.test(logicalId.slice(f.length))),
  );
}

/** FNV-1a of a string: each function gets its own draw sequence from one seed. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The fault decider of one function: called once per invocation, it returns where that invocation
 * crashes, or undefined. Undefined when `settings` leaves the function alone.
 */
export function faultDecider(
  settings: FaultInjection | undefined,
  logicalId: string,
  name: string,
): (() => FaultPoint | undefined) | undefined {
  if (!settings || settings.rate === 0 || !selectsFunction(settings.functions, logicalId, name)) return undefined;
  const random = new SeededRandom(((settings.seed ?? 1) ^ hash(logicalId)) >>> 0);
  return () => {
    // Two draws every time, so whether one invocation crashes does not shift the next one's draws.
    const crash = random.next() < settings.rate;
    const before = random.next() < 0.5;
    if (!crash) return undefined;
    return before ? 'before-handler' : 'after-handler';
  };
}
