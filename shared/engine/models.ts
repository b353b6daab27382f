/**
 * Scoring with a model trained offline and shipped as a JSON artifact beside the code. The engine
 * scores logistic-regression models (what churn and congestion scoring need: a probability from a
 * handful of standardised features); training lives with each pipeline's `npm run train`.
 */
import type { Detector } from './detectors.js';
import type { Update } from './operators/operator.js';

/** The artifact `npm run train` writes. */
export interface LogisticModelArtifact {
  kind: 'logistic-regression';
  /** Names the artifact in every score, so a score can be traced to the model that gave it. */
  version: string;
  /** Per feature, in the order of `weights`, the mean and standard deviation it is standardised with. */
  features: Array<{ name: string; mean: number; std: number }>;
  weights: number[];
  bias: number;
}

/** An artifact that cannot be scored with: the message names what is wrong. */
export class ModelArtifactError extends Error {
  override name = 'ModelArtifactError';
}

export interface LogisticModel {
  version: string;
  featureNames: string[];
  /** The probability of the positive class; throws naming a feature that is missing or not finite. */
  score(features: Record<string, number>): number;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks an artifact (parsed JSON) and returns its model. */
export function loadLogisticModel(artifact: unknown): LogisticModel {
  const a = artifact as Partial<LogisticModelArtifact> | null;
  const problems: string[] = [];
  if (a?.kind !== 'logistic-regression')
    problems.push(`kind must be "logistic-regression", got ${JSON.stringify(a?.kind)}`);
  if (typeof a?.version !== 'string' || a.version === '') problems.push('version must be a non-empty string');
  const features = Array.isArray(a?.features) ? a.features : [];
  if (!Array.isArray(a?.features) || features.length === 0) problems.push('features must be a non-empty array');
  features.forEach((f, i) => {
    if (typeof f?.name !== 'string') problems.push(`features[${i}].name must be a string`);
    if (!finite(f?.mean)) problems.push(`features[${i}].mean must be a finite number`);
    if (!finite(f?.std) || f.std <= 0) problems.push(`features[${i}].std must be a positive number`);
  });
  if (!Array.isArray(a?.weights) || a.weights.length !== features.length || !a.weights.every(finite)) {
    problems.push(`weights must be ${features.length} finite numbers, one per feature`);
  }
  if (!finite(a?.bias)) problems.push('bias must be a finite number');
  if (problems.length > 0) throw new ModelArtifactError(`model artifact: ${problems.join('; ')}`);
  const { version, weights, bias } = a as LogisticModelArtifact;
  return {
    version,
    featureNames: features.map((f) => f.name),
    score(input) {
      let z = bias;
      features.forEach((f, i) => {
        const v = input[f.name];
        if (!finite(v))
          throw new ModelArtifactError(`feature ${f.name} is ${v === undefined ? 'missing' : `not finite (${v})`}`);
        z += (weights[i] as number) * ((v - f.mean) / f.std);
      });
      return 1 / (1 + Math.exp(-z));
    },
  };
}

/** Scores each (final, by default) update of an operator and reports those at or above `threshold`. */
export function modelScore(options: {
  name: string;
  on: string;
  model: LogisticModel;
  features: (update: Update) => Record<string, number>;
  threshold: number;
  /** Score live updates too, not only closed windows and sessions. @default false */
  live?: boolean;
}): Detector {
  return {
    name: options.name,
    on: options.on,
    detect(update) {
      if (!options.live && !update.final) return [];
      const features = options.features(update);
      const score = options.model.score(features);
      if (score < options.threshold) return [];
      const ts = (update.value.windowStart ?? update.value.start ?? 0) as number;
      return [
        {
          detectionId: `${options.name}|${update.key}|${ts}`,
          detector: options.name,
          key: update.key,
          ts,
          details: { score, model: options.model.version, features },
        },
      ];
    },
  };
}
