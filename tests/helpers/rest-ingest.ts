// A producer that must not lose events: it posts a request until some stack accepts it, across 5xx answers,
// refused connections and a stack that is killed and started again (whichever stack `target()` names then).
import { setTimeout as sleep } from 'node:timers/promises';

/** What a run of {@link postUntilAccepted} calls went through. */
export interface PostTally {
  requests: number;
  /** Attempts answered 5xx (an injected crash, the stack still starting) or not answered at all. */
  retried: number;
}

export const newPostTally = (): PostTally => ({ requests: 0, retried: 0 });

/** Posts `{ events }` to `POST /v1/events` until it is answered 202 or 207; throws after `timeoutMs`. */
export async function postUntilAccepted(
  target: () => { restUrl: string; apiKey: string } | undefined,
  events: unknown[],
  tally: PostTally = newPostTally(),
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  tally.requests++;
  for (;;) {
    const current = target();
    const answer = current
      ? await fetch(`${current.restUrl}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': current.apiKey },
          body: JSON.stringify({ events }),
        }).then(
          async (response) => ({ status: response.status, text: await response.text() }),
          (error: Error) => ({ status: 0, text: error.message }),
        )
      : { status: 0, text: 'no stack is running' };
    if (answer.status === 202 || answer.status === 207) return;
    if (answer.status >= 400 && answer.status < 500) throw new Error(`HTTP ${answer.status}: ${answer.text}`);
    if (Date.now() > deadline) throw new Error(`not accepted within ${timeoutMs} ms: ${answer.status} ${answer.text}`);
    tally.retried++;
    await sleep(250);
  }
}
