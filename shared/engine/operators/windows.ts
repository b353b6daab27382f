/**
 * Tumbling and hopping windows per key: an aggregate per (key, window), updated as events arrive and
 * final when the tick closes it (window end + allowed lateness has passed on the processing clock).
 *
 * A window closed by `watermark` has no final result and is never due: it takes events for as long as
 * the entity that sends them has not moved past its end plus the allowed lateness, however late that
 * is on the processing clock (a vehicle sending the fixes it buffered in a tunnel). Its value is the
 * same for any processing speed, which a tick-closed window's is not when an entity's events arrive
 * after the tick; the price is that nothing says when it is complete.
 */
import type { Json } from '../accumulators.js';
import {
  type AggregateSpec,
  addToAggregate,
  emptyAggregate,
  loadAggregate,
  mergeAggregates,
  presentAggregate,
  saveAggregate,
} from '../aggregate.js';
import { type EngineStore, type StoredItem, windowSk, windowStartOfSk } from '../store.js';
import { type FixedWindows, oldestWindowStart } from '../window-assigners.js';
import {
  type Accepted,
  type Applied,
  contribute,
  type OperatorRuntime,
  operatorPk,
  type Routed,
  type Update,
} from './operator.js';

export interface WindowedAggregate<E> {
  kind: 'windows';
  name: string;
  /** Streams it reads; all of the pipeline's when omitted. */
  streams?: string[];
  /** The group key, e.g. the route of a vehicle position. */
  key: (event: E) => string;
  windows: FixedWindows;
  aggregate: AggregateSpec<E>;
  /**
   * What closes a window: the tick, once the processing clock passes its end plus the allowed lateness
   * (then it emits a final result, and refuses later events as late); or only the watermark of each
   * entity sending to it (no final result, so `compile` refuses a detector that judges finals, such as `zScore`).
   * @default 'tick'
   */
  closeBy?: 'tick' | 'watermark';
}

/** The presented value of a window, as updates and the serving layer see it. */
export interface WindowValue {
  key: string;
  windowStart: number;
  windowEnd: number;
  final: boolean;
  [field: string]: unknown;
}

/** The public value of a stored window item: its key, bounds and presented aggregate, nothing of storage. */
export function presentWindow<E>(op: WindowedAggregate<E>, item: Pick<StoredItem, 'body'>): WindowValue {
  const { body } = item;
  return {
    key: body.key as string,
    windowStart: body.start as number,
    windowEnd: body.end as number,
    final: body.closed === true,
    ...presentAggregate(op.aggregate, loadAggregate(op.aggregate, body.agg as Record<string, Json>)),
  };
}

/**
 * The presented windows of one key of a pipeline's windows operator with a start in [from, to], oldest
 * first: what detectors compare against and routes serve. Throws for a name that is no windows operator.
 */
export async function queryWindows<E>(
  store: EngineStore,
  pipeline: string,
  operators: ReadonlyArray<{ kind: string; name: string }>,
  operator: string,
  range: { key: string; from: number; to: number },
): Promise<WindowValue[]> {
  const op = operators.find((o) => o.name === operator);
  if (op?.kind !== 'windows') throw new RangeError(`pipeline ${pipeline} has no windows operator ${operator}`);
  const items = await store.query(operatorPk(pipeline, operator, range.key), windowSk(range.from), windowSk(range.to));
  return items.map((item) => presentWindow(op as WindowedAggregate<E>, item));
}

export function windowsRuntime<E>(pipeline: string, op: WindowedAggregate<E>): OperatorRuntime<E> {
  const closeBy = op.closeBy ?? 'tick';
  if (closeBy !== 'tick' && closeBy !== 'watermark')
    throw new Error(`closeBy must be tick or watermark, got ${closeBy}`);
  const closedByTick = closeBy === 'tick';
  // Presented on first read: most updates of a batch go to no detector and no topic.
  const update = (body: Record<string, Json>, replayed = false): Update => {
    let value: WindowValue | undefined;
    return {
      operator: op.name,
      kind: 'window',
      key: body.key as string,
      get value() {
        value ??= presentWindow(op, { body });
        return value;
      },
      final: body.closed === true,
      ...(replayed ? { replayed } : {}),
    };
  };

  return {
    name: op.name,
    spanMs: op.windows.sizeMs,

    route(accepted, { allowedLatenessMs }) {
      const routed: Routed<E> = { items: new Map(), late: [] };
      const { sizeMs, slideMs } = op.windows;
      // A batch's events mostly fall in the same few windows: their sort keys are made once.
      const skOf = new Map<number, string>();
      for (const c of accepted) {
        const groupKey = op.key(c.event);
        for (let start = oldestWindowStart(op.windows, c.ts); start <= c.ts; start += slideMs) {
          const end = start + sizeMs;
          if (end + allowedLatenessMs <= c.watermark) {
            routed.late.push({ contribution: c, lateness: { operator: op.name, key: groupKey, start, end } });
          } else {
            let sk = skOf.get(start);
            if (sk === undefined) {
              sk = windowSk(start);
              skOf.set(start, sk);
            }
            contribute(routed.items, operatorPk(pipeline, op.name, groupKey), sk, groupKey, c);
          }
        }
      }
      return routed;
    },

    apply(existing, { key, groupKey }, fresh, { allowedLatenessMs }): Applied {
      const start = windowStartOfSk(key.sk);
      const end = start + op.windows.sizeMs;
      if (existing?.body.closed) {
        // The tick closed this window and its final result is out: these events are late for it.
        return {
          body: existing.body,
          outputs: [],
          updates: [],
          late: fresh.map((contribution) => ({
            contribution: contribution as Accepted<unknown>,
            lateness: { operator: op.name, key: groupKey, start, end },
          })),
        };
      }
      const partial = emptyAggregate(op.aggregate);
      for (const c of fresh) addToAggregate(op.aggregate, partial, c.event);
      const agg = existing
        ? mergeAggregates(op.aggregate, loadAggregate(op.aggregate, existing.body.agg as Record<string, Json>), partial)
        : partial;
      const body: Record<string, Json> = { key: groupKey, start, end, agg: saveAggregate(op.aggregate, agg) };
      return {
        body,
        ...(closedByTick ? { closeAt: end + allowedLatenessMs } : {}),
        outputs: [],
        updates: [update(body)],
        late: [],
      };
    },

    replay(item: StoredItem): Update[] {
      return [update(item.body, true)];
    },

    close(item: StoredItem): Applied {
      const body = { ...item.body, closed: true };
      return { body, outputs: [], updates: [update(body)], late: [] };
    },
  };
}
