/**
 * Generates the synthetic city GTFS feed in `local/gtfs/synthetic-city/` (committed; re-run only to
 * change the city): `npx tsx local/gtfs/generate-city.ts [outDir] [--seed N]`.
 *
 * The city is laid out in local metres around a made-up centre near lat 52.37, lon 4.90: grid streets
 * with rounded corners, two ring-road arcs and a winding avenue. Every route runs an outbound shape
 * and its reverse as inbound, with stops on the right-hand kerb of each direction.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type ShapePoint, withCumulativeDistance } from '../../pipelines/transit/geo.js';
import { SeededRandom } from '../simulator/random.js';

const CENTER = { lat: 52.3702, lon: 4.8952 };
const EARTH_RADIUS_M = 6_371_008.8;
const DEFAULT_SEED = 20_240_601;

type Xy = [x: number, y: number];

interface RouteDesign {
  routeId: string;
  shortName: string;
  longName: string;
  color: string;
  headwayMin: number;
  street: string;
  path: () => Xy[];
}

function arc(cx: number, cy: number, r: number, fromDeg: number, toDeg: number, stepM = 40): Xy[] {
  const sweep = ((toDeg - fromDeg) * Math.PI) / 180;
  const n = Math.max(2, Math.ceil((Math.abs(sweep) * r) / stepM));
  return Array.from({ length: n + 1 }, (_, i) => {
    const a = (fromDeg * Math.PI) / 180 + (sweep * i) / n;
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)] as Xy;
  });
}

// Waypoints in metres east/north of the centre; blocks are 250 m.
const ROUTES: RouteDesign[] = [
  {
    routeId: 'R1',
    shortName: '1',
    longName: 'Noorderhaven - Zuidplein',
    color: 'D7263D',
    headwayMin: 10,
    street: 'Havenstraat',
    path: () => [
      [-250, 2750],
      [-250, 1000],
      [250, 500],
      [250, -2000],
    ],
  },
  {
    routeId: 'R2',
    shortName: '2',
    longName: 'Westpoort - Oostdok',
    color: '1B998B',
    headwayMin: 12,
    street: 'Molenweg',
    path: () => [
      [-3000, 250],
      [-1000, 250],
      [-1000, -250],
      [2500, -250],
    ],
  },
  {
    routeId: 'R3',
    shortName: '3',
    longName: 'Kanaalpark - Stadhuis, via Markt',
    color: '2E86AB',
    headwayMin: 15,
    street: 'Kanaalkade',
    path: () => [
      [-2000, -2250],
      [-2000, -750],
      [750, -750],
      [750, 1750],
    ],
  },
  {
    routeId: 'R4',
    shortName: '14',
    longName: 'Ringweg Zuid',
    color: 'F46036',
    headwayMin: 12,
    street: 'Ringweg',
    path: () => arc(0, 0, 2200, 200, 340),
  },
  {
    routeId: 'R5',
    shortName: '5',
    longName: 'Lindenlaan',
    color: '5B2A86',
    headwayMin: 10,
    street: 'Lindenlaan',
    path: () =>
      Array.from({ length: 51 }, (_, i) => [-2500 + i * 100, 1500 + 220 * Math.sin((-2500 + i * 100) / 600)] as Xy),
  },
  {
    routeId: 'R6',
    shortName: '6',
    longName: 'Zuidwest - Centrum',
    color: 'E2C044',
    headwayMin: 15,
    street: 'Trapstraat',
    path: () => [
      [-1750, -1750],
      [-1750, -1250],
      [-1250, -1250],
      [-1250, -500],
      [-500, -500],
      [-500, 250],
      [500, 250],
      [500, 1000],
    ],
  },
  {
    routeId: 'R7',
    shortName: '17',
    longName: 'Parkring',
    color: '3A7D44',
    headwayMin: 20,
    street: 'Parkring',
    path: () => arc(500, 500, 1200, 90, 300),
  },
  {
    routeId: 'R8',
    shortName: '8',
    longName: 'Oosterbos - Dijkpoort',
    color: '8D6A9F',
    headwayMin: 12,
    street: 'Dijkweg',
    path: () => [
      [1750, -2500],
      [1750, 0],
      [1250, 500],
      [1250, 2500],
    ],
  },
];

const CROSS_STREETS = [
  'Bakkerstraat',
  'Kerkplein',
  'Tulpstraat',
  'Sluisbrug',
  'Vismarkt',
  'Schoolstraat',
  'Brouwersgracht',
  'Zandpad',
  'Stationsplein',
  'Raadhuisstraat',
  'Veerkade',
  'Beukenlaan',
  'Pieterspoort',
  'Wilgenhof',
  'Marktplein',
  'Torenstraat',
];

const toLatLon = ([x, y]: Xy) => ({
  lat: CENTER.lat + (y / EARTH_RADIUS_M) * (180 / Math.PI),
  lon: CENTER.lon + (x / (EARTH_RADIUS_M * Math.cos((CENTER.lat * Math.PI) / 180))) * (180 / Math.PI),
});

const dist = (a: Xy, b: Xy) => Math.hypot(b[0] - a[0], b[1] - a[1]);

/** Rounds each interior corner with a quadratic curve, since buses do not turn on a point. */
function roundCorners(points: Xy[], cutback = 45): Xy[] {
  const out: Xy[] = [points[0]!];
  for (let i = 1; i < points.length - 1; i++) {
    const prev = points[i - 1]!;
    const at = points[i]!;
    const next = points[i + 1]!;
    const c1 = Math.min(cutback, dist(prev, at) / 2);
    const c2 = Math.min(cutback, dist(at, next) / 2);
    const a: Xy = [
      at[0] + ((prev[0] - at[0]) * c1) / dist(prev, at),
      at[1] + ((prev[1] - at[1]) * c1) / dist(prev, at),
    ];
    const b: Xy = [
      at[0] + ((next[0] - at[0]) * c2) / dist(at, next),
      at[1] + ((next[1] - at[1]) * c2) / dist(at, next),
    ];
    for (let k = 0; k <= 6; k++) {
      const t = k / 6;
      out.push([
        (1 - t) ** 2 * a[0] + 2 * (1 - t) * t * at[0] + t ** 2 * b[0],
        (1 - t) ** 2 * a[1] + 2 * (1 - t) * t * at[1] + t ** 2 * b[1],
      ]);
    }
  }
  out.push(points.at(-1)!);
  return out;
}

/** Densifies to ~5 m, then keeps a point every 50-90 m plus every point where the street bends. */
function resample(points: Xy[], rng: SeededRandom): Xy[] {
  const dense: Xy[] = [points[0]!];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const n = Math.max(1, Math.ceil(dist(a, b) / 5));
    for (let k = 1; k <= n; k++) dense.push([a[0] + ((b[0] - a[0]) * k) / n, a[1] + ((b[1] - a[1]) * k) / n]);
  }
  const out: Xy[] = [dense[0]!];
  let since = 0;
  let step = rng.range(50, 90);
  for (let i = 1; i < dense.length - 1; i++) {
    since += dist(dense[i - 1]!, dense[i]!);
    const h1 = Math.atan2(dense[i]![1] - dense[i - 1]![1], dense[i]![0] - dense[i - 1]![0]);
    const h2 = Math.atan2(dense[i + 1]![1] - dense[i]![1], dense[i + 1]![0] - dense[i]![0]);
    const turn = Math.abs(((h2 - h1 + 3 * Math.PI) % (2 * Math.PI)) - Math.PI);
    if (since >= step || (turn > 0.05 && since >= 12)) {
      out.push(dense[i]!);
      since = 0;
      step = rng.range(50, 90);
    }
  }
  out.push(dense.at(-1)!);
  return out;
}

interface StopRow {
  stop_id: string;
  stop_name: string;
  stop_lat: string;
  stop_lon: string;
}

function csv(rows: Record<string, string | number>[], columns: string[]): string {
  const quote = (v: string | number) => {
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return `${[columns.join(','), ...rows.map((r) => columns.map((c) => quote(r[c] ?? '')).join(','))].join('\n')}\n`;
}

const hhmmss = (seconds: number) =>
  [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), Math.round(seconds % 60)]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');

/** Builds all files of the feed as CSV text keyed by file name. */
export function generateCity(seed = DEFAULT_SEED): Record<string, string> {
  const rng = new SeededRandom(seed);
  const stops: StopRow[] = [];
  const shapes: Record<string, string | number>[] = [];
  const trips: Record<string, string | number>[] = [];
  const stopTimes: Record<string, string | number>[] = [];
  let crossIndex = 0;

  for (const route of ROUTES) {
    const outbound = resample(roundCorners(route.path()), rng);
    // Stop spacing along the outbound path; inbound stops mirror them on the opposite kerb.
    const length = withCumulativeDistance(outbound.map(toLatLon)).at(-1)![2];
    const stopDists = [0];
    while (stopDists.at(-1)! + 550 < length) stopDists.push(stopDists.at(-1)! + rng.range(280, 480));
    stopDists.push(length);
    const names = stopDists.map((_, i) =>
      i === 0 || i === stopDists.length - 1
        ? `${route.longName.split(' - ')[i === 0 ? 0 : 1]?.split(',')[0] ?? route.street}`
        : `${route.street} / ${CROSS_STREETS[crossIndex++ % CROSS_STREETS.length]}`,
    );

    for (const direction of [0, 1] as const) {
      const xy = direction === 0 ? outbound : [...outbound].reverse();
      const shapeId = `${route.routeId}-${direction === 0 ? 'out' : 'in'}`;
      const points: ShapePoint[] = withCumulativeDistance(xy.map(toLatLon));
      points.forEach(([lat, lon, d], i) => {
        shapes.push({
          shape_id: shapeId,
          shape_pt_lat: lat.toFixed(6),
          shape_pt_lon: lon.toFixed(6),
          shape_pt_sequence: i + 1,
          shape_dist_traveled: d.toFixed(1),
        });
      });
      const along = direction === 0 ? stopDists : stopDists.map((d) => length - d).reverse();
      const stopNames = direction === 0 ? names : [...names].reverse();
      const stopIds = along.map((d, i) => {
        const stopId = `${route.routeId}${direction === 0 ? 'N' : 'S'}${String(i + 1).padStart(2, '0')}`;
        // Right-hand kerb: 6 m to the right of the direction of travel.
        const here = pointAt(xy, d);
        stops.push({
          stop_id: stopId,
          stop_name: stopNames[i]!,
          ...(() => {
            const p = toLatLon([here.x + 6 * Math.sin(here.heading), here.y - 6 * Math.cos(here.heading)]);
            return { stop_lat: p.lat.toFixed(6), stop_lon: p.lon.toFixed(6) };
          })(),
        });
        return stopId;
      });

      let tripNo = 0;
      for (let start = 5 * 3600 + direction * 300; start < 23 * 3600; start += route.headwayMin * 60) {
        const tripId = `${route.routeId}-${direction === 0 ? 'O' : 'I'}-${String(++tripNo).padStart(3, '0')}`;
        trips.push({
          route_id: route.routeId,
          service_id: 'WEEK',
          trip_id: tripId,
          trip_headsign: stopNames.at(-1)!,
          direction_id: direction,
          shape_id: shapeId,
        });
        along.forEach((d, i) => {
          // 22 km/h average plus 20 s dwell per stop.
          const arrival = start + d / (22 / 3.6) + i * 20;
          stopTimes.push({
            trip_id: tripId,
            arrival_time: hhmmss(arrival),
            departure_time: hhmmss(arrival + (i === 0 || i === along.length - 1 ? 0 : 20)),
            stop_id: stopIds[i]!,
            stop_sequence: i + 1,
            shape_dist_traveled: d.toFixed(1),
          });
        });
      }
    }
  }

  return {
    'agency.txt': csv(
      [
        {
          agency_id: 'SFT',
          agency_name: 'Streamfold Transit',
          agency_url: 'https://example.invalid/',
          agency_timezone: 'Europe/Amsterdam',
        },
      ],
      ['agency_id', 'agency_name', 'agency_url', 'agency_timezone'],
    ),
    'routes.txt': csv(
      ROUTES.map((r) => ({
        route_id: r.routeId,
        agency_id: 'SFT',
        route_short_name: r.shortName,
        route_long_name: r.longName,
        route_type: 3,
        route_color: r.color,
      })),
      ['route_id', 'agency_id', 'route_short_name', 'route_long_name', 'route_type', 'route_color'],
    ),
    'stops.txt': csv(stops as unknown as Record<string, string>[], ['stop_id', 'stop_name', 'stop_lat', 'stop_lon']),
    'trips.txt': csv(trips, ['route_id', 'service_id', 'trip_id', 'trip_headsign', 'direction_id', 'shape_id']),
    'stop_times.txt': csv(stopTimes, [
      'trip_id',
      'arrival_time',
      'departure_time',
      'stop_id',
      'stop_sequence',
      'shape_dist_traveled',
    ]),
    'shapes.txt': csv(shapes, ['shape_id', 'shape_pt_lat', 'shape_pt_lon', 'shape_pt_sequence', 'shape_dist_traveled']),
    'calendar.txt': csv(
      [
        {
          service_id: 'WEEK',
          monday: 1,
          tuesday: 1,
          wednesday: 1,
          thursday: 1,
          friday: 1,
          saturday: 1,
          sunday: 1,
          start_date: '20240101',
          end_date: '20301231',
        },
      ],
      [
        'service_id',
        'monday',
        'tuesday',
        'wednesday',
        'thursday',
        'friday',
        'saturday',
        'sunday',
        'start_date',
        'end_date',
      ],
    ),
  };
}

/** Position (metres) and heading (radians, from east counter-clockwise) at a distance along a path. */
function pointAt(points: Xy[], d: number): { x: number; y: number; heading: number } {
  let travelled = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const len = dist(a, b);
    if (travelled + len >= d || i === points.length - 1) {
      const t = len === 0 ? 0 : Math.min(1, Math.max(0, (d - travelled) / len));
      return {
        x: a[0] + t * (b[0] - a[0]),
        y: a[1] + t * (b[1] - a[1]),
        heading: Math.atan2(b[1] - a[1], b[0] - a[0]),
      };
    }
    travelled += len;
  }
  const only = points[0]!;
  return { x: only[0], y: only[1], heading: 0 };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { seed: { type: 'string' } },
  });
  const outDir = positionals[0] ?? path.join(import.meta.dirname, 'synthetic-city');
  mkdirSync(outDir, { recursive: true });
  const files = generateCity(values.seed ? Number(values.seed) : DEFAULT_SEED);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(outDir, name), text);
  console.log(`wrote ${Object.keys(files).length} files to ${outDir}`);
}
