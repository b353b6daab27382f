import { describe, expect, it } from 'vitest';
import {
  compareSequenceNumbers,
  decideAfterInvocation,
  firstFailedIndex,
  type RetryPolicy,
  type SequencedRecord,
  splitExpired,
} from '../../../local/runtime/esm-decisions.js';

const records = (...seqs: number[]): SequencedRecord[] =>
  seqs.map((n) => ({ sequenceNumber: `4960000000000000000000000000000000000000000000000${n}`, arrivalMs: 1_000 * n }));
const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  bisectOnError: false,
  maxRetryAttempts: 2,
  maxRecordAgeSeconds: -1,
  reportBatchItemFailures: true,
  ...overrides,
});
const success = (response: unknown = null) => ({ kind: 'success' as const, response });
const error = { kind: 'error' as const, errorType: 'Error', errorMessage: 'boom' };
const failures = (...items: SequencedRecord[]) => ({
  batchItemFailures: items.map((r) => ({ itemIdentifier: r.sequenceNumber })),
});

describe('decideAfterInvocation', () => {
  it('checkpoints the whole batch after a success', () => {
    const batch = records(1, 2, 3);

    expect(decideAfterInvocation({ records: batch, retries: 0 }, success(), policy())).toEqual({
      action: 'checkpoint',
      through: batch[2],
    });
  });

  it('checkpoints before the lowest failed record and retries from it', () => {
    const batch = records(1, 2, 3, 4);

    const decision = decideAfterInvocation(
      { records: batch, retries: 0 },
      success(failures(batch[3]!, batch[1]!)),
      policy(),
    );

    expect(decision).toEqual({
      action: 'retry',
      segment: { records: batch.slice(1), retries: 1 },
      checkpointThrough: batch[0],
    });
  });

  it('retries from the first record without a checkpoint when it failed', () => {
    const batch = records(1, 2);

    const decision = decideAfterInvocation({ records: batch, retries: 0 }, success(failures(batch[0]!)), policy());

    expect(decision).toEqual({ action: 'retry', segment: { records: batch, retries: 1 } });
  });

  it('ignores batchItemFailures when the mapping does not report them', () => {
    const batch = records(1, 2);

    const decision = decideAfterInvocation(
      { records: batch, retries: 0 },
      success(failures(batch[0]!)),
      policy({ reportBatchItemFailures: false }),
    );

    expect(decision.action).toBe('checkpoint');
  });

  it('treats an unknown item identifier as a failure of the whole batch', () => {
    const batch = records(1, 2);

    const decision = decideAfterInvocation(
      { records: batch, retries: 0 },
      success({ batchItemFailures: [{ itemIdentifier: 'nope' }] }),
      policy(),
    );

    expect(decision).toEqual({ action: 'retry', segment: { records: batch, retries: 1 } });
  });

  it('bisects a failing batch without counting a retry', () => {
    const batch = records(1, 2, 3);

    const decision = decideAfterInvocation({ records: batch, retries: 1 }, error, policy({ bisectOnError: true }));

    expect(decision).toEqual({
      action: 'bisect',
      halves: [
        { records: batch.slice(0, 2), retries: 1 },
        { records: batch.slice(2), retries: 1 },
      ],
    });
  });

  it('retries a single failing record instead of bisecting it', () => {
    const batch = records(7);

    const decision = decideAfterInvocation({ records: batch, retries: 0 }, error, policy({ bisectOnError: true }));

    expect(decision).toEqual({ action: 'retry', segment: { records: batch, retries: 1 } });
  });

  it('gives up once MaximumRetryAttempts retries have failed', () => {
    const batch = records(1, 2);

    const decision = decideAfterInvocation({ records: batch, retries: 2 }, error, policy({ maxRetryAttempts: 2 }));

    expect(decision).toEqual({ action: 'give-up', records: batch, condition: 'RetryAttemptsExhausted' });
  });

  it('gives up on the remaining records of a partial failure, keeping the checkpoint before them', () => {
    const batch = records(1, 2, 3);

    const decision = decideAfterInvocation(
      { records: batch, retries: 0 },
      success(failures(batch[2]!)),
      policy({ maxRetryAttempts: 0 }),
    );

    expect(decision).toEqual({
      action: 'give-up',
      records: batch.slice(2),
      condition: 'RetryAttemptsExhausted',
      checkpointThrough: batch[1],
    });
  });

  it('retries forever when MaximumRetryAttempts is -1', () => {
    const batch = records(1);

    const decision = decideAfterInvocation(
      { records: batch, retries: 10_000 },
      error,
      policy({ maxRetryAttempts: -1 }),
    );

    expect(decision.action).toBe('retry');
  });
});

describe('splitExpired', () => {
  it('splits off records older than the maximum record age', () => {
    const batch = records(1, 2, 3);

    expect(splitExpired(batch, 4_500, 2)).toEqual({ expired: batch.slice(0, 2), fresh: batch.slice(2) });
  });

  it('keeps everything when the age is unlimited', () => {
    const batch = records(1);

    expect(splitExpired(batch, 10 ** 12, -1)).toEqual({ expired: [], fresh: batch });
  });
});

describe('firstFailedIndex', () => {
  it('is undefined for an empty failure list', () => {
    expect(firstFailedIndex(records(1), { batchItemFailures: [] })).toBeUndefined();
  });

  it('is "all" for an empty item identifier', () => {
    expect(firstFailedIndex(records(1), { batchItemFailures: [{ itemIdentifier: '' }] })).toBe('all');
  });
});

describe('compareSequenceNumbers', () => {
  it('orders sequence numbers beyond 2^53 numerically', () => {
    expect(
      compareSequenceNumbers(
        '49600000000000000000000000000000000000000000000000002',
        '49600000000000000000000000000000000000000000000000010',
      ),
    ).toBe(-1);
  });
});
