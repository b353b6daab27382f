/**
 * What the read models must hold after a generated workload, recomputed from the emissions alone with
 * the pipeline's documented rules (docs/exactly-once.md), independently of the processor's code paths.
 */

import { expect } from 'vitest';
import type { Emission } from '../../local/simulator/workload.js';
import type { ProcessingSettings } from '../../pipelines/transit/config.js';
import { validateVehiclePosition } from '../../pipelines/transit/events/validate.js';
import type { VehiclePosition } from '../../pipelines/transit/model.js';

export interface ExpectedWindow {
  routeId: string;
  windowStart: number;
  count: number;
  minSpeedKmh: number;
  maxSpeedKmh: number;
  sumSpeedKmh: number;
  vehicles: Set<string>;
  late: number;
}

export interface ExpectedFold {
  invalid: number;
  duplicates: number;
  late: number;
  folded: number;
  windows: Map<string, ExpectedWindow>;
  latest: Map<string, VehiclePosition>;
}

/** The event-time settings of the template's defaults, which the e2e stacks run with. */
export const TEMPLATE_SETTINGS: Pick<ProcessingSettings, 'windowSizeMs' | 'allowedLatenessMs' | 'maxClockSkewMs'> = {
  windowSizeMs: 60_000,
  allowedLatenessMs: 120_000,
  maxClockSkewMs: 60_000,
};

export function expectedFold(
  emissions: Emission[],
  settings: Pick<ProcessingSettings, 'windowSizeMs' | 'allowedLatenessMs' | 'maxClockSkewMs'>,
  now = Date.now(),
): ExpectedFold {
  const result: ExpectedFold = { invalid: 0, duplicates: 0, late: 0, folded: 0, windows: new Map(), latest: new Map() };
  const seen = new Set<string>();
  const watermark = new Map<string, number>();
  const windowOf = (routeId: string, windowStart: number) => {
    const key = `${routeId}|${windowStart}`;
    let w = result.windows.get(key);
    if (!w) {
      w = {
        routeId,
        windowStart,
        count: 0,
        minSpeedKmh: Infinity,
        maxSpeedKmh: -Infinity,
        sumSpeedKmh: 0,
        vehicles: new Set(),
        late: 0,
      };
      result.windows.set(key, w);
    }
    return w;
  };
  for (const emission of emissions) {
    const validation = validateVehiclePosition(emission.event, settings, now);
    if (!validation.ok) {
      result.invalid++;
      continue;
    }
    const event = validation.event;
    if (seen.has(event.eventId)) {
      result.duplicates++;
      continue;
    }
    seen.add(event.eventId);
    const windowStart = Math.floor(event.ts / settings.windowSizeMs) * settings.windowSizeMs;
    const mark = watermark.get(event.vehicleId) ?? Number.NEGATIVE_INFINITY;
    const w = windowOf(event.routeId, windowStart);
    if (windowStart + settings.windowSizeMs + settings.allowedLatenessMs <= mark) {
      result.late++;
      w.late++;
      continue;
    }
    result.folded++;
    w.count++;
    w.sumSpeedKmh += event.speedKmh;
    w.minSpeedKmh = Math.min(w.minSpeedKmh, event.speedKmh);
    w.maxSpeedKmh = Math.max(w.maxSpeedKmh, event.speedKmh);
    w.vehicles.add(event.vehicleId);
    watermark.set(event.vehicleId, Math.max(mark, event.ts));
    const latest = result.latest.get(event.vehicleId);
    if (!latest || event.ts > latest.ts) result.latest.set(event.vehicleId, event);
  }
  return result;
}

/** A route window as `GET /v1/routes/{routeId}/metrics` returns it. */
interface ServedWindow {
  windowStart: number;
  count: number;
  minSpeedKmh: number;
  maxSpeedKmh: number;
  avgSpeedKmh: number;
  distinctVehicles: number;
  lateEvents: number;
}

/** Asserts that the REST API serves every vehicle's latest state: the newest fix the events give it. */
export async function expectLatestStates(restUrl: string, expected: ExpectedFold): Promise<void> {
  for (const latest of expected.latest.values()) {
    const response = await fetch(`${restUrl}/v1/vehicles/${encodeURIComponent(latest.vehicleId)}`);
    expect(response.status, latest.vehicleId).toBe(200);
    expect(((await response.json()) as { ts: number }).ts, latest.vehicleId).toBe(latest.ts);
  }
}

/** The route windows the REST API serves for every route of `expected`, from its first window on. */
export async function servedRouteWindows(
  restUrl: string,
  expected: ExpectedFold,
): Promise<Map<string, ServedWindow[]>> {
  const windows = [...expected.windows.values()];
  const from = Math.min(...windows.map((w) => w.windowStart));
  const served = new Map<string, ServedWindow[]>();
  for (const routeId of new Set(windows.map((w) => w.routeId))) {
    const response = await fetch(
      `${restUrl}/v1/routes/${encodeURIComponent(routeId)}/metrics?from=${from}&to=${Date.now()}&limit=500`,
    );
    expect(response.status, routeId).toBe(200);
    served.set(routeId, ((await response.json()) as { items: ServedWindow[] }).items);
  }
  return served;
}

/**
 * Asserts that the REST API serves exactly the expected route windows (none missing, none extra, every
 * count, speed extreme, average, distinct-vehicle and late count equal): nothing lost, nothing twice.
 */
export async function expectServedWindows(restUrl: string, expected: ExpectedFold): Promise<void> {
  const windows = [...expected.windows.values()];
  for (const [routeId, items] of await servedRouteWindows(restUrl, expected)) {
    const want = windows.filter((w) => w.routeId === routeId && w.count > 0);
    expect(items.map((w) => w.windowStart).sort()).toEqual(want.map((w) => w.windowStart).sort());
    for (const window of items) {
      const w = expected.windows.get(`${routeId}|${window.windowStart}`);
      expect(w, `${routeId} window ${window.windowStart}`).toBeDefined();
      expect(window).toMatchObject({
        count: w?.count,
        minSpeedKmh: w?.minSpeedKmh,
        maxSpeedKmh: w?.maxSpeedKmh,
        distinctVehicles: w?.vehicles.size,
        lateEvents: w?.late,
      });
      expect(window.avgSpeedKmh).toBeCloseTo((w?.sumSpeedKmh ?? 0) / (w?.count ?? 1), 6);
    }
  }
}

/**
 * The payloads a stream processor (Kinesis or Kafka) dead-letters for these emissions, as JSON text: one
 * per invalid event, except that a JSON array on a stream is a batch of events, each judged on its own
 * (the REST ingest instead rejects the array as one event).
 */
export function streamDeadLetterPayloads(
  emissions: Emission[],
  settings: Pick<ProcessingSettings, 'maxClockSkewMs'>,
  now = Date.now(),
): string[] {
  return emissions
    .filter((e) => !validateVehiclePosition(e.event, settings, now).ok)
    .flatMap((e) => (Array.isArray(e.event) ? e.event : [e.event]))
    .map((event) => JSON.stringify(event));
}
