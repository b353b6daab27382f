/** Factories for vehicle position events, shared by unit and e2e tests. */
import type { VehiclePosition } from '../../shared/generated/schemas.js';

/** A valid `VehiclePosition` near the synthetic city's centre; override any field. */
export function vehiclePosition(overrides: Partial<VehiclePosition> = {}): VehiclePosition {
  return {
    eventId: '2f1b6a52-7c1e-4d3a-9a57-0c1d2e3f4a5b',
    vehicleId: 'V0001',
    routeId: 'R1',
    tripId: 'R1-O-001',
    lat: 52.3702,
    lon: 4.8952,
    speedKmh: 32.5,
    headingDeg: 90,
    ts: Date.UTC(2025, 0, 6, 8, 0, 0),
    occupancy: 12,
    accuracyM: 4,
    ...overrides,
  };
}

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Problems of a position event as the ingest contract sees them (types and ranges), without the
 * pipeline's validator, so simulator tests do not depend on it: [] means valid.
 */
export function positionProblems(event: unknown): string[] {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return ['not-an-object'];
  const e = event as Record<string, unknown>;
  const problems: string[] = [];
  const num = (k: string) => typeof e[k] === 'number' && Number.isFinite(e[k]);
  if (typeof e['vehicleId'] !== 'string' || !ID_PATTERN.test(e['vehicleId'])) problems.push('missing-vehicleId');
  if (typeof e['routeId'] !== 'string' || !ID_PATTERN.test(e['routeId'])) problems.push('missing-routeId');
  if (e['eventId'] !== undefined && typeof e['eventId'] !== 'string') problems.push('bad-eventId');
  if (!num('lat') || Math.abs(e['lat'] as number) > 90) problems.push('lat-out-of-range');
  if (!num('lon') || Math.abs(e['lon'] as number) > 180) problems.push('lon-out-of-range');
  if (!num('speedKmh')) problems.push('speed-not-a-number');
  else if ((e['speedKmh'] as number) < 0) problems.push('negative-speed');
  if (!num('headingDeg') || (e['headingDeg'] as number) < 0 || (e['headingDeg'] as number) >= 360) {
    problems.push('heading-out-of-range');
  }
  if (!num('ts')) problems.push('non-numeric-ts');
  return problems;
}
