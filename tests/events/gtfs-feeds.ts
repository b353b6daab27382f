/** GTFS fixtures: the committed synthetic city and a tiny in-memory feed to break on purpose. */
import path from 'node:path';
import { type GtfsFeed, parseGtfsFeed } from '../../shared/gtfs/parse-feed.js';

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
