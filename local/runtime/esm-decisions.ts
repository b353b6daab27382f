/**
 * What a Kinesis event-source mapping does after an invocation: checkpoint, retry, bisect or give up.
 * Pure, so the rules Lambda documents can be unit-tested without a stream:
 * - a function error retries the batch; with BisectBatchOnFunctionError it is split in two first
 *   (splitting does not count as a retry), down to single records;
 * - with ReportBatchItemFailures, the records before the lowest failed sequence number are checkpointed
 *   and the batch is retried from that record; an invalid failure list fails the whole batch;
 * - after MaximumRetryAttempts retries the records go to the on-failure destination and the shard moves on;
 * - records older than MaximumRecordAgeInSeconds are not invoked, they go to the on-failure destination.
 */

/** The part of a stream record the decisions look at. */
export interface SequencedRecord {
  sequenceNumber: string;
  /** Approximate arrival time, epoch ms. */
  arrivalMs: number;
}

/** The mapping settings that drive the decisions. */
export interface RetryPolicy {
  bisectOnError: boolean;
  /** -1 = unlimited. */
  maxRetryAttempts: number;
  /** -1 = unlimited. */
  maxRecordAgeSeconds: number;
  reportBatchItemFailures: boolean;
}

/** Records invoked together, and how many times they were already retried. */
export interface Segment<R extends SequencedRecord> {
  records: R[];
  retries: number;
}

/** How an invocation ended. */
export type InvocationOutcome =
  | { kind: 'success'; response: unknown }
  | { kind: 'error'; errorType: string; errorMessage: string };

/** Why records were given up on; the `condition` of AWS's on-failure record. */
export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** The next step for a segment. */
export type SegmentDecision<R extends SequencedRecord> =
  | { action: 'checkpoint'; through: R }
  | { action: 'retry'; segment: Segment<R>; checkpointThrough?: R }
  | { action: 'bisect'; halves: [Segment<R>, Segment<R>] }
  | { action: 'give-up'; records: R[]; condition: FailureCondition; checkpointThrough?: R };

/** Compares two Kinesis sequence numbers (decimal strings longer than 2^53). */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Where a partial batch response says the batch failed: `undefined` when it all succeeded, the index of
 * the record with the lowest failed sequence number, or `'all'` when the response is malformed (Lambda
 * then treats the whole batch as failed).
 */
export function firstFailedIndex(records: readonly SequencedRecord[], response: unknown): number | 'all' | undefined {
  if (response === null || response === undefined || typeof response !== 'object') return undefined;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return undefined;
  if (!Array.isArray(failures)) return 'all';
  let lowest: number | undefined;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') return 'all';
    const index = records.findIndex((r) => r.sequenceNumber === id);
    if (index < 0) return 'all';
    if (lowest === undefined || index < lowest) lowest = index;
  }
  return lowest;
}

/** Splits off the records too old to be invoked; they come first since a shard is ordered by arrival. */
export function splitExpired<R extends SequencedRecord>(
  records: readonly R[],
  nowMs: number,
  maxRecordAgeSeconds: number,
): { expired: R[]; fresh: R[] } {
  if (maxRecordAgeSeconds < 0) return { expired: [], fresh: [...records] };
  const oldest = nowMs - maxRecordAgeSeconds * 1000;
  return {
    expired: records.filter((r) => r.arrivalMs < oldest),
    fresh: records.filter((r) => r.arrivalMs >= oldest),
  };
}

function retryOrGiveUp<R extends SequencedRecord>(
  records: R[],
  retries: number,
  policy: RetryPolicy,
  checkpointThrough: R | undefined,
): SegmentDecision<R> {
  const through = checkpointThrough ? { checkpointThrough } : {};
  if (policy.maxRetryAttempts >= 0 && retries >= policy.maxRetryAttempts) {
    return { action: 'give-up', records, condition: 'RetryAttemptsExhausted', ...through };
  }
  return { action: 'retry', segment: { records, retries: retries + 1 }, ...through };
}

/** Decides the next step for a non-empty segment after one invocation. */
export function decideAfterInvocation<R extends SequencedRecord>(
  segment: Segment<R>,
  outcome: InvocationOutcome,
  policy: RetryPolicy,
): SegmentDecision<R> {
  const { records, retries } = segment;
  const last = records.at(-1);
  if (!last) throw new RangeError('a segment holds at least one record');
  let failedFrom: number | 'all' | undefined = 'all';
  if (outcome.kind === 'success') {
    failedFrom = policy.reportBatchItemFailures ? firstFailedIndex(records, outcome.response) : undefined;
  }
  if (failedFrom === undefined) return { action: 'checkpoint', through: last };
  if (failedFrom === 'all') {
    if (policy.bisectOnError && records.length > 1) {
      const middle = Math.ceil(records.length / 2);
      return {
        action: 'bisect',
        halves: [
          { records: records.slice(0, middle), retries },
          { records: records.slice(middle), retries },
        ],
      };
    }
    return retryOrGiveUp(records, retries, policy, undefined);
  }
  return retryOrGiveUp(
    records.slice(failedFrom),
    retries,
    policy,
    failedFrom > 0 ? records[failedFrom - 1] : undefined,
  );
}
