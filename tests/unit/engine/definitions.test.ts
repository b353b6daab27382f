import { describe, expect, it } from 'vitest';
import { count } from '../../../shared/engine/accumulators.js';
import { field } from '../../../shared/engine/aggregate.js';
import { threshold, zScore } from '../../../shared/engine/detectors.js';
import { compile } from '../../../shared/engine/run-batch.js';
import { tumbling } from '../../../shared/engine/window-assigners.js';

describe('definitions', () => {
  it('refuses a definition with every problem named', () => {
    expect(() =>
      compile({
        pipeline: 'Bad Name',
        allowedLatenessMs: -1,
        operators: [
          { kind: 'state', name: 'dup', key: () => 'k', fold: () => 1 },
          { kind: 'state', name: 'dup', key: () => 'k', fold: () => 1 },
          {
            kind: 'join',
            name: 'j',
            left: { stream: 'a', key: () => 'k' },
            right: { stream: 'b', key: () => 'k' },
            lowerMs: 5,
            upperMs: 1,
          },
        ],
      }),
    ).toThrow(
      /pipeline name "Bad Name".*allowedLatenessMs.*"dup" is used twice.*operator j: join j: lowerMs 5 is above upperMs 1/,
    );
  });

  it('refuses a detector of final results on windows closed by the watermark, which never have one', () => {
    const windows = {
      kind: 'windows' as const,
      name: 'w',
      key: () => 'k',
      windows: tumbling(60_000),
      aggregate: { n: field(count(), () => 1) },
    };
    const define = (closeBy: 'tick' | 'watermark', finalOnly: boolean) => () =>
      compile({
        pipeline: 'test',
        allowedLatenessMs: 0,
        operators: [{ ...windows, closeBy }],
        detectors: [
          threshold({ name: 'many', on: 'w', finalOnly, when: () => true }),
          zScore({
            name: 'odd',
            on: 'w',
            value: () => 0,
            threshold: 3,
            baselineWindows: 5,
            windowSizeMs: 60_000,
            allowedLatenessMs: 0,
          }),
        ],
      });

    expect(define('watermark', true)).toThrow(
      'detector many judges final results, which "w" (closed by the watermark) never has; detector odd judges final results',
    );
    expect(define('watermark', false)).toThrow(/^(?!.*detector many).*detector odd judges final results/);
    expect(define('tick', true)).not.toThrow();
  });
});
