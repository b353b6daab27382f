/**
 * Runs one batch of an event-source mapping to completion, for any source: invoke, then follow
 * `esm-decisions.ts` (checkpoint, bisect, retry, give up) until every record is checkpointed or given
 * up on. The source supplies the invocation, the checkpoint and the on-failure delivery.
 */
import {
  decideAfterInvocation,
  type FailureCondition,
  type InvocationOutcome,
  type RetryPolicy,
  type Segment,
  type SequencedRecord,
  splitExpired,
} from './esm-decisions.js';

/** Pause before retry number `retries` of a failed batch: `baseMs` times the retry number, at most 1 s. */
export function retryPauseMs(retries: number, baseMs = 100): number {
  return Math.min(baseMs * retries, 1000);
}

/** What a source does for the batch runner. */
export interface BatchCallbacks<R extends SequencedRecord> {
  invoke(records: R[]): Promise<InvocationOutcome>;
  /** Records up to and including `through` are done. */
  checkpoint(through: R): void;
  /** Records given up on: send them to the on-failure destination (and count them as done). */
  giveUp(
    records: R[],
    condition: FailureCondition,
    invokeCount: number,
    functionError: string | undefined,
  ): Promise<void>;
  /** Waits before retry number `retries` (see {@link retryPauseMs}); resolves early when stopping. */
  pauseBeforeRetry(retries: number): Promise<void>;
  /** True once the mapping is stopping: retries are abandoned, the attempt in flight finishes. */
  stopping(): boolean;
}

/**
 * Runs `batch` until every record is checkpointed or given up on. Returns false when it stopped early
 * (the mapping is stopping), leaving the rest unchecked for a later reader.
 */
export async function runBatch<R extends SequencedRecord>(
  batch: R[],
  policy: RetryPolicy,
  callbacks: BatchCallbacks<R>,
): Promise<boolean> {
  const pending: Segment<R>[] = [{ records: batch, retries: 0 }];
  while (pending.length > 0) {
    const next = pending.shift();
    if (!next) break;
    const { expired, fresh } = splitExpired(next.records, Date.now(), policy.maxRecordAgeSeconds);
    if (expired.length > 0) await callbacks.giveUp(expired, 'RecordAgeExceeded', 0, undefined);
    if (fresh.length === 0) continue;
    if (callbacks.stopping() && next.retries > 0) return false;
    const segment = { records: fresh, retries: next.retries };
    const outcome = await callbacks.invoke(fresh);
    const decision = decideAfterInvocation(segment, outcome, policy);
    switch (decision.action) {
      case 'checkpoint':
        callbacks.checkpoint(decision.through);
        break;
      case 'bisect':
        pending.unshift(...decision.halves);
        break;
      case 'retry':
        if (decision.checkpointThrough) callbacks.checkpoint(decision.checkpointThrough);
        pending.unshift(decision.segment);
        await callbacks.pauseBeforeRetry(decision.segment.retries);
        break;
      case 'give-up':
        if (decision.checkpointThrough) callbacks.checkpoint(decision.checkpointThrough);
        await callbacks.giveUp(
          decision.records,
          decision.condition,
          segment.retries + 1,
          outcome.kind === 'error' ? 'Unhandled' : undefined,
        );
        break;
    }
  }
  return true;
}
