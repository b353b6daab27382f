import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { InvalidStreamfoldPropsError, validateStreamfoldProps } from '../../infra/stack-props.js';
import { buildStack } from '../helpers/synth.js';

describe('stack props validation', () => {
  it('accepts the defaults', () => {
    expect(validateStreamfoldProps({})).toEqual([]);
  });

  it('rejects bad props at synth time with one message listing every conflict', () => {
    const build = () =>
      buildStack({
        windowSizeSeconds: 0,
        allowedLatenessSeconds: -1,
        inputShardCount: 0,
        outputShardCount: 1.5,
        speedZThreshold: -3,
        restThrottle: { rateLimit: 0, burstLimit: 0 },
      });

    expect(build).toThrow(InvalidStreamfoldPropsError);
    expect(build).toThrow(
      [
        'Invalid Streamfold stack props:',
        '  - windowSizeSeconds must be > 0, got 0',
        '  - speedZThreshold must be > 0, got -3',
        '  - allowedLatenessSeconds must be >= 0, got -1',
        '  - inputShardCount must be a whole number >= 1, got 0',
        '  - outputShardCount must be a whole number >= 1, got 1.5',
        '  - restThrottle.rateLimit must be > 0, got 0',
        '  - restThrottle.burstLimit must be a whole number >= 1, got 0',
      ].join('\n'),
    );
  });

  it('rejects a window that is not a whole number of seconds', () => {
    expect(validateStreamfoldProps({ windowSizeSeconds: 2.5 })).toEqual([
      'windowSizeSeconds must be a whole number of seconds, got 2.5',
    ]);
  });

  it('rejects NaN instead of letting it reach the functions', () => {
    expect(validateStreamfoldProps({ offRouteMeters: Number.NaN })).toEqual(['offRouteMeters must be > 0, got NaN']);
  });

  it('passes valid custom settings through to the stack', () => {
    const stack = buildStack({ inputShardCount: 4, windowSizeSeconds: 30, allowedLatenessSeconds: 0 });
    const template = JSON.stringify(Template.fromStack(stack).toJSON());

    expect(template).toContain('"ShardCount":4');
    expect(template).toContain('"WINDOW_SIZE_SECONDS":"30"');
    expect(template).toContain('"ALLOWED_LATENESS_SECONDS":"0"');
  });
});
