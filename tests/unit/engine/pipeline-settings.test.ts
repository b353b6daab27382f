import { describe, expect, it } from 'vitest';
import { checkPipeline, descriptionProblems } from '../../../shared/engine/pipeline.js';
import { sensorsDefinition } from '../../fixtures/pipelines/sensors/definition.js';
import { SENSORS_SETTINGS, sensorsDescription } from '../../fixtures/pipelines/sensors/description.js';

describe("a pipeline's settings", () => {
  it('are read from the environment as the definition loads, defaults when unset', () => {
    expect(sensorsDefinition({})).toMatchObject({ allowedLatenessMs: 30_000, maxClockSkewMs: 15_000 });
    expect(
      sensorsDefinition({ SENSORS_ALLOWED_LATENESS_SECONDS: '120', SENSORS_MAX_CLOCK_SKEW_SECONDS: '45' }),
    ).toMatchObject({ allowedLatenessMs: 120_000, maxClockSkewMs: 45_000 });
  });

  it('refuse a value out of bounds at load, naming the variable, and a skew above half the lateness', () => {
    expect(() => sensorsDefinition({ SENSORS_ALLOWED_LATENESS_SECONDS: '-1' })).toThrow(
      'environment variable SENSORS_ALLOWED_LATENESS_SECONDS must be a whole number from 0 to 3600, got "-1"',
    );
    expect(() => checkPipeline(sensorsDefinition({ SENSORS_MAX_CLOCK_SKEW_SECONDS: '20' }))).toThrow(
      'maxClockSkewMs 20000 is above half of allowedLatenessMs 30000',
    );
  });

  it("are checked with the description: names, the pipeline's variable prefix, duplicates, defaults in bounds", () => {
    const { allowedLateness } = SENSORS_SETTINGS;
    const problems = descriptionProblems({
      ...sensorsDescription,
      settings: [
        allowedLateness,
        { ...allowedLateness, env: 'ALLOWED_LATENESS_SECONDS' },
        { ...allowedLateness, prop: 'Lateness', env: 'SENSORS_LATENESS', default: 7_200 },
      ],
    });

    expect(problems).toEqual([
      'setting allowedLatenessSeconds: its variable must be SENSORS_<NAME> in capitals, got "ALLOWED_LATENESS_SECONDS"',
      'setting allowedLatenessSeconds is listed more than once',
      'setting "Lateness": its prop must match /^[a-z][A-Za-z0-9]{0,62}$/',
      'setting Lateness: its default is out of its bounds (Lateness must be a whole number from 0 to 3600, got 7200)',
    ]);
  });
});
