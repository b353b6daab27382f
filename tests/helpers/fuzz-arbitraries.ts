/**
 * Arbitraries of the e2e fuzzer (tests/e2e/fuzz.test.ts) and the builders that turn what they generate into
 * concrete inputs, each with what the contract (docs/openapi.yaml, docs/contracts.md, README) says must happen
 * to it. The verdicts are written from the contract, not computed with the product's validator, so a
 * validator that is too lenient or too strict shows up as a disagreement.
 *
 * An arbitrary generates a plain spec; a builder stamps it with its index (unique event ids, timestamps and,
 * for events whose fate depends on a questionable rule, a vehicle of its own), so the read models can be
 * predicted from a tally of what was generated and what the pipeline said it accepted.
 */
import fc from 'fast-check';
import { isContractId } from './contract-ids.js';

/** What the contract says about one event: it must be accepted, rejected, or the contract leaves it open. */
export type Verdict = 'accept' | 'reject' | 'either';

/** Where a generated input goes; ids carry it so the channels never touch each other's read models. */
export type Channel = 'rest' | 'kinesis' | 'kafka';

/** The id space of one fuzz run: every vehicle and route id starts with `prefix`. */
export interface FuzzContext {
  prefix: string;
  /** Event time of the first generated event; the others follow it by a few ms each. */
  t0: number;
  /** How many pool vehicles and routes each channel spreads its ordinary events over. */
  vehicles: number;
  routes: number;
}

/** What the read models must show for an accepted event of a pool vehicle. */
export interface PoolFix {
  vehicleId: string;
  routeId: string;
  eventId?: string;
  ts: number;
  lat: number;
  lon: number;
  speedKmh: number;
}

/** One generated candidate event: its JSON text and what must happen to it. */
export interface EventCase {
  /** JSON text of the event (may be deep or odd; never re-serialized by the harness). */
  text: string;
  verdict: Verdict;
  /** A short description of what was done to the event, for failure reports. */
  what: string;
  /** Set when the event is an object whose first key is `fuzzTag` (dead letters are matched by it). */
  tag?: string;
  /** Set when an accepted event must be folded into a pool vehicle's state and its route's windows. */
  pool?: PoolFix;
  /** Set when an accepted event has a vehicle of its own whose state must exist afterwards. */
  solo?: { vehicleId: string; eventId?: string };
  /** The event's vehicle id when it is a valid id: where a wrongly accepted event would show. */
  vehicleId?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Events

/** A change to a valid event and the contract's verdict on it. */
export interface Mutation {
  what: string;
  verdict: Verdict;
  /** Whether vehicle, route and event time stay what the builder stamped (so a pool vehicle may keep it). */
  keepsIdentity: boolean;
  /**
   * Give the event a vehicle and route of its own even though the contract accepts it: for values the
   * contract allows but a store may not (DynamoDB numbers), so that a failure stays with this event.
   */
  isolate?: boolean;
  apply(event: Record<string, unknown>, stamp: Stamp): void;
}

/** What the builder stamped on one event. */
export interface Stamp {
  index: number;
  ts: number;
  now: number;
  eventId: string;
  /** A vehicle id of this event alone (for mutations whose acceptance is questionable). */
  soloVehicleId: string;
  /** The route of such events (never one of the pool routes whose windows are checked exactly). */
  soloRouteId: string;
  raw: RawTexts;
}

/** JSON that `JSON.stringify` cannot produce (deep nesting, 1e400): placeholders replaced after stringify. */
export class RawTexts {
  private readonly texts = new Map<string, string>();
  placeholder(text: string): string {
    const key = `\u0000RAW${this.texts.size}\u0000`;
    this.texts.set(key, text);
    return key;
  }
  stringify(value: unknown): string {
    let text = JSON.stringify(value).replace(`"${PROTO_STAND_IN}":`, '"__proto__":');
    for (const [key, raw] of this.texts) text = text.replace(JSON.stringify(key), raw);
    return text;
  }
}

const set =
  (field: string, value: unknown) =>
  (event: Record<string, unknown>): void => {
    event[field] = value;
  };
const remove =
  (field: string) =>
  (event: Record<string, unknown>): void => {
    delete event[field];
  };
const raw =
  (field: string, text: string) =>
  (event: Record<string, unknown>, stamp: Stamp): void => {
    event[field] = stamp.raw.placeholder(text);
  };

const m = (
  what: string,
  verdict: Verdict,
  apply: Mutation['apply'],
  keepsIdentity = verdict === 'reject' || !/^(vehicleId|routeId|ts)\b/.test(what),
  isolate = false,
): Mutation => ({ what, verdict, keepsIdentity, apply, ...(isolate ? { isolate } : {}) });

/** Written as `"__proto__"` in the JSON text (an object literal cannot hold that own key). */
const PROTO_STAND_IN = '__fuzzProto__';

/** Values of the wrong JSON type for a string field and for a number field. */
const NOT_STRINGS: unknown[] = [null, true, 0, 1.5, -7, [], ['V1'], {}, { id: 'V1' }];
const NOT_NUMBERS: unknown[] = [null, false, '52.1', '', '0x10', [], [1], {}, { value: 1 }];

/**
 * Ids the contract (docs/openapi.yaml `Id`: 1 to 128 characters without control characters, U+FFFE, U+FFFF,
 * "/", "#" or "%", no leading or trailing space, not "." or "..") rejects.
 */
const BAD_IDS = [
  '',
  ' ',
  '.',
  '..',
  'V/1',
  'V#1',
  'V%1',
  'V\n1',
  'V\t',
  '\u0000',
  'V\u0000',
  'V\u0085',
  'V\uFFFE',
  'V\uD800',
  'V1 ',
  ' V1',
  'x'.repeat(129),
  '../V1',
  '%2F',
];

/** Ids the contract accepts that an ASCII-only rule would not (real GTFS ids hold spaces and colons). */
const ODD_GOOD_IDS = ['V 1', 'de:08212:1004:2:2 (U)', 'V\\1', 'V?x=1', 'Vé', '🚌', 'a.b'];

function idMutations(field: 'vehicleId' | 'routeId'): Mutation[] {
  return [
    m(`${field} missing`, 'reject', remove(field)),
    ...NOT_STRINGS.map((v) => m(`${field}: ${JSON.stringify(v)}`, 'reject', set(field, v))),
    ...BAD_IDS.map((v) => m(`${field}: ${JSON.stringify(v)}`, 'reject', set(field, v))),
    // The other id goes solo too, so the event touches no pool vehicle and no pool route.
    m(`${field}: 64 characters`, 'accept', (event, stamp) => {
      event.vehicleId = stamp.soloVehicleId;
      event.routeId = stamp.soloRouteId;
      event[field] = `${stamp.soloVehicleId}-${field}`.padEnd(64, 'z').slice(0, 64);
    }),
    m(`${field}: every allowed character class`, 'accept', (event, stamp) => {
      event.vehicleId = stamp.soloVehicleId;
      event.routeId = stamp.soloRouteId;
      event[field] = `${stamp.soloVehicleId}_a.b:c-D9`;
    }),
    ...ODD_GOOD_IDS.map((id) =>
      m(`${field}: ${JSON.stringify(id)} + unique suffix`, 'accept', (event, stamp) => {
        event.vehicleId = stamp.soloVehicleId;
        event.routeId = stamp.soloRouteId;
        event[field] = `${id}-${field === 'vehicleId' ? stamp.soloVehicleId : stamp.soloRouteId}`;
      }),
    ),
  ];
}

const TRIP_MUTATIONS: Mutation[] = [
  m('tripId missing', 'accept', remove('tripId')),
  m('tripId: null', 'accept', set('tripId', null)),
  m('tripId: valid id', 'accept', set('tripId', 'T-1.a:b_c')),
  ...[true, 3, [], {}].map((v) => m(`tripId: ${JSON.stringify(v)}`, 'reject', set('tripId', v))),
  ...BAD_IDS.map((v) => m(`tripId: ${JSON.stringify(v)}`, 'reject', set('tripId', v))),
];

const EVENT_ID_MUTATIONS: Mutation[] = [
  m('eventId missing (derived)', 'accept', remove('eventId')),
  m('eventId: null (derived)', 'accept', set('eventId', null)),
  m('eventId: ""', 'reject', set('eventId', '')),
  m('eventId: 128 characters', 'accept', (event, stamp) => {
    event.eventId = stamp.eventId.padEnd(128, 'e');
  }),
  m('eventId: 129 characters', 'reject', (event, stamp) => {
    event.eventId = stamp.eventId.padEnd(129, 'e');
  }),
  ...[true, 42, [], {}, ['e']].map((v) => m(`eventId: ${JSON.stringify(v)}`, 'reject', set('eventId', v))),
  // An event id follows the id rule too.
  ...['é-ü-ß', 'emoji🚌', 'spaced id'].map((s) =>
    m(`eventId: ${JSON.stringify(s)} + unique suffix`, 'accept', (event, stamp) => {
      event.eventId = `${s}-${stamp.eventId}`;
    }),
  ),
  ...[' spaced id ', 'tab\tid', 'nul\u0000id', 'slash/#?', 'x\uFFFE'].map((s) =>
    m(`eventId: ${JSON.stringify(s)} + unique suffix`, 'reject', (event, stamp) => {
      event.eventId = `${s}-${stamp.eventId}`;
    }),
  ),
];

/** A number field's boundary values and wrong values. `max` is exclusive when `exclusiveMax`. */
function rangeMutations(
  field: string,
  min: number,
  max: number | undefined,
  options: { exclusiveMax?: boolean; above?: Verdict } = {},
): Mutation[] {
  const list: Mutation[] = [
    m(`${field} missing`, 'reject', remove(field)),
    ...NOT_NUMBERS.map((v) => m(`${field}: ${JSON.stringify(v)}`, 'reject', set(field, v))),
    m(`${field}: ${min} (minimum)`, 'accept', set(field, min)),
    m(`${field}: just below the minimum`, 'reject', set(field, min - 1e-6)),
    m(`${field}: -1e308`, 'reject', set(field, -1e308)),
    m(`${field}: -1e400 (overflows to -Infinity)`, 'reject', raw(field, '-1e400')),
    // Non-zero but below the contract's 1e-9 (and below DynamoDB's smallest number, 1e-130).
    m(
      `${field}: ${min + 5e-324} (min + 5e-324)`,
      min === 0 ? 'reject' : 'accept',
      set(field, min + 5e-324),
      true,
      true,
    ),
    m(`${field}: 1e-200`, 'reject', set(field, 1e-200), true, true),
    m(`${field}: 1e-131`, 'reject', set(field, 1e-131), true, true),
    m(`${field}: 1e-9`, 'accept', set(field, 1e-9), true, true),
  ];
  if (max !== undefined) {
    if (!options.exclusiveMax) list.push(m(`${field}: ${max} (maximum)`, 'accept', set(field, max)));
    list.push(
      m(`${field}: just below the maximum`, 'accept', set(field, max - 1e-6)),
      m(
        `${field}: ${options.exclusiveMax ? `${max} (exclusive maximum)` : 'just above the maximum'}`,
        options.above ?? 'reject',
        set(field, options.exclusiveMax ? max : max + 1e-6),
      ),
      m(`${field}: 1e308`, options.above ?? 'reject', set(field, 1e308)),
    );
  } else {
    list.push(m(`${field}: 1e308 (no maximum in the contract)`, 'either', set(field, 1e308)));
  }
  list.push(m(`${field}: 1e400 (overflows to Infinity)`, max === undefined ? 'either' : 'reject', raw(field, '1e400')));
  return list;
}

const iso = (ms: number) => new Date(ms).toISOString();
const withOffset = (ms: number) => {
  // The same instant written with a +02:00 offset.
  const local = new Date(ms + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
  return local;
};

const TS_MUTATIONS: Mutation[] = [
  m('ts missing', 'reject', remove('ts')),
  m(
    'ts: ISO-8601 UTC string of the same instant',
    'accept',
    (event, stamp) => {
      event.ts = iso(stamp.ts);
    },
    true,
  ),
  m(
    'ts: ISO-8601 string with +02:00 offset, same instant',
    'accept',
    (event, stamp) => {
      event.ts = withOffset(stamp.ts);
    },
    true,
  ),
  m('ts: fractional milliseconds', 'reject', (event, stamp) => {
    event.ts = stamp.ts + 0.5;
  }),
  m('ts: epoch ms as a digit string', 'reject', (event, stamp) => {
    event.ts = String(stamp.ts);
  }),
  m('ts: epoch seconds', 'reject', (event, stamp) => {
    event.ts = Math.floor(stamp.ts / 1000);
  }),
  m('ts: 0', 'reject', set('ts', 0)),
  m('ts: -1', 'reject', set('ts', -1)),
  m('ts: 1999-12-31T23:59:59.999Z in ms', 'reject', set('ts', Date.UTC(2000, 0, 1) - 1)),
  m('ts: 10 minutes in the future', 'reject', (event, stamp) => {
    event.ts = stamp.now + 10 * 60_000;
  }),
  m('ts: 1e20', 'reject', set('ts', 1e20)),
  m('ts: 1e400', 'reject', raw('ts', '1e400')),
  m('ts: 2^63', 'reject', set('ts', 2 ** 63)),
  ...[true, null, [], {}, ''].map((v) => m(`ts: ${JSON.stringify(v)}`, 'reject', set('ts', v))),
  // Strings that are not ISO-8601 times, though Date.parse reads some of them.
  ...[
    '1',
    '2025',
    '12',
    'March 1, 2026',
    'Tue, 01 Dec 2026 23:00:00 GMT',
    '12/01/2026',
    '2026-12-01T23:00:00Z junk',
    ' 2026-12-01T23:00:00Z',
    'not a time',
    '2026-13-45T99:99:99Z',
    'Infinity',
    'NaN',
  ].map((s) =>
    m(`ts: ${JSON.stringify(s)}`, 'reject', (event, stamp) => {
      event.ts = s;
      event.vehicleId = stamp.soloVehicleId;
    }),
  ),
  // ISO-8601, but without an explicit offset or a time: the contract wants both.
  ...['2026-12-01', '2026-12-01T23:00:00', '2026-W48-2', '2026-12-01 23:00:00Z'].map((s) =>
    m(`ts: ${JSON.stringify(s)}`, 'reject', (event, stamp) => {
      event.ts = s;
      event.vehicleId = stamp.soloVehicleId;
    }),
  ),
  m('ts: ISO-8601 without seconds, with Z', 'accept', (event, stamp) => {
    event.ts = iso(Math.floor(stamp.ts / 60_000) * 60_000).replace(':00.000Z', 'Z');
    event.vehicleId = stamp.soloVehicleId;
    event.routeId = stamp.soloRouteId;
  }),
];

const OCCUPANCY_MUTATIONS: Mutation[] = [
  m('occupancy: null', 'accept', set('occupancy', null)),
  m('occupancy: 0', 'accept', set('occupancy', 0)),
  m('occupancy: 5000 (maximum)', 'accept', set('occupancy', 5000)),
  m('occupancy: 5001', 'reject', set('occupancy', 5001)),
  m('occupancy: 2147483647', 'reject', set('occupancy', 2147483647)),
  m('occupancy: 2147483648 (beyond Avro int)', 'reject', set('occupancy', 2147483648)),
  m('occupancy: -1', 'reject', set('occupancy', -1)),
  m('occupancy: 1.5', 'reject', set('occupancy', 1.5)),
  ...['3', true, [], {}].map((v) => m(`occupancy: ${JSON.stringify(v)}`, 'reject', set('occupancy', v))),
];

const ACCURACY_MUTATIONS: Mutation[] = [
  m('accuracyM: null', 'accept', set('accuracyM', null)),
  m('accuracyM: 0', 'accept', set('accuracyM', 0)),
  m('accuracyM: 3.25', 'accept', set('accuracyM', 3.25)),
  m('accuracyM: 1e-200', 'reject', set('accuracyM', 1e-200), true, true),
  m('accuracyM: -0.5', 'reject', set('accuracyM', -0.5)),
  m('accuracyM: 100000 (maximum)', 'accept', set('accuracyM', 100_000)),
  m('accuracyM: 1e308', 'reject', set('accuracyM', 1e308)),
  m('accuracyM: 1e400 (overflows to Infinity)', 'reject', raw('accuracyM', '1e400')),
  ...['3', true, [], {}].map((v) => m(`accuracyM: ${JSON.stringify(v)}`, 'reject', set('accuracyM', v))),
];

const EXTRA_MUTATIONS: Mutation[] = [
  m('an undeclared field', 'accept', set('colour', 'red')),
  m('an undeclared "__proto__" key', 'accept', set(PROTO_STAND_IN, { polluted: true })),
  m('an undeclared field holding 20 KB', 'accept', set('blob', 'b'.repeat(20_000))),
  // Rejected, with a payload of 100,000 characters but 300 KB of UTF-8: its dead letter must still fit SQS.
  m('vehicleId missing, an undeclared field of 100,000 "€"', 'reject', (event) => {
    delete event.vehicleId;
    event.blob = '€'.repeat(100_000);
  }),
  m('an undeclared field with a lone surrogate', 'accept', set('note', 'x\uD800y')),
  m('an undeclared field holding U+FFFE and U+FFFF', 'accept', set('note', 'x\uFFFE\uFFFFy')),
  m('an undeclared field holding a NUL', 'accept', set('note', 'a\u0000b')),
  m('an undeclared "events" field', 'accept', set('events', [1, 2])),
  m('an undeclared field nested 31 deep (an event may nest 32 levels)', 'accept', (event, stamp) => {
    event.nested = stamp.raw.placeholder(`${'['.repeat(31)}${']'.repeat(31)}`);
  }),
  m('an undeclared field nested 50 deep', 'reject', (event, stamp) => {
    event.nested = stamp.raw.placeholder(`${'['.repeat(50)}${']'.repeat(50)}`);
  }),
];

/** Every mutation of one event, grouped by the field it changes. */
const ALL_MUTATIONS: Mutation[] = [
  ...EVENT_ID_MUTATIONS,
  ...idMutations('vehicleId'),
  ...idMutations('routeId'),
  ...TRIP_MUTATIONS,
  ...rangeMutations('lat', -90, 90),
  ...rangeMutations('lon', -180, 180),
  ...rangeMutations('speedKmh', 0, 400),
  ...rangeMutations('headingDeg', 0, 360, { exclusiveMax: true }),
  ...TS_MUTATIONS,
  ...OCCUPANCY_MUTATIONS,
  ...ACCURACY_MUTATIONS,
  ...EXTRA_MUTATIONS,
];

/**
 * Numbers near DynamoDB's smallest (1e-130), which the contract refuses below 1e-9: kept apart and rare,
 * since one that a processor accepted but could not store would hold up its shard through every retry.
 */
export const STORE_LIMIT_MUTATIONS = ALL_MUTATIONS.filter((mutation) => mutation.isolate);
export const MUTATIONS = ALL_MUTATIONS.filter((mutation) => !mutation.isolate);

/** A field nested `depth` levels deep: JSON text only (`JSON.stringify` would overflow the stack). */
export const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
export const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** Depths of deep JSON: mostly harmless, sometimes beyond what a recursive serializer survives. */
export const depthArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 200 }) },
  { weight: 2, arbitrary: fc.constantFrom(1_000, 5_000) },
  { weight: 2, arbitrary: fc.constantFrom(20_000, 50_000) },
);

/** Whole events that are not an event object. */
export type NotAnEvent = { what: string; text: string };
const NOT_AN_EVENT: NotAnEvent[] = [
  { what: 'event: null', text: 'null' },
  { what: 'event: 1', text: '1' },
  { what: 'event: "V1"', text: '"V1"' },
  { what: 'event: true', text: 'true' },
  { what: 'event: []', text: '[]' },
  { what: 'event: {}', text: '{}' },
  { what: 'event: [{}]', text: '[{}]' },
];

/** What an event spec holds before the builder stamps it. */
export interface EventSpec {
  vehicle: number;
  route: number;
  lat: number;
  lon: number;
  speedKmh: number;
  headingDeg: number;
  occupancy: number | null;
  accuracyM: number | null;
  tripId: string | null;
  /** Omit `eventId` (it is then derived from the content). */
  deriveId: boolean;
  change:
    | { kind: 'none' }
    | { kind: 'mutation'; mutation: Mutation }
    | { kind: 'deep-field'; field: string; depth: number; shape: 'array' | 'object' }
    | { kind: 'not-an-event'; value: NotAnEvent }
    | { kind: 'deep-event'; depth: number; shape: 'array' | 'object' };
}

const baseEventArb = fc.record({
  vehicle: fc.nat(),
  route: fc.nat(),
  // Plausible fixes (GPS precision, 0.1 km/h): edge values are the mutations' job.
  lat: fc.integer({ min: -899_999, max: 899_999 }).map((n) => n / 10_000),
  lon: fc.integer({ min: -1_799_999, max: 1_799_999 }).map((n) => n / 10_000),
  speedKmh: fc.integer({ min: 0, max: 1_200 }).map((n) => n / 10),
  headingDeg: fc.integer({ min: 0, max: 3_599 }).map((n) => n / 10),
  occupancy: fc.option(fc.integer({ min: 0, max: 150 })),
  accuracyM: fc.option(fc.integer({ min: 0, max: 500 }).map((n) => n / 10)),
  tripId: fc.option(fc.constantFrom('T1', 'T-2', 'trip.3', 'x:4')),
  deriveId: fc.boolean(),
});

/** A valid event. */
export const validEventArb: fc.Arbitrary<EventSpec> = baseEventArb.map((b) => ({ ...b, change: { kind: 'none' } }));

/** An event with one field wrong (or odd) in one of many ways. */
export const mutatedEventArb: fc.Arbitrary<EventSpec> = fc
  .tuple(baseEventArb, fc.constantFrom(...MUTATIONS))
  .map(([b, mutation]) => ({ ...b, change: { kind: 'mutation', mutation } }));

/** An event with a number in range that DynamoDB cannot hold. */
export const storeLimitEventArb: fc.Arbitrary<EventSpec> = fc
  .tuple(baseEventArb, fc.constantFrom(...STORE_LIMIT_MUTATIONS))
  .map(([b, mutation]) => ({ ...b, change: { kind: 'mutation', mutation } }));

/** Hostile events: a declared field nested deep, the whole event deep, or not an object at all. */
export const hostileEventArb: fc.Arbitrary<EventSpec> = fc.oneof(
  fc
    .tuple(
      baseEventArb,
      fc.constantFrom('tripId', 'vehicleId', 'lat', 'ts', 'occupancy'),
      depthArb,
      fc.constantFrom('array' as const, 'object' as const),
    )
    .map(([b, field, depth, shape]) => ({ ...b, change: { kind: 'deep-field' as const, field, depth, shape } })),
  fc
    .tuple(baseEventArb, depthArb, fc.constantFrom('array' as const, 'object' as const))
    .map(([b, depth, shape]) => ({ ...b, change: { kind: 'deep-event' as const, depth, shape } })),
  fc
    .tuple(baseEventArb, fc.constantFrom(...NOT_AN_EVENT))
    .map(([b, value]) => ({ ...b, change: { kind: 'not-an-event' as const, value } })),
);

/** Mostly valid events, many wrong ones, a few hostile ones. */
export const anyEventArb: fc.Arbitrary<EventSpec> = fc.oneof(
  { weight: 1_200, arbitrary: validEventArb },
  { weight: 800, arbitrary: mutatedEventArb },
  { weight: 100, arbitrary: hostileEventArb },
  { weight: 2, arbitrary: storeLimitEventArb },
);

/** Builds events of one channel, numbering them so that ids and timestamps are unique across the run. */
export class EventBuilder {
  private next = 0;
  constructor(
    private readonly ctx: FuzzContext,
    readonly channel: Channel,
    private readonly now: () => number = Date.now,
  ) {}

  /** Pool vehicle and route ids of this channel. */
  vehicleId(n: number): string {
    return `${this.ctx.prefix}-${this.channel}-V${n % this.ctx.vehicles}`;
  }
  routeId(n: number): string {
    return `${this.ctx.prefix}-${this.channel}-R${n % this.ctx.routes}`;
  }

  build(spec: EventSpec): EventCase {
    const index = this.next++;
    const tag = `${this.ctx.prefix}-${this.channel}-${index}`;
    const channelOffset = { rest: 0, kinesis: 1, kafka: 2 }[this.channel];
    const ts = this.ctx.t0 + index * 3 + channelOffset;
    const stamp: Stamp = {
      index,
      ts,
      now: this.now(),
      eventId: `${tag}-e`,
      soloVehicleId: `${this.ctx.prefix}-${this.channel}-S${index}`,
      soloRouteId: `${this.ctx.prefix}-${this.channel}-RS`,
      raw: new RawTexts(),
    };
    const { change } = spec;
    if (change.kind === 'not-an-event') return { text: change.value.text, verdict: 'reject', what: change.value.what };
    if (change.kind === 'deep-event') {
      const text = change.shape === 'array' ? deepArray(change.depth) : deepObject(change.depth);
      return { text, verdict: 'reject', what: `event: ${change.shape} nested ${change.depth} deep` };
    }
    // `fuzzTag` first: a truncated dead-letter payload still starts with it.
    const event: Record<string, unknown> = {
      fuzzTag: tag,
      eventId: stamp.eventId,
      vehicleId: this.vehicleId(spec.vehicle),
      routeId: this.routeId(spec.route),
      tripId: spec.tripId,
      lat: spec.lat,
      lon: spec.lon,
      speedKmh: spec.speedKmh,
      headingDeg: spec.headingDeg,
      ts,
      occupancy: spec.occupancy,
      accuracyM: spec.accuracyM,
    };
    if (spec.deriveId) delete event.eventId;
    let verdict: Verdict = 'accept';
    let what = 'valid event';
    let keepsIdentity = true;
    const isolate = () => {
      // An event whose acceptance is not certain gets a vehicle and route of its own, so that however it
      // is judged it cannot change what the pool vehicles' read models must show.
      event.vehicleId = stamp.soloVehicleId;
      event.routeId = stamp.soloRouteId;
    };
    if (change.kind === 'mutation') {
      if (change.mutation.verdict !== 'accept' || change.mutation.isolate) isolate();
      change.mutation.apply(event, stamp);
      ({ verdict, what, keepsIdentity } = change.mutation);
    } else if (change.kind === 'deep-field') {
      isolate();
      const text = change.shape === 'array' ? deepArray(change.depth) : deepObject(change.depth);
      event[change.field] = stamp.raw.placeholder(text);
      verdict = 'reject';
      what = `${change.field}: ${change.shape} nested ${change.depth} deep`;
      keepsIdentity = false;
    }
    const text = stamp.raw.stringify(event);
    const eventId = typeof event.eventId === 'string' ? event.eventId : undefined;
    const vehicleId = event.vehicleId;
    const result: EventCase = { text, verdict, what, tag };
    if (isContractId(vehicleId)) result.vehicleId = vehicleId;
    if (verdict === 'reject') return result;
    if (
      keepsIdentity &&
      typeof vehicleId === 'string' &&
      vehicleId.startsWith(`${this.ctx.prefix}-${this.channel}-V`)
    ) {
      result.pool = {
        vehicleId,
        routeId: event.routeId as string,
        ...(eventId ? { eventId } : {}),
        ts,
        lat: event.lat as number,
        lon: event.lon as number,
        speedKmh: event.speedKmh as number,
      };
    } else if (isContractId(vehicleId)) {
      result.solo = { vehicleId, ...(eventId ? { eventId } : {}) };
    }
    return result;
  }
}

// ---------------------------------------------------------------------------------------------------------
// REST bodies

/** What a `POST /v1/events` body is, before building. */
export type BodySpec =
  | { kind: 'batch'; events: EventSpec[] }
  | { kind: 'too-many'; event: EventSpec }
  | { kind: 'malformed'; text: string; what: string }
  | { kind: 'bytes'; bytes: Uint8Array; what: string }
  | { kind: 'base64'; events: EventSpec[] }
  | { kind: 'oversized'; bytes: number }
  | { kind: 'deep-body'; depth: number; shape: 'array' | 'object' | 'events' };

const MALFORMED: { what: string; text: string }[] = [
  { what: 'empty body', text: '' },
  { what: 'body: null', text: 'null' },
  { what: 'body: []', text: '[]' },
  { what: 'body: {}', text: '{}' },
  { what: 'body: "events"', text: '"events"' },
  { what: 'events: []', text: '{"events":[]}' },
  { what: 'events: {}', text: '{"events":{}}' },
  { what: 'events: null', text: '{"events":null}' },
  { what: 'events: "x"', text: '{"events":"x"}' },
  { what: 'events: 1', text: '{"events":1}' },
  { what: 'key "event" instead of "events"', text: '{"event":[{}]}' },
  { what: 'truncated JSON', text: '{"events":[{"vehicleId":"V1"' },
  { what: 'trailing garbage', text: '{"events":[]} x' },
  { what: 'a UTF-8 BOM before the JSON', text: '\uFEFF{"events":[{}]}' },
  { what: 'single quotes', text: "{'events':[]}" },
  { what: 'NaN literal', text: '{"events":[NaN]}' },
  { what: 'comments', text: '{"events":[] /* c */}' },
  { what: 'whitespace only', text: ' \n\t ' },
];

export const bodyArb: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    weight: 150,
    arbitrary: fc
      .array(anyEventArb, { minLength: 1, maxLength: 6 })
      .map((events) => ({ kind: 'batch' as const, events })),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(validEventArb, { minLength: 100, maxLength: 200 })
      .map((events) => ({ kind: 'batch' as const, events })),
  },
  {
    weight: 12,
    arbitrary: fc
      .array(hostileEventArb, { minLength: 1, maxLength: 3 })
      .map((events) => ({ kind: 'batch' as const, events })),
  },
  { weight: 2, arbitrary: validEventArb.map((event) => ({ kind: 'too-many' as const, event })) },
  { weight: 24, arbitrary: fc.constantFrom(...MALFORMED).map((m) => ({ kind: 'malformed' as const, ...m })) },
  {
    weight: 12,
    arbitrary: fc
      .string({ unit: 'binary', maxLength: 200 })
      .map((text) => ({ kind: 'malformed' as const, text, what: 'random text' })),
  },
  {
    weight: 9,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 300 })
      .map((bytes) => ({ kind: 'bytes' as const, bytes, what: 'random bytes' })),
  },
  {
    weight: 9,
    arbitrary: fc
      .array(validEventArb, { minLength: 1, maxLength: 3 })
      .map((events) => ({ kind: 'base64' as const, events })),
  },
  {
    weight: 1,
    arbitrary: fc.constant(1024 * 1024 + 1).map((bytes) => ({ kind: 'oversized' as const, bytes })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(depthArb, fc.constantFrom('array' as const, 'object' as const, 'events' as const))
      .map(([depth, shape]) => ({ kind: 'deep-body' as const, depth, shape })),
  },
);

/** A built body and what the API must answer. */
export interface BuiltBody {
  body: Buffer;
  what: string;
  /** The events of a well-formed `{"events":[...]}` within the limits, in order; else undefined. */
  events?: EventCase[];
  /** The status the contract requires for a body that is not a well-formed batch. */
  expectStatus?: 400 | 413;
}

export function buildBody(spec: BodySpec, events: EventBuilder): BuiltBody {
  switch (spec.kind) {
    case 'batch': {
      const cases = spec.events.map((e) => events.build(e));
      const body = Buffer.from(`{"events":[${cases.map((c) => c.text).join(',')}]}`);
      if (body.length > 1024 * 1024)
        return { body, what: `${cases.length} events, ${body.length} bytes`, expectStatus: 413 };
      const odd = cases.filter((c) => c.what !== 'valid event').map((c) => c.what);
      const what = `${cases.length} event(s)${odd.length > 0 ? `: ${odd.slice(0, 3).join(' | ')}` : ', all valid'}`;
      return { body, what, events: cases };
    }
    case 'too-many': {
      const one = events.build(spec.event).text;
      return {
        body: Buffer.from(`{"events":[${Array.from({ length: 501 }, () => one).join(',')}]}`),
        what: '501 events',
        expectStatus: 413,
      };
    }
    case 'malformed': {
      // Random text can be a valid batch by chance only if it holds `"events"`; then it is judged as such.
      return {
        body: Buffer.from(spec.text),
        what: `${spec.what}: ${JSON.stringify(spec.text.slice(0, 60))}`,
        ...malformedVerdict(spec.text),
      };
    }
    case 'bytes': {
      const text = Buffer.from(spec.bytes).toString('utf8');
      return { body: Buffer.from(spec.bytes), what: `${spec.what} (${spec.bytes.length})`, ...malformedVerdict(text) };
    }
    case 'base64': {
      // API Gateway passes a text body through as text: base64 of a batch is not JSON.
      const cases = spec.events.map((e) => events.build(e));
      const text = Buffer.from(`{"events":[${cases.map((c) => c.text).join(',')}]}`).toString('base64');
      return { body: Buffer.from(text), what: 'base64 of a batch', expectStatus: 400 };
    }
    case 'oversized': {
      const filler = 'f'.repeat(spec.bytes);
      return {
        body: Buffer.from(`{"events":[{"filler":"${filler}"}]}`),
        what: `${spec.bytes} byte body`,
        expectStatus: 413,
      };
    }
    case 'deep-body': {
      const text =
        spec.shape === 'array'
          ? deepArray(spec.depth)
          : spec.shape === 'object'
            ? deepObject(spec.depth)
            : `{"events":${deepArray(spec.depth)}}`;
      // `{"events":[[[...]]]}` is a batch of one event that is an array: rejected, with a dead letter.
      // (`{"events":[]}` at depth 1 holds no event at all: the contract's 400 for an empty batch.)
      if (spec.shape === 'events' && spec.depth > 1) {
        const inner = deepArray(spec.depth - 1);
        return {
          body: Buffer.from(text),
          what: `events: [array nested ${spec.depth - 1} deep]`,
          events: [{ text: inner, verdict: 'reject', what: `event: array nested ${spec.depth - 1} deep` }],
        };
      }
      return { body: Buffer.from(text), what: `body: ${spec.shape} nested ${spec.depth} deep`, expectStatus: 400 };
    }
  }
}

function malformedVerdict(text: string): Pick<BuiltBody, 'events' | 'expectStatus'> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { expectStatus: 400 };
  }
  const list = (parsed as { events?: unknown } | null)?.events;
  if (!Array.isArray(list) || list.length === 0) return { expectStatus: 400 };
  // A batch by chance: each event is judged; the harness cannot predict which, so each is open.
  return {
    events: list.map((value) => ({ text: JSON.stringify(value), verdict: 'either', what: 'event of random text' })),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Stream records (Kinesis and Kafka)

export type RecordSpec =
  | { kind: 'event'; event: EventSpec }
  | { kind: 'array'; events: EventSpec[] }
  | { kind: 'envelope'; events: EventSpec[] }
  | { kind: 'odd-envelope'; text: string }
  | { kind: 'junk'; bytes: Uint8Array }
  | { kind: 'kpl-looking'; bytes: Uint8Array }
  | { kind: 'avro'; event: EventSpec; version: 1 | 2 }
  | { kind: 'avro-corrupt'; event: EventSpec; corruption: AvroCorruption }
  | { kind: 'empty' }
  | { kind: 'deep'; depth: number; shape: 'array' | 'object' }
  | { kind: 'big-junk'; bytes: number }
  | { kind: 'bom'; event: EventSpec };

export type AvroCorruption = 'truncated' | 'unknown-schema-id' | 'header-only' | 'short' | 'trailing-bytes' | 'zero-id';

const ODD_ENVELOPES = [
  '{"events":"x"}',
  '{"events":null}',
  '{"events":{}}',
  '{"events":1}',
  '{"Events":[]}',
  'null',
  '1',
  '"text"',
  'true',
];

export const recordArb: fc.Arbitrary<RecordSpec> = fc.oneof(
  { weight: 90, arbitrary: anyEventArb.map((event) => ({ kind: 'event' as const, event })) },
  {
    weight: 24,
    arbitrary: fc.array(anyEventArb, { maxLength: 5 }).map((events) => ({ kind: 'array' as const, events })),
  },
  {
    weight: 15,
    arbitrary: fc.array(anyEventArb, { maxLength: 5 }).map((events) => ({ kind: 'envelope' as const, events })),
  },
  { weight: 9, arbitrary: fc.constantFrom(...ODD_ENVELOPES).map((text) => ({ kind: 'odd-envelope' as const, text })) },
  {
    weight: 15,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 400 }).map((bytes) => ({ kind: 'junk' as const, bytes })),
  },
  {
    weight: 9,
    arbitrary: fc
      .uint8Array({ minLength: 17, maxLength: 300 })
      .map((bytes) => ({ kind: 'kpl-looking' as const, bytes })),
  },
  {
    weight: 24,
    arbitrary: fc
      .tuple(validEventArb, fc.constantFrom(1 as const, 2 as const))
      .map(([event, version]) => ({ kind: 'avro' as const, event, version })),
  },
  {
    weight: 12,
    arbitrary: fc
      .tuple(
        validEventArb,
        fc.constantFrom<AvroCorruption>(
          'truncated',
          'unknown-schema-id',
          'header-only',
          'short',
          'trailing-bytes',
          'zero-id',
        ),
      )
      .map(([event, corruption]) => ({ kind: 'avro-corrupt' as const, event, corruption })),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'empty' as const }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(depthArb, fc.constantFrom('array' as const, 'object' as const))
      .map(([depth, shape]) => ({ kind: 'deep' as const, depth, shape })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(100_000, 300_000).map((bytes) => ({ kind: 'big-junk' as const, bytes })),
  },
  { weight: 3, arbitrary: validEventArb.map((event) => ({ kind: 'bom' as const, event })) },
);

/** What must come of one stream record: per candidate event, or one record-level dead letter. */
export interface BuiltRecord {
  data: Buffer;
  partitionKey: string;
  what: string;
  /** The record cannot be decoded, or holds no event: one dead letter at the record's own position. */
  recordDeadLetter?: string;
  /** Candidates in order; a record of one candidate keeps the record's position, more get `#<index>`. */
  candidates: EventCase[];
}

/** The KPL aggregation magic number. */
export const KPL_MAGIC = Buffer.from('f3899ac2', 'hex');

/** Encodes a valid event as Confluent-framed Avro; injected so this file does not import product code. */
export type AvroEncoder = (event: Record<string, unknown>, version: 1 | 2) => Buffer;

export function buildRecord(spec: RecordSpec, events: EventBuilder, avro: AvroEncoder): BuiltRecord {
  const key = (c: EventCase | undefined) => c?.pool?.vehicleId ?? c?.solo?.vehicleId ?? c?.tag ?? 'fuzz';
  switch (spec.kind) {
    case 'event': {
      const c = events.build(spec.event);
      const record: BuiltRecord = { data: Buffer.from(c.text), partitionKey: key(c), what: c.what, candidates: [c] };
      // On a stream a JSON array is a batch of events: `[]` is a record with no event at all.
      if (c.text === '[]') return { ...record, recordDeadLetter: 'array with no event', candidates: [] };
      return record;
    }
    case 'array':
    case 'envelope': {
      const cases = spec.events.map((e) => events.build(e));
      const list = `[${cases.map((c) => c.text).join(',')}]`;
      const text = spec.kind === 'array' ? list : `{"events":${list}}`;
      const what = `${spec.kind} of ${cases.length}: ${cases.map((c) => c.what).join(' | ')}`;
      const record: BuiltRecord = { data: Buffer.from(text), partitionKey: key(cases[0]), what, candidates: cases };
      if (cases.length === 0) record.recordDeadLetter = `${spec.kind} with no event`;
      return record;
    }
    case 'odd-envelope':
      return {
        data: Buffer.from(spec.text),
        partitionKey: 'fuzz-odd',
        what: `record: ${spec.text}`,
        candidates: [{ text: spec.text, verdict: 'reject', what: `record: ${spec.text}` }],
      };
    case 'junk':
      return junkRecord(Buffer.from(spec.bytes), `${spec.bytes.length} random bytes`);
    case 'kpl-looking': {
      const data = Buffer.concat([KPL_MAGIC, Buffer.from(spec.bytes)]);
      return {
        data,
        partitionKey: 'fuzz-kpl',
        what: `KPL magic + ${spec.bytes.length} random bytes`,
        recordDeadLetter: 'corrupt KPL aggregate',
        candidates: [],
      };
    }
    case 'avro':
    case 'avro-corrupt': {
      const c = events.build(spec.event);
      const event = JSON.parse(c.text) as Record<string, unknown>;
      delete event.fuzzTag;
      // Avro has no null eventId: give the event the id the builder would have.
      if (event.eventId == null) {
        event.eventId = `${c.tag}-e`;
        if (c.pool) c.pool.eventId = event.eventId as string;
      }
      if (spec.kind === 'avro') {
        // Avro carries no undeclared fields, so the tag is gone: a good record is matched by its pool fix.
        return {
          data: avro(event, spec.version),
          partitionKey: key(c),
          what: `Avro v${spec.version}`,
          candidates: [{ ...c, text: JSON.stringify(event) }],
        };
      }
      const good = avro(event, 2);
      const data = corruptAvro(good, spec.corruption);
      return {
        data,
        partitionKey: key(c),
        what: `Avro, ${spec.corruption}`,
        recordDeadLetter: `Avro ${spec.corruption}`,
        candidates: [],
      };
    }
    case 'empty':
      return {
        data: Buffer.alloc(0),
        partitionKey: 'fuzz-empty',
        what: 'empty record',
        recordDeadLetter: 'empty record',
        candidates: [],
      };
    case 'deep': {
      const text = spec.shape === 'array' ? deepArray(spec.depth) : deepObject(spec.depth);
      const what = `record: ${spec.shape} nested ${spec.depth} deep`;
      if (spec.shape === 'array' && spec.depth === 1) {
        return {
          data: Buffer.from(text),
          partitionKey: 'fuzz-deep',
          what,
          recordDeadLetter: 'array with no event',
          candidates: [],
        };
      }
      if (spec.shape === 'array') {
        // A JSON array is a batch of events: here one event, itself an array nested one level less.
        return {
          data: Buffer.from(text),
          partitionKey: 'fuzz-deep',
          what,
          candidates: [{ text: deepArray(spec.depth - 1), verdict: 'reject', what }],
        };
      }
      return {
        data: Buffer.from(text),
        partitionKey: 'fuzz-deep',
        what,
        candidates: [{ text, verdict: 'reject', what }],
      };
    }
    case 'big-junk': {
      // Not JSON (starts with "x"), not Avro: dead-lettered whole, and its dead letter must stay within SQS limits.
      const data = Buffer.alloc(spec.bytes, 'x');
      return {
        data,
        partitionKey: 'fuzz-big',
        what: `${spec.bytes} bytes of "x"`,
        recordDeadLetter: 'not JSON',
        candidates: [],
      };
    }
    case 'bom': {
      const c = events.build(spec.event);
      return {
        data: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(c.text)]),
        partitionKey: key(c),
        what: 'UTF-8 BOM + a valid event',
        recordDeadLetter: 'BOM: not JSON',
        candidates: [],
      };
    }
  }
}

function junkRecord(data: Buffer, what: string): BuiltRecord {
  const base = { data, partitionKey: 'fuzz-junk', what };
  if (data[0] === 0) return { ...base, recordDeadLetter: 'random Avro-framed bytes', candidates: [] };
  if (data.length > 20 && data.subarray(0, 4).equals(KPL_MAGIC))
    return { ...base, recordDeadLetter: 'corrupt KPL', candidates: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    return { ...base, recordDeadLetter: 'not JSON', candidates: [] };
  }
  // Random bytes that happen to be JSON (a digit, say): not an event object.
  const values = Array.isArray(parsed) ? parsed : [parsed];
  if (values.length === 0) return { ...base, recordDeadLetter: 'no event', candidates: [] };
  return { ...base, candidates: values.map((v) => ({ text: JSON.stringify(v), verdict: 'either', what })) };
}

function corruptAvro(good: Buffer, corruption: AvroCorruption): Buffer {
  switch (corruption) {
    case 'truncated':
      return good.subarray(0, good.length - 1);
    case 'unknown-schema-id': {
      const copy = Buffer.from(good);
      copy.writeUInt32BE(9_999, 1);
      return copy;
    }
    case 'zero-id': {
      const copy = Buffer.from(good);
      copy.writeUInt32BE(0, 1);
      return copy;
    }
    case 'header-only':
      return good.subarray(0, 5);
    case 'short':
      return good.subarray(0, 3);
    case 'trailing-bytes':
      return Buffer.concat([good, Buffer.from([1, 2, 3])]);
  }
}

// ---------------------------------------------------------------------------------------------------------
// WebSocket frames

/** What a frame must get back: one reply of this type (and topic or topics), or any reply. */
export type ReplyExpectation =
  | { type: 'subscribed' | 'unsubscribed'; topic?: string; topics?: string[] }
  | { type: 'error' }
  | { type: 'any' };

export type FrameSpec =
  | { kind: 'text'; text: string; what: string; expect: ReplyExpectation }
  | { kind: 'binary'; bytes: Uint8Array; what: string };

/** Frames that may break the connection; sent on a raw socket of their own. */
export type HostileFrameSpec =
  | { kind: 'oversized'; bytes: number; binary: boolean }
  | { kind: 'invalid-utf8'; bytes: readonly number[]; what: string };

/** A topic as the contract (docs/contracts.md) gives them: `vehicles`, `anomalies`, `route:<id>`, `vehicle:<id>`. */
const isContractTopic = (topic: unknown): topic is string =>
  typeof topic === 'string' &&
  (topic === 'vehicles' ||
    topic === 'anomalies' ||
    (/^(route|vehicle):/.test(topic) && isContractId(topic.slice(topic.indexOf(':') + 1))));
const goodTopicArb = fc.oneof(
  fc.constantFrom('vehicles', 'anomalies'),
  fc
    .tuple(
      fc.constantFrom('route', 'vehicle'),
      fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), fc.constantFrom('de:08212:1004:2:2 (U)', 'Vé 1')),
    )
    .map(([kind, id]) => `${kind}:${id}`)
    .filter(isContractTopic),
);
const oddTopicArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    '',
    'route:',
    'vehicle:',
    'route',
    'ROUTE:R1',
    'vehicles ',
    ' anomalies',
    'route:a b',
    'route:é',
    'route:🚌',
    `vehicle:${'v'.repeat(65)}`,
    'route:R1\n',
    'topic',
    '*',
    'route:*',
    'route:R1#x',
  ),
  fc.string({ maxLength: 80 }),
  fc.constantFrom(null, 1, true, [], {}, ['vehicles']),
);

const subscribeFrameArb: fc.Arbitrary<FrameSpec> = fc
  .tuple(fc.constantFrom('subscribe', 'unsubscribe'), goodTopicArb)
  .map(([action, topic]) => ({
    kind: 'text',
    text: JSON.stringify({ action, topic }),
    what: `${action} ${topic}`,
    expect: { type: action === 'subscribe' ? 'subscribed' : 'unsubscribed', topic },
  }));

const topicsFrameArb: fc.Arbitrary<FrameSpec> = fc
  .tuple(fc.constantFrom('subscribe', 'unsubscribe'), fc.array(goodTopicArb, { minLength: 1, maxLength: 20 }))
  .map(([action, topics]) => ({
    kind: 'text',
    text: JSON.stringify({ action, topics }),
    what: `${action} ${topics.length} topics`,
    expect: { type: action === 'subscribe' ? 'subscribed' : 'unsubscribed', topics: [...new Set(topics)] },
  }));

const oddTopicFrameArb: fc.Arbitrary<FrameSpec> = fc
  .tuple(fc.constantFrom('subscribe', 'unsubscribe'), oddTopicArb, fc.boolean())
  .map(([action, topic, many]) => {
    const message = many ? { action, topics: [topic] } : { action, topic };
    const valid = isContractTopic(topic);
    const expect: ReplyExpectation = valid
      ? { type: action === 'subscribe' ? 'subscribed' : 'unsubscribed', ...(many ? { topics: [topic] } : { topic }) }
      : { type: 'error' };
    return { kind: 'text', text: JSON.stringify(message), what: `${action} ${JSON.stringify(topic)}`, expect };
  });

const badListFrameArb: fc.Arbitrary<FrameSpec> = fc.constantFrom<FrameSpec>(
  { kind: 'text', text: '{"action":"subscribe","topics":[]}', what: 'empty topics', expect: { type: 'error' } },
  {
    kind: 'text',
    text: JSON.stringify({ action: 'subscribe', topics: Array.from({ length: 21 }, (_, i) => `route:R${i}`) }),
    what: '21 topics',
    expect: { type: 'error' },
  },
  {
    kind: 'text',
    text: '{"action":"subscribe","topics":"vehicles"}',
    what: 'topics: a string',
    expect: { type: 'error' },
  },
  { kind: 'text', text: '{"action":"subscribe"}', what: 'no topic', expect: { type: 'error' } },
  { kind: 'text', text: '{"action":"unsubscribe","topic":null}', what: 'topic: null', expect: { type: 'error' } },
);

const oddActionFrameArb: fc.Arbitrary<FrameSpec> = fc
  .constantFrom<unknown>(
    'Subscribe',
    'SUBSCRIBE',
    '',
    'delete',
    '$default',
    '$connect',
    '$disconnect',
    'subscribe ',
    1,
    null,
    true,
    ['subscribe'],
    { a: 1 },
  )
  .map((action) => ({
    kind: 'text',
    text: JSON.stringify({ action, topic: 'vehicles' }),
    what: `action ${JSON.stringify(action)}`,
    expect: { type: 'error' },
  }));

const notJsonFrameArb: fc.Arbitrary<FrameSpec> = fc
  .oneof(
    fc.string({ maxLength: 200 }).map((text) => ({ kind: 'text' as const, text, what: 'random text' })),
    fc
      .constantFrom(
        '',
        ' ',
        'null',
        '1',
        '[]',
        '"subscribe"',
        '{',
        '{"action":',
        '{"action":"subscribe","topic":"vehicles"',
        '[{"action":"subscribe","topic":"vehicles"}]',
      )
      .map((text) => ({ kind: 'text' as const, text, what: JSON.stringify(text) })),
  )
  .map((f): FrameSpec => {
    // Random text is JSON with a routable action only by chance; then the route decides.
    let action: unknown;
    try {
      action = (JSON.parse(f.text) as { action?: unknown } | null)?.action;
    } catch {
      action = undefined;
    }
    const expect: ReplyExpectation =
      action === 'subscribe' || action === 'unsubscribe' ? { type: 'any' } : { type: 'error' };
    return { ...f, expect };
  });

const bigFrameArb: fc.Arbitrary<FrameSpec> = fc.integer({ min: 1_000, max: 120_000 }).map((size) => ({
  kind: 'text',
  text: JSON.stringify({ action: 'subscribe', topic: 'vehicles', padding: 'p'.repeat(size) }),
  what: `subscribe vehicles with ${size} bytes of padding`,
  expect: { type: 'subscribed', topic: 'vehicles' },
}));

const binaryFrameArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  fc
    .uint8Array({ maxLength: 300 })
    .map((bytes) => ({ kind: 'binary' as const, bytes, what: `${bytes.length} random binary bytes` })),
  goodTopicArb.map((topic) => ({
    kind: 'binary' as const,
    bytes: new Uint8Array(Buffer.from(JSON.stringify({ action: 'subscribe', topic }))),
    what: `subscribe ${topic} as a binary frame`,
  })),
);

export const frameArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  { weight: 10, arbitrary: subscribeFrameArb },
  { weight: 3, arbitrary: topicsFrameArb },
  { weight: 8, arbitrary: oddTopicFrameArb },
  { weight: 2, arbitrary: badListFrameArb },
  { weight: 3, arbitrary: oddActionFrameArb },
  { weight: 6, arbitrary: notJsonFrameArb },
  { weight: 1, arbitrary: bigFrameArb },
  { weight: 4, arbitrary: binaryFrameArb },
);

export const hostileFrameArb: fc.Arbitrary<HostileFrameSpec> = fc.oneof(
  fc
    .tuple(fc.constantFrom(128 * 1024 + 1, 200 * 1024, 1024 * 1024), fc.boolean())
    .map(([bytes, binary]) => ({ kind: 'oversized' as const, bytes, binary })),
  fc
    .constantFrom(
      { what: 'a lone 0xff', bytes: [0xff] },
      { what: 'an invalid continuation (0xc3 0x28)', bytes: [0xc3, 0x28] },
      { what: 'an encoded surrogate (0xed 0xa0 0x80)', bytes: [0xed, 0xa0, 0x80] },
      { what: 'an overlong slash (0xc0 0xaf)', bytes: [0xc0, 0xaf] },
      { what: 'a truncated sequence (0xe2 0x82)', bytes: [0xe2, 0x82] },
      {
        what: 'JSON with 0xfe inside a string',
        bytes: [...Buffer.from('{"action":"subscribe","topic":"'), 0xfe, ...Buffer.from('"}')],
      },
    )
    .map((v) => ({ kind: 'invalid-utf8' as const, ...v })),
);
