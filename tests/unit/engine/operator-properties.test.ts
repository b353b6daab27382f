import fc from 'fast-check';
import { describe, it } from 'vitest';
import { deliver, partitionsOf, workload } from '../../helpers/engine-harness.js';
import { operatorProperties } from '../../helpers/engine-properties.js';

// Hundreds of generated deliveries per operator: seconds alone, more beside the rest of the suite.
const TIMEOUT_MS = 120_000;

describe.each(operatorProperties)('$name', (property) => {
  it(
    'end as the naive oracle computes under any batch cut, failed attempt, redelivery, duplicate and interleaving',
    async () => {
      await fc.assert(
        fc.asyncProperty(workload, async (w) => {
          const partitions = partitionsOf(w);
          property.check(partitions, await deliver(property.compiled, partitions, w.schedule));
        }),
        { numRuns: 150 },
      );
    },
    TIMEOUT_MS,
  );
});
