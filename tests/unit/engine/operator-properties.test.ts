import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enrichEvents, MemoryReferenceSource, type ReferenceData } from '../../../shared/engine/reference.js';
import type { BatchEnricher } from '../../../shared/engine/run-batch.js';
import { deliver, partitionsOf, type TestEvent, type TestRecord, workload } from '../../helpers/engine-harness.js';
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

/**
 * Reference data per item: i0 adds nothing to the value, i1 adds 1,000, i2 is missing. An event of i2
 * is dead-lettered, so the store must hold what the oracle computes from the partitions without i2's
 * records and with the bonus added: an event left out by the enrichment is as if it never came.
 */
const BONUS: Record<string, number> = { i0: 0, i1: 1_000 };
const bonus: ReferenceData<TestEvent, TestEvent, number> = {
  name: 'item',
  field: 'item',
  key: (e) => e.item,
  read: (item) => item.bonus as number,
  combine: (e, add) => ({ ...e, value: e.value + add }),
};
const enriched = (partitions: TestRecord[][]) =>
  partitions.map((records) =>
    records
      .filter((r) => r.event.item in BONUS)
      .map((r) => ({ ...r, event: { ...r.event, value: r.event.value + (BONUS[r.event.item] as number) } })),
  );

describe.each(operatorProperties)('$name, enriched from reference data', (property) => {
  it(
    'end as the oracle computes without the dead-lettered events, under any batch cut, failure and redelivery',
    async () => {
      await fc.assert(
        fc.asyncProperty(workload, async (w) => {
          const partitions = partitionsOf(w);
          const source = new MemoryReferenceSource(
            Object.fromEntries(Object.entries(BONUS).map(([item, add]) => [item, { bonus: add }])),
          );
          let calls = 0;
          const enrich: BatchEnricher<TestEvent, TestEvent> = async (accepted) => {
            calls++;
            return (
              await enrichEvents(
                bonus,
                source,
                accepted.map((c) => c.event),
              )
            ).events;
          };
          const delivery = await deliver(property.compiled, partitions, w.schedule, { enrich });

          // Late records keep the events as validated, before the enrichment added the bonus.
          property.check(enriched(partitions), delivery, partitions);
          // One load per batch attempt at most (none when every event of it was committed or a duplicate).
          expect(source.loads.length).toBeLessThanOrEqual(delivery.attempts);
          expect(calls).toBe(delivery.attempts);
        }),
        { numRuns: 100 },
      );
    },
    TIMEOUT_MS,
  );
});
