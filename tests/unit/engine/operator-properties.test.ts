import fc from 'fast-check';
import { describe, it } from 'vitest';
import { deliver, partitionsOf, workload } from '../../helpers/engine-harness.js';
import { operatorProperties } from '../../helpers/engine-properties.js';

describe.each(operatorProperties)('$name', (property) => {
  it('end as the naive oracle computes under any batch cut, failed attempt, redelivery, duplicate and interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(workload, async (w) => {
        const partitions = partitionsOf(w);
        property.check(partitions, await deliver(property.compiled, partitions, w.schedule));
      }),
      { numRuns: 150 },
    );
  });
});
