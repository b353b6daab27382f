import { describe, expect, it } from 'vitest';
import { MetricCounters, parseEmfLine } from '../../../local/runtime/emf.js';

const emf = (values: Record<string, unknown>) =>
  JSON.stringify({
    _aws: {
      Timestamp: 0,
      CloudWatchMetrics: [
        {
          Namespace: 'Streamfold',
          Dimensions: [['service']],
          Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })),
        },
      ],
    },
    service: 'processor',
    ...values,
  });

describe('parseEmfLine', () => {
  it('reads each metric of an EMF line, summing array values', () => {
    expect(parseEmfLine(emf({ EventsProcessed: [1, 2, 3], WindowsWritten: 2 }))).toEqual([
      { namespace: 'Streamfold', name: 'EventsProcessed', value: 6 },
      { namespace: 'Streamfold', name: 'WindowsWritten', value: 2 },
    ]);
  });

  it('ignores log lines and broken JSON', () => {
    expect(parseEmfLine('{"level":"INFO","message":"hello"}')).toEqual([]);
    expect(parseEmfLine('{"CloudWatchMetrics": ')).toEqual([]);
    expect(parseEmfLine('START RequestId: x')).toEqual([]);
  });
});

describe('MetricCounters', () => {
  it('totals metrics overall and per function', () => {
    const counters = new MetricCounters();
    counters.add('Ingest', [{ namespace: 'Streamfold', name: 'EventsAccepted', value: 5 }]);
    counters.add('Processor', [{ namespace: 'Streamfold', name: 'EventsAccepted', value: 1 }]);

    expect(counters.get('EventsAccepted')).toBe(6);
    expect(counters.snapshot().byFunction).toEqual({ Ingest: { EventsAccepted: 5 }, Processor: { EventsAccepted: 1 } });
  });
});
