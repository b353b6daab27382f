import { describe, expect, it } from 'vitest';
import { processingSettings, transitProcessorCore } from '../../pipelines/transit/config.js';
import { TRANSIT_SETTINGS } from '../../pipelines/transit/settings.js';
import { eventTimeSettings } from '../../shared/config.js';
import {
  ConfigurationError,
  describeBounds,
  EVENT_TIME_SETTINGS,
  readSetting,
  type Setting,
  settingProblem,
  settingsEnvironment,
} from '../../shared/settings.js';

const windowSize: Setting = TRANSIT_SETTINGS.windowSize;
const threshold: Setting = TRANSIT_SETTINGS.speedZThreshold;

describe('settings', () => {
  it('reads the default when the variable is unset or blank, and the value when it is set', () => {
    expect(readSetting(windowSize, {})).toBe(60);
    expect(readSetting(windowSize, { WINDOW_SIZE_SECONDS: ' ' })).toBe(60);
    expect(readSetting(windowSize, { WINDOW_SIZE_SECONDS: '30' })).toBe(30);
    expect(readSetting(threshold, { SPEED_Z_THRESHOLD: '2.5' })).toBe(2.5);
  });

  it.each([
    ['WINDOW_SIZE_SECONDS', '0', 'a whole number from 1 to 86400'],
    ['WINDOW_SIZE_SECONDS', '1.5', 'a whole number from 1 to 86400'],
    ['WINDOW_SIZE_SECONDS', '86401', 'a whole number from 1 to 86400'],
    ['SPEED_Z_THRESHOLD', '0', 'a number above 0, at most 100'],
    ['SPEED_Z_THRESHOLD', 'three', 'a number above 0, at most 100'],
    ['SPEED_Z_THRESHOLD', 'Infinity', 'a number above 0, at most 100'],
  ])('refuses %s=%s at cold start, naming the variable, its bounds and the value', (name, raw, bounds) => {
    const setting = name === 'WINDOW_SIZE_SECONDS' ? windowSize : threshold;

    expect(() => readSetting(setting, { [name]: raw })).toThrow(ConfigurationError);
    expect(() => readSetting(setting, { [name]: raw })).toThrow(
      `environment variable ${name} must be ${bounds}, got "${raw}"`,
    );
  });

  it('checks a stack prop against the same bounds, an unset prop being the default', () => {
    expect(settingProblem(windowSize, undefined)).toBeUndefined();
    expect(settingProblem(windowSize, 86_400)).toBeUndefined();
    expect(settingProblem(windowSize, 0)).toBe('windowSizeSeconds must be a whole number from 1 to 86400, got 0');
    expect(settingProblem(threshold, Number.NaN)).toBe(
      'speedZThreshold must be a number above 0, at most 100, got NaN',
    );
  });

  it('sets each variable from its prop or its default', () => {
    expect(settingsEnvironment([windowSize, threshold], { windowSizeSeconds: 30 })).toEqual({
      WINDOW_SIZE_SECONDS: '30',
      SPEED_Z_THRESHOLD: '3',
    });
  });

  it('says every bound a setting has', () => {
    expect(describeBounds(EVENT_TIME_SETTINGS.maxClockSkew)).toBe('a number from 0 to 43200');
  });

  it('caps the clock-skew tolerance at half the allowed lateness', () => {
    expect(eventTimeSettings({})).toEqual({ allowedLatenessMs: 120_000, maxClockSkewMs: 60_000 });
    expect(eventTimeSettings({ ALLOWED_LATENESS_SECONDS: '30', MAX_CLOCK_SKEW_SECONDS: '60' })).toEqual({
      allowedLatenessMs: 30_000,
      maxClockSkewMs: 15_000,
    });
  });

  it("gives transit's processor every setting in its units", () => {
    expect(
      processingSettings({
        WINDOW_SIZE_SECONDS: '30',
        STALL_MINUTES: '2',
        OFF_ROUTE_METERS: '75',
        MAX_PLAUSIBLE_SPEED_KMH: '300',
        SPEED_Z_THRESHOLD: '4',
      }),
    ).toEqual({
      windowSizeMs: 30_000,
      allowedLatenessMs: 120_000,
      maxClockSkewMs: 60_000,
      speedZThreshold: 4,
      stallMs: 120_000,
      maxPlausibleSpeedKmh: 300,
      offRouteMeters: 75,
    });
  });
});

describe('transitProcessorCore', () => {
  it('runs the engine unless TRANSIT_PROCESSOR names processBatch, and names the variable for anything else', () => {
    expect(transitProcessorCore({})).toBe('engine');
    expect(transitProcessorCore({ TRANSIT_PROCESSOR: '' })).toBe('engine');
    expect(transitProcessorCore({ TRANSIT_PROCESSOR: 'batch' })).toBe('batch');
    expect(() => transitProcessorCore({ TRANSIT_PROCESSOR: 'Engine' })).toThrow(
      new ConfigurationError('environment variable TRANSIT_PROCESSOR must be one of batch, engine, got "Engine"'),
    );
  });
});
