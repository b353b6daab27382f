/**
 * EventBridge schedule expressions: `rate(N unit)` parsed to a period the local runtime runs on a timer,
 * `cron(...)` checked for its six fields and kept as written. Cron rules are not run on a timer offline:
 * EventBridge's cron dialect (day-of-week 1 = Sunday, `?`, a year field, `L`/`W`/`#`) is not the one npm
 * cron libraries parse, so running it would mean keeping a translation exact; and a wall-clock schedule
 * cannot be sped up for tests the way a rate can. `runSchedule` still triggers a cron rule on demand.
 */

/** A `rate(...)` expression: every `value` `unit`s, first one period after the start. */
export interface RateSchedule {
  kind: 'rate';
  value: number;
  unit: 'minute' | 'hour' | 'day';
  /** The period in milliseconds, before any local scaling. */
  periodMs: number;
}

/** A `cron(...)` expression: planned, not run on a timer offline (see the file comment). */
export interface CronSchedule {
  kind: 'cron';
  /** Minutes, hours, day of month, month, day of week, year, as written. */
  fields: string[];
}

/** A parsed schedule expression. */
export type Schedule = RateSchedule | CronSchedule;

/** Raised for a schedule expression EventBridge would refuse; the message names the expression and why. */
export class InvalidScheduleExpressionError extends Error {
  override name = 'InvalidScheduleExpressionError';
}

const UNIT_MS: Record<RateSchedule['unit'], number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * Parses an EventBridge schedule expression.
 * @throws InvalidScheduleExpressionError for anything EventBridge would refuse: a value that is not a
 *   positive whole number, an unknown unit, a unit whose number does not match the value (EventBridge takes
 *   `rate(1 minute)` and `rate(5 minutes)`, refuses `rate(1 minutes)` and `rate(5 minute)`), a cron without
 *   six fields.
 */
export function parseScheduleExpression(expression: string): Schedule {
  const rate = /^rate\((.*)\)$/.exec(expression.trim());
  if (rate) return parseRate(expression, rate[1] ?? '');
  const cron = /^cron\((.*)\)$/.exec(expression.trim());
  if (cron) return parseCron(expression, cron[1] ?? '');
  throw new InvalidScheduleExpressionError(`${expression}: a schedule is rate(value unit) or cron(fields)`);
}

function parseRate(expression: string, body: string): RateSchedule {
  const parts = body.trim().split(/\s+/);
  const [valueText, unitText] = parts;
  if (parts.length !== 2 || valueText === undefined || unitText === undefined) {
    throw new InvalidScheduleExpressionError(`${expression}: a rate is rate(value unit), e.g. rate(5 minutes)`);
  }
  if (!/^\d+$/.test(valueText) || Number(valueText) < 1) {
    throw new InvalidScheduleExpressionError(`${expression}: the value must be a positive whole number`);
  }
  const value = Number(valueText);
  const singular = unitText.replace(/s$/, '');
  if (!(singular in UNIT_MS)) {
    throw new InvalidScheduleExpressionError(
      `${expression}: the unit must be minute(s), hour(s) or day(s), not ${unitText}`,
    );
  }
  const unit = singular as RateSchedule['unit'];
  const expected = value === 1 ? unit : `${unit}s`;
  if (unitText !== expected) {
    throw new InvalidScheduleExpressionError(
      `${expression}: a value of ${value} takes ${value === 1 ? 'the singular' : 'the plural'} unit (${expected})`,
    );
  }
  return { kind: 'rate', value, unit, periodMs: value * UNIT_MS[unit] };
}

function parseCron(expression: string, body: string): CronSchedule {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new InvalidScheduleExpressionError(
      `${expression}: a cron has six fields (minutes hours day-of-month month day-of-week year), found ${fields.length}`,
    );
  }
  return { kind: 'cron', fields };
}
