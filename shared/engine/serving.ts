/**
 * The read side of a pipeline: its operators' results and its detections in their public shapes,
 * for the pipeline's REST routes. Nothing here returns a stored item: positions, versions, partial
 * aggregate states and keys stay inside; pages continue with opaque tokens.
 */
import { decodeCursor, encodeCursor } from '../http/pagination.js';
import type { RouteDefinition } from '../http/route-definition.js';
import type { Detection } from './detectors.js';
import { detectionPk } from './detectors.js';
import { STATE_SK } from './operators/keyed-state.js';
import { operatorPk } from './operators/operator.js';
import { queryWindows, type WindowValue } from './operators/windows.js';
import type { PipelineDefinition } from './pipeline.js';
import type { EngineStore } from './store.js';

export interface DetectionPage {
  items: Detection[];
  nextToken?: string;
}

/** What a pipeline's route handlers read through. */
export interface EngineReader {
  /** The windows of a key with a start in [from, to], oldest first. */
  windows(operator: string, key: string, from: number, to: number): Promise<WindowValue[]>;
  /** A keyed state's current value, or undefined (never seen, or expired). */
  state(operator: string, key: string): Promise<unknown>;
  /** A detector's detections with a time in [from, to], newest first, a page at a time. */
  detections(
    detector: string,
    options: { from: number; to: number; limit: number; nextToken?: string },
  ): Promise<DetectionPage>;
}

/** What a pipeline route handler gets: its reader and a clock. */
export interface PipelineRouteDeps {
  read: EngineReader;
  now: () => number;
}

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) of a public shape; objects list exactly their properties. */
export type JsonSchema = Record<string, unknown>;

/** One query parameter of a route, as OpenAPI describes it. */
export interface RouteParameter {
  name: string;
  in: 'path' | 'query';
  required?: boolean;
  description: string;
  schema: JsonSchema;
}

/**
 * A pipeline's query route: its handler, and what the OpenAPI document says of it. The document's
 * entry is generated from this (`pipelineOpenApi`), and tests validate every answer against `response`.
 */
export type PipelineRoute = RouteDefinition<PipelineRouteDeps> & {
  summary: string;
  parameters: RouteParameter[];
  /** The 200 body. */
  response: JsonSchema;
};

const padTs = (ts: number) => String(Math.max(0, ts)).padStart(16, '0');

export function engineReader<E, V>(
  definition: PipelineDefinition<E, V>,
  store: EngineStore,
  now: () => number,
): EngineReader {
  const pipeline = definition.description.name;
  return {
    windows: (operator, key, from, to) =>
      queryWindows(store, pipeline, definition.operators, operator, { key, from, to }),
    async state(operator, key) {
      const items = await store.get([{ pk: operatorPk(pipeline, operator, key), sk: STATE_SK }]);
      const item = [...items.values()][0];
      if (!item || (item.expiresAt !== undefined && item.expiresAt <= now())) return undefined;
      return item.body.state;
    },
    async detections(detector, { from, to, limit, nextToken }) {
      const pk = detectionPk(pipeline, detector);
      const after = nextToken === undefined ? undefined : afterOf(nextToken, detector);
      const outputs = await store.queryOutputs(pk, {
        from: padTs(from),
        to: `${padTs(to)}#\uffff`,
        limit: limit + 1,
        descending: true,
        ...(after ? { after } : {}),
      });
      const items = outputs.slice(0, limit).map((o) => o.body as unknown as Detection);
      const last = outputs[limit - 1];
      return outputs.length > limit && last
        ? { items, nextToken: encodeCursor({ d: detector, after: last.sk } satisfies DetectionCursor) }
        : { items };
    },
  };
}

/** A detections page resumes after the sort key of the last detection it returned, in the same detector's list. */
interface DetectionCursor {
  d: string;
  after: string;
}

/** The position a token continues from; a token of another detector's list is refused. */
function afterOf(token: string, detector: string): string {
  const cursor = decodeCursor<DetectionCursor>(token, {
    d: (v): v is string => v === detector,
    after: (v): v is string => typeof v === 'string' && v.length <= 1024,
  });
  return cursor.after;
}
