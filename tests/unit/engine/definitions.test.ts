import { describe, expect, it } from 'vitest';
import { compile } from '../../../shared/engine/run-batch.js';

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
});
