import { afterEach, describe, expect, it, vi } from 'vitest';
import { processAndRecord } from '../../../pipelines/transit/processing/processor-runtime.js';
import { metrics } from '../../../shared/observability.js';
import { lonAt, pipeline, position, sourceRecords, T0 } from '../../helpers/processing.js';

const published = () => {
  const spy = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
  return (name: string) =>
    spy.mock.calls.filter(([n]) => n === name).reduce((sum, [, , value]) => sum + Number(value), 0);
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('processAndRecord', () => {
  it('counts each folded event and each dead letter once across a failed attempt and its retry', async () => {
    const sum = published();
    const p = pipeline();
    const records = sourceRecords([
      ...Array.from({ length: 5 }, (_, i) =>
        position({ eventId: `e${i}`, ts: T0 + i * 1000, lon: lonAt(100 + i * 10) }),
      ),
      { ...position({ eventId: 'bad' }), lat: 91 },
    ]);
    p.publisher.failNext = 1;

    await expect(processAndRecord(records, p.deps, 'kinesis')).rejects.toThrow('injected publish failure');
    await processAndRecord(records, p.deps, 'kinesis');

    expect(sum('EventsProcessed')).toBe(5);
    expect(sum('EventsRedelivered')).toBe(5);
    expect(sum('EventsRejected')).toBe(1);
  });
});
