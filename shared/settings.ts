/**
 * Numeric settings as one table per owner: each row names the stack prop, the environment variable the
 * stack sets from it, the default and the bounds. The functions read a row at run time (`readSetting`),
 * the CDK app checks props and sets the variables from the same rows (`settingProblem`,
 * `settingsEnvironment`), and the docs' settings table is made from them (`settingsMarkdown`, checked
 * by a test), so a default or a bound is written once.
 *
 * Plain data and pure functions, importing nothing: the CDK app imports it too.
 */

/** Thrown when a required environment variable is missing or malformed. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

export interface Setting {
  /** The stack prop, e.g. `windowSizeSeconds`. */
  prop: string;
  /** The environment variable the stack sets and the functions read, e.g. `WINDOW_SIZE_SECONDS`. */
  env: string;
  /** What it means, for the docs: a phrase, no final full stop. */
  meaning: string;
  default: number;
  /** The lowest value allowed, or the value it must be above when `above` is set. */
  min: number;
  above?: boolean;
  max: number;
  integer?: boolean;
  /** A rule across settings the table cannot state, for the docs (the code that enforces it says where). */
  note?: string;
  /**
   * Another setting of the same table this one may not exceed a share of, e.g. a clock skew of at most
   * half the lateness: `{ prop: 'allowedLatenessSeconds', times: 0.5 }`. Checked by `settingsRelationProblems`.
   */
  atMost?: { prop: string; times: number };
}

/** The bounds in words, e.g. `a whole number from 1 to 86400` or `a number above 0, at most 100`. */
export function describeBounds(s: Setting): string {
  const kind = s.integer ? 'a whole number' : 'a number';
  return s.above ? `${kind} above ${s.min}, at most ${s.max}` : `${kind} from ${s.min} to ${s.max}`;
}

const within = (s: Setting, value: number) =>
  Number.isFinite(value) &&
  (s.above ? value > s.min : value >= s.min) &&
  value <= s.max &&
  (!s.integer || Number.isInteger(value));

/** Why a value of the stack prop is not allowed, or undefined when it is (or is unset: the default). */
export function settingProblem(s: Setting, value: number | undefined): string | undefined {
  if (value === undefined || within(s, value)) return undefined;
  return `${s.prop} must be ${describeBounds(s)}, got ${value}`;
}

/**
 * Why the values of `settings` break one's `atMost` rule, each set value or else the default: e.g. a
 * skew of 20 against a lateness of 30 (at most 15). Empty when none does.
 */
export function settingsRelationProblems(
  settings: readonly Setting[],
  values: Readonly<Record<string, number | undefined>>,
): string[] {
  const current = (s: Setting) => values[s.prop] ?? s.default;
  return settings.flatMap((s) => {
    const other = s.atMost && settings.find((candidate) => candidate.prop === s.atMost?.prop);
    if (!(s.atMost && other)) return [];
    const limit = current(other) * s.atMost.times;
    return current(s) > limit
      ? [`${s.prop} must be at most ${other.prop} × ${s.atMost.times} = ${limit}, got ${current(s)}`]
      : [];
  });
}

/** The setting's value from the environment, or its default when the variable is unset or empty. */
export function readSetting(s: Setting, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[s.env];
  if (raw === undefined || raw.trim() === '') return s.default;
  const value = Number(raw);
  if (!within(s, value)) {
    throw new ConfigurationError(`environment variable ${s.env} must be ${describeBounds(s)}, got "${raw}"`);
  }
  return value;
}

/** The variables a function needs for `settings`, from the stack props or the defaults. */
export function settingsEnvironment(settings: readonly Setting[], props: object): Record<string, string> {
  const values = props as Readonly<Record<string, unknown>>;
  return Object.fromEntries(settings.map((s) => [s.env, String(values[s.prop] ?? s.default)]));
}

/** The docs' table of `settings`: one row per setting with its prop, variable, meaning, default and bounds. */
export function settingsMarkdown(settings: readonly Setting[]): string {
  const rows = settings.map(
    (s) =>
      `| \`${s.prop}\` | \`${s.env}\` | ${s.meaning}${s.note ? ` (${s.note})` : ''} | ${s.default} | ${describeBounds(s)} |`,
  );
  return [
    '| stack prop | environment variable | meaning | default | allowed |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The event-time settings of ingest and every processor (docs/contracts.md, Settings). */
export const EVENT_TIME_SETTINGS = {
  allowedLateness: {
    prop: 'allowedLatenessSeconds',
    env: 'ALLOWED_LATENESS_SECONDS',
    meaning: 'how late, in seconds, an event may be and still be folded into its window',
    default: 120,
    min: 0,
    max: 86_400,
    integer: true,
  },
  maxClockSkew: {
    prop: 'maxClockSkewSeconds',
    env: 'MAX_CLOCK_SKEW_SECONDS',
    meaning: 'how far ahead of the processing clock, in seconds, an event time may be; later events are dead-lettered',
    default: 60,
    min: 0,
    max: 43_200,
    note: 'at most half the allowed lateness: the stack refuses more, the functions cap it',
  },
} satisfies Record<string, Setting>;
