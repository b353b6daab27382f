/**
 * Window assigners: which windows an event time falls in. Tumbling and hopping windows are fixed
 * intervals `[start, start + size)` aligned to the epoch; session windows depend on the other events
 * of their key and are merged by the session operator (`operators/sessions.ts`).
 */

export interface WindowInterval {
  start: number;
  end: number;
}

export interface FixedWindows {
  kind: 'tumbling' | 'hopping';
  sizeMs: number;
  slideMs: number;
}

/** Thrown at definition time for a window that cannot work (zero size, a slide that skips time). */
export class WindowDefinitionError extends Error {
  override name = 'WindowDefinitionError';
}

const checkMs = (name: string, ms: number) => {
  if (!Number.isInteger(ms) || ms <= 0)
    throw new WindowDefinitionError(`${name} must be a positive integer of ms, got ${ms}`);
};

/** Back-to-back windows of `sizeMs`: each event time is in exactly one. */
export function tumbling(sizeMs: number): FixedWindows {
  checkMs('tumbling window size', sizeMs);
  return { kind: 'tumbling', sizeMs, slideMs: sizeMs };
}

/**
 * Windows of `sizeMs` starting every `slideMs` ("active users in the last 15 minutes, every minute"):
 * each event time is in `sizeMs / slideMs` of them. The size must be a multiple of the slide, so that
 * every window holds the same number of slides.
 */
export function hopping(sizeMs: number, slideMs: number): FixedWindows {
  checkMs('hopping window size', sizeMs);
  checkMs('hopping window slide', slideMs);
  if (sizeMs % slideMs !== 0) {
    throw new WindowDefinitionError(`hopping window size ${sizeMs} ms is not a multiple of its slide ${slideMs} ms`);
  }
  return { kind: 'hopping', sizeMs, slideMs };
}

/** The start of the oldest window containing `ts`; the others start every `slideMs` after it, up to `ts`. */
export const oldestWindowStart = ({ sizeMs, slideMs }: FixedWindows, ts: number) =>
  Math.floor(ts / slideMs) * slideMs - sizeMs + slideMs;

/** The windows containing `ts`, oldest first. */
export function windowsOf(windows: FixedWindows, ts: number): WindowInterval[] {
  const out: WindowInterval[] = [];
  for (let start = oldestWindowStart(windows, ts); start <= ts; start += windows.slideMs) {
    out.push({ start, end: start + windows.sizeMs });
  }
  return out;
}

/**
 * The `count` windows a value in the window starting at `windowStart` may be compared with: the newest
 * ones that are closed, i.e. can no longer receive folded events, because their end plus the allowed
 * lateness lies at or before `windowStart` (with 60 s windows and 120 s lateness: W-7..W-3). Their
 * content no longer depends on how far other entities' events have been processed.
 * `windowStart` may be any time (a window of another size): the windows are tumbling ones of
 * `windowSizeMs` aligned to the epoch, the newest with `end + allowedLatenessMs <= windowStart`.
 * Returns the first and the last window start, inclusive.
 */
export function closedWindowsBefore(
  windowStart: number,
  count: number,
  settings: { windowSizeMs: number; allowedLatenessMs: number },
): { from: number; to: number } {
  const size = settings.windowSizeMs;
  const to = Math.floor((windowStart - size - settings.allowedLatenessMs) / size) * size;
  return { from: to - (count - 1) * size, to };
}
