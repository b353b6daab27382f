import { describe, expect, it } from 'vitest';
import { InvalidScheduleExpressionError, parseScheduleExpression } from '../../../local/runtime/schedule-expression.js';

describe('parseScheduleExpression', () => {
  it.each([
    ['rate(1 minute)', 1, 'minute', 60_000],
    ['rate(5 minutes)', 5, 'minute', 300_000],
    ['rate(1 hour)', 1, 'hour', 3_600_000],
    ['rate(12 hours)', 12, 'hour', 43_200_000],
    ['rate(1 day)', 1, 'day', 86_400_000],
    ['rate(7 days)', 7, 'day', 604_800_000],
  ])('reads %s as a period of %i %s', (expression, value, unit, periodMs) => {
    expect(parseScheduleExpression(expression)).toEqual({ kind: 'rate', value, unit, periodMs });
  });

  it.each([
    ['rate(1 minutes)', 'rate(1 minutes): a value of 1 takes the singular unit (minute)'],
    ['rate(5 minute)', 'rate(5 minute): a value of 5 takes the plural unit (minutes)'],
    ['rate(2 day)', 'rate(2 day): a value of 2 takes the plural unit (days)'],
  ])('refuses %s, whose unit does not agree with its value, as EventBridge does', (expression, message) => {
    expect(() => parseScheduleExpression(expression)).toThrow(new InvalidScheduleExpressionError(message));
  });

  it.each(['rate(0 minutes)', 'rate(-1 minutes)', 'rate(1.5 hours)', 'rate(ten minutes)'])(
    'refuses %s: the value must be a positive whole number',
    (expression) => {
      expect(() => parseScheduleExpression(expression)).toThrow(
        `${expression}: the value must be a positive whole number`,
      );
    },
  );

  it('refuses a unit EventBridge has no rate for', () => {
    expect(() => parseScheduleExpression('rate(2 weeks)')).toThrow(
      'rate(2 weeks): the unit must be minute(s), hour(s) or day(s), not weeks',
    );
  });

  it.each(['rate(5)', 'rate()', 'rate(5 minutes extra)'])('refuses %s, which is not rate(value unit)', (expression) => {
    expect(() => parseScheduleExpression(expression)).toThrow(InvalidScheduleExpressionError);
  });

  it('refuses an expression that is neither rate(...) nor cron(...)', () => {
    expect(() => parseScheduleExpression('every 5 minutes')).toThrow(
      'every 5 minutes: a schedule is rate(value unit) or cron(fields)',
    );
  });

  it('keeps the six fields of a cron expression as written', () => {
    expect(parseScheduleExpression('cron(0 12 * * ? *)')).toEqual({
      kind: 'cron',
      fields: ['0', '12', '*', '*', '?', '*'],
    });
  });

  it('refuses a cron expression without six fields (a five-field crontab line)', () => {
    expect(() => parseScheduleExpression('cron(0 12 * * *)')).toThrow(/a cron has six fields .* found 5/);
  });
});
