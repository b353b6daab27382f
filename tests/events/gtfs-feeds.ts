/** GTFS fixtures: the committed synthetic city and a tiny in-memory feed to break on purpose. */
import path from 'node:path';
import { type GtfsFeed, parseGtfsFeed } from '../../pipelines/transit/gtfs/parse-feed.js';

export const SYNTHETIC_CITY_DIR = path.join(import.meta.dirname, '..', '..', 'local', 'gtfs', 'synthetic-city');

let city: Promise<GtfsFeed> | undefined;

/** The parsed synthetic city, parsed once per test file. */
export function syntheticCity(): Promise<GtfsFeed> {
  city ??= parseGtfsFeed(SYNTHETIC_CITY_DIR);
  return city;
}

/**
 * A two-stop, one-route feed along a straight 1 km street heading east (lat 52.37), as file name →
 * CSV text. Replace a file's text to make it malformed.
 */
export function tinyFeed(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'agency.txt': 'agency_id,agency_name,agency_url,agency_timezone\nA,Tiny,https://example.invalid,Europe/Amsterdam\n',
    'routes.txt': 'route_id,agency_id,route_short_name,route_long_name,route_type\nT1,A,1,"Oost, via Brug",3\n',
    'stops.txt':
      'stop_id,stop_name,stop_lat,stop_lon\nS1,West,52.370050,4.900000\nS2,Midden,52.370050,4.907000\nS3,Oost,52.370050,4.914000\n',
    'trips.txt': 'route_id,service_id,trip_id,direction_id,shape_id\nT1,W,T1-1,0,SH1\n',
    'stop_times.txt':
      'trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1-1,08:00:00,08:00:00,S1,1\nT1-1,08:02:00,08:02:00,S2,2\nT1-1,08:04:00,08:04:00,S3,3\n',
    'shapes.txt': `shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n${Array.from(
      { length: 15 },
      (_, i) => `SH1,52.370000,${(4.9 + i * 0.001).toFixed(6)},${i + 1}`,
    ).join('\n')}\n`,
    'calendar.txt':
      'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nW,1,1,1,1,1,1,1,20240101,20301231\n',
    ...overrides,
  };
}

/**
 * The geometry of Cairns shape 1100015 (route 110): a road running south, whose trip starts at a stop
 * 233 m off the shape, beside the point 2096 m along it, before the stop where the shape begins. The
 * other stops lie within 20 m of the shape at 0, 724, 1691, 2154 and 3394 m. As file name → CSV text.
 */
export function offShapeFirstStopFeed(): Record<string, string> {
  const mPerDegLat = 111_195;
  const lat0 = -16.7436;
  const lon0 = 145.6683;
  const at = (alongM: number, eastM: number) => {
    const lat = lat0 - alongM / mPerDegLat;
    const lon = lon0 + eastM / (mPerDegLat * Math.cos((lat * Math.PI) / 180));
    return `${lat.toFixed(6)},${lon.toFixed(6)}`;
  };
  const stops: [string, string, number, number][] = [
    ['WARREN', 'Warren St', 2096, 233],
    ['CEDAR', 'Cedar Rd', 0, -6],
    ['WILLIAMS', 'Williams Esplanade', 724, 4],
    ['TALPA', 'Talpa Close', 1691, -6],
    ['VEIVERS', 'Veivers Road', 2154, 10],
    ['ZOO', 'Cairns Tropical Zoo', 3394, 19],
  ];
  return tinyFeed({
    'routes.txt': 'route_id,route_short_name,route_long_name,route_type\n110,110,Palm Cove - Cairns,3\n',
    'stops.txt': `stop_id,stop_name,stop_lat,stop_lon\n${stops.map(([id, name, d, e]) => `${id},${name},${at(d, e)}`).join('\n')}\n`,
    'trips.txt': 'route_id,service_id,trip_id,direction_id,shape_id\n110,W,110-1,0,1100015\n',
    'stop_times.txt': `trip_id,arrival_time,departure_time,stop_id,stop_sequence\n${stops
      .map(([id], i) => `110-1,05:5${i}:00,05:5${i}:00,${id},${i + 1}`)
      .join('\n')}\n`,
    'shapes.txt': `shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n${Array.from(
      { length: 41 },
      (_, i) => `1100015,${at(i * 100, 0)},${10001 + i}`,
    ).join('\n')}\n`,
  });
}
