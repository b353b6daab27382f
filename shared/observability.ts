/** Powertools logger, metrics and tracer, one of each per execution environment. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const logger = new Logger();
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Streamfold' });
export const tracer = new Tracer();

/**
 * Publishes a batch's counters as Count metrics, each under its metric name in `names`, and logs them
 * in one line with `context` (the source, the pipeline).
 */
export function publishCounters<S extends object>(
  names: ReadonlyArray<readonly [keyof S, string]>,
  stats: S,
  context: Record<string, unknown>,
): void {
  for (const [stat, name] of names) metrics.addMetric(name, MetricUnit.Count, stats[stat] as number);
  logger.info('batch processed', { ...context, ...stats });
}
