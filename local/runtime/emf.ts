/** Reads Powertools' Embedded Metric Format lines from function output into in-memory counters. */

/** One metric value found in an EMF line. */
export interface MetricSample {
  namespace: string;
  name: string;
  value: number;
}

/**
 * The metric samples of one output line; none when the line is not EMF (`_aws.CloudWatchMetrics`).
 * Values may be a number or an array of numbers (Powertools batches repeated adds); they are summed.
 */
export function parseEmfLine(line: string): MetricSample[] {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || !trimmed.includes('CloudWatchMetrics')) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return [];
  }
  const root = parsed as Record<string, unknown>;
  const directives = (root._aws as { CloudWatchMetrics?: unknown } | undefined)?.CloudWatchMetrics;
  if (!Array.isArray(directives)) return [];
  const samples: MetricSample[] = [];
  for (const directive of directives as { Namespace?: unknown; Metrics?: unknown }[]) {
    if (!Array.isArray(directive?.Metrics)) continue;
    for (const metric of directive.Metrics as { Name?: unknown }[]) {
      if (typeof metric?.Name !== 'string') continue;
      const raw = root[metric.Name];
      const values = Array.isArray(raw) ? raw : [raw];
      const value = values.reduce<number>((sum, v) => sum + (typeof v === 'number' ? v : 0), 0);
      samples.push({ namespace: String(directive.Namespace ?? ''), name: metric.Name, value });
    }
  }
  return samples;
}

/** Metric totals since start, overall and per function. */
export class MetricCounters {
  private readonly totals = new Map<string, number>();
  private readonly byFunction = new Map<string, Map<string, number>>();

  /** Adds the samples of one line emitted by `functionName`. */
  add(functionName: string, samples: readonly MetricSample[]): void {
    for (const { name, value } of samples) {
      this.totals.set(name, (this.totals.get(name) ?? 0) + value);
      let own = this.byFunction.get(functionName);
      if (!own) {
        own = new Map();
        this.byFunction.set(functionName, own);
      }
      own.set(name, (own.get(name) ?? 0) + value);
    }
  }

  /** Total of one metric across functions (0 when never emitted). */
  get(name: string): number {
    return this.totals.get(name) ?? 0;
  }

  /** Every metric's total, and each function's own totals. */
  snapshot(): { totals: Record<string, number>; byFunction: Record<string, Record<string, number>> } {
    return {
      totals: Object.fromEntries(this.totals),
      byFunction: Object.fromEntries([...this.byFunction].map(([fn, m]) => [fn, Object.fromEntries(m)])),
    };
  }
}
