import { describe, expect, it } from 'vitest';
import { pipelineEmissions } from '../../../local/simulator/pipeline-simulator.js';
import { type SimulatedEvent, simulatedEvents } from '../../../shared/engine/workload.js';
import { type SensorReading, SIMULATED_SENSORS, sensors } from '../../fixtures/pipelines/sensors/definition.js';

const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const FAULTS = { duplicates: 0.1, outOfOrder: 0.1, late: 0.05, invalid: 0.05 };
const run = (faults = {}, seed = 7) =>
  [...pipelineEmissions(sensors, { minutes: 10, rate: 5, seed, faults, startTime: T0 })] as SimulatedEvent[];
const reading = (sent: SimulatedEvent) => sent.event as SensorReading;
const validate = (event: unknown) =>
  sensors.event.validator.validate(event, { maxClockSkewMs: sensors.maxClockSkewMs }, T0 + 11 * 60_000);

describe('a pipeline simulator workload, with the engine’s faults', () => {
  it('sends each event of the workload once, when its event time comes, without faults', () => {
    const sent = run();

    expect(sent).toHaveLength(10 * 60 * 5);
    expect(new Set(sent.map((s) => s.kind))).toEqual(new Set(['normal']));
    expect(sent.every((s) => s.sendAtMs === reading(s).ts - T0)).toBe(true);
    expect(new Set(sent.map((s) => reading(s).eventId)).size).toBe(sent.length);
    // Keyed by the entity, each of the workload's sensors in turn, all valid.
    expect(sent.slice(0, 3).map((s) => s.key)).toEqual([...SIMULATED_SENSORS]);
    expect(sent.every((s) => s.key === reading(s).sensorId && validate(s.event).ok)).toBe(true);
  });

  it('adds copies, delays and refused events in send order, and drops no valid event', () => {
    const clean = run();
    const sent = run(FAULTS);
    const byKind = (kind: SimulatedEvent['kind']) => sent.filter((s) => s.kind === kind);
    const share = (kind: SimulatedEvent['kind']) => byKind(kind).length / clean.length;

    expect(sent.map((s) => s.sendAtMs)).toEqual(sent.map((s) => s.sendAtMs).sort((a, b) => a - b));
    // Every event of the workload goes out valid at least once, as it was generated.
    const valid = new Map(sent.filter((s) => s.kind !== 'invalid').map((s) => [reading(s).eventId, s.event]));
    expect(valid.size).toBe(clean.length);
    expect(clean.filter((s) => JSON.stringify(valid.get(reading(s).eventId)) !== JSON.stringify(s.event))).toEqual([]);
    for (const [kind, expected] of [
      ['duplicate', FAULTS.duplicates],
      ['out-of-order', FAULTS.outOfOrder],
      ['late', FAULTS.late],
      ['invalid', FAULTS.invalid],
    ] as const) {
      expect(share(kind), kind).toBeGreaterThan(expected * 0.7);
      expect(share(kind), kind).toBeLessThan(expected * 1.3);
    }
    const delay = (s: SimulatedEvent) => s.sendAtMs - (reading(s).ts - T0);
    const windowEnd = (s: SimulatedEvent) => Math.floor(reading(s).ts / 60_000) * 60_000 + 60_000;
    // Sent after its minute's end plus the lateness: it misses its window wherever in it it falls.
    expect(byKind('late').every((s) => T0 + s.sendAtMs > windowEnd(s) + sensors.allowedLatenessMs + 30_000)).toBe(true);
    expect(byKind('out-of-order').every((s) => delay(s) >= 2_000 && delay(s) < 10_000)).toBe(true);
    // A copy is sent after the event it copies, however that was sent.
    const firstSent = new Map<string, number>();
    for (const s of sent)
      if (s.kind !== 'duplicate' && s.kind !== 'invalid') firstSent.set(reading(s).eventId, s.sendAtMs);
    expect(
      byKind('duplicate').every((s) => {
        const after = s.sendAtMs - firstSent.get(reading(s).eventId)!;
        return after > 0 && after < 3_000;
      }),
    ).toBe(true);
  });

  it('makes each refused event by leaving out a required field, which the validator names', () => {
    const invalid = run(FAULTS).filter((s) => s.kind === 'invalid');

    expect(invalid.length).toBeGreaterThan(50);
    for (const s of invalid) {
      const result = validate(s.event);
      expect(result.ok, JSON.stringify(s.event)).toBe(false);
      expect(s.event).not.toHaveProperty(s.missingField!);
      expect(JSON.stringify(result)).toContain(s.missingField);
    }
    expect(new Set(invalid.map((s) => s.missingField))).toEqual(new Set(sensors.event.validator.requiredFields));
  });

  it('repeats a run for a seed, and another seed makes another run', () => {
    expect(run(FAULTS, 11)).toEqual(run(FAULTS, 11));
    expect(run(FAULTS, 12)).not.toEqual(run(FAULTS, 11));
  });

  it('refuses a share outside [0, 1] and a pipeline without a workload', () => {
    expect(() => run({ late: 1.5 })).toThrow('faults.late must be within [0, 1], got 1.5');
    const { workload: _none, ...withoutWorkload } = sensors;
    const random = () => 0.5;
    expect(() => [...simulatedEvents(withoutWorkload, { startTime: T0, seconds: 1, rate: 1, random })]).toThrow(
      'the pipeline declares no simulator workload',
    );
  });
});
