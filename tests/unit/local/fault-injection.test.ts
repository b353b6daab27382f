import { describe, expect, it } from 'vitest';
import {
  checkFaultInjection,
  FaultInjectionConfigError,
  faultDecider,
  selectsFunction,
} from '../../../local/runtime/fault-injection.js';

const draws = (decide: (() => unknown) | undefined, n: number) => Array.from({ length: n }, () => decide?.());

describe('fault injection', () => {
  it('crashes about the given fraction of invocations, before and after the handler', () => {
    const outcomes = draws(faultDecider({ rate: 0.05, seed: 42 }, 'ProcessorFunctionABCDEF12', 'p'), 20_000);

    const crashed = outcomes.filter(Boolean).length / outcomes.length;
    expect(crashed).toBeGreaterThan(0.04);
    expect(crashed).toBeLessThan(0.06);
    expect(new Set(outcomes.filter(Boolean))).toEqual(new Set(['before-handler', 'after-handler']));
  });

  it('repeats the same crashes for the same seed, and others for another seed', () => {
    const run = (seed: number) => draws(faultDecider({ rate: 0.05, seed }, 'Fn', 'fn'), 500);

    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('leaves functions alone that the settings do not name, or when the rate is 0', () => {
    expect(
      faultDecider({ rate: 0.5, functions: ['IngestFunction'] }, 'ProcessorFunction1A2B3C4D', 'p'),
    ).toBeUndefined();
    expect(faultDecider({ rate: 0 }, 'Fn', 'fn')).toBeUndefined();
    expect(faultDecider(undefined, 'Fn', 'fn')).toBeUndefined();
  });

  it('names a function by logical id, by logical id without its CDK hash, or by local name', () => {
    expect(selectsFunction(['ProcessorFunction'], 'ProcessorFunction1A2B3C4D', 'x')).toBe(true);
    expect(selectsFunction(['ProcessorFunction1A2B3C4D'], 'ProcessorFunction1A2B3C4D', 'x')).toBe(true);
    expect(selectsFunction(['x'], 'ProcessorFunction1A2B3C4D', 'x')).toBe(true);
    expect(selectsFunction(['Processor'], 'ProcessorFunction1A2B3C4D', 'x')).toBe(false);
    expect(selectsFunction(undefined, 'Any', 'any')).toBe(true);
  });

  it('refuses a rate outside 0..1 and a fractional seed', () => {
    expect(() => checkFaultInjection({ rate: 1.5 })).toThrow(FaultInjectionConfigError);
    expect(() => checkFaultInjection({ rate: Number.NaN })).toThrow(FaultInjectionConfigError);
    expect(() => checkFaultInjection({ rate: 0.1, seed: 0.5 })).toThrow(FaultInjectionConfigError);
  });
});
