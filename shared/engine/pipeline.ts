/**
 * A pipeline definition: everything the engine, the CDK app and the offline runtime need to run one
 * system, and nothing about how. Its event (schema, id, time, entity), its operators and detectors,
 * what it publishes on which WebSocket topic, and the REST routes that read its results.
 *
 * The plain-data part (`PipelineDescription`) is what the CDK app reads: names, routes, topics and
 * where the handlers are. The rest (functions over events) is only loaded by the handlers.
 */
import type { EventValidator } from '../events/event-validator.js';
import { type Setting, settingProblem } from '../settings.js';
import type { Detection, Detector } from './detectors.js';
import type { Update } from './operators/operator.js';
import type { ReferenceData } from './reference.js';
import type { Operator } from './run-batch.js';
import type { JsonSchema, PipelineRoute } from './serving.js';
import type { Sink } from './sinks.js';
import type { PipelineWorkload } from './workload.js';

/** What the CDK app and the docs know of a pipeline: plain data, no code. */
export interface PipelineDescription {
  /** `[a-z][a-z0-9-]*`: it names the ingest path `/v1/<name>/events`, stored keys and resources. */
  name: string;
  /** Construct id of the pipeline in the stack (PascalCase), the prefix of its logical ids. */
  constructId: string;
  description: string;
  /** Repo-relative module exporting the handlers `ingest`, `processor`, `kafkaProcessor`, `tick`, `api`. */
  handlers: string;
  /** The event's Avro schema family and version: the Kafka topic's name, e.g. `sensor.reading.v1`. */
  topic: string;
  /** The field whose value partitions the input (the entity: all its events in order on one shard). */
  partitionKeyField: string;
  /** Query routes, `GET /v1/...`, served by the `api` handler. */
  routes: string[];
  /** WebSocket topic forms it publishes, e.g. `sensors:alerts` or `sensor:{sensorId}`. */
  topics: string[];
  /** How often the tick closes due windows and sessions (an EventBridge rate expression). */
  tickRate: string;
  /** Input stream shards. */
  shards: number;
  /**
   * The reference table the definition's `reference` reads (keyed by the string `pk`): the processors
   * read it, and the offline runtime can load it with `seed`.
   * @default no reference data
   */
  reference?: ReferenceTableDescription;
  /**
   * Numeric settings the definition reads from its functions' environment (`readSetting`): each a row
   * with its stack prop (under `pipelineSettings.<name>`), variable, default and bounds. The variables
   * start with the pipeline's name (`SENSORS_...`), so they clash with nothing the stack sets.
   * @default none
   */
  settings?: readonly Setting[];
}

/** A pipeline's reference table, as the CDK app builds it. */
export interface ReferenceTableDescription {
  /**
   * Its offline seeding step: a repo-relative `loader` module whose `export` is
   * `(dir, tableName, { client, log }) => Promise<unknown>`, run by the local runtime when it is given
   * a data directory for the seed's `name` (the runtime's `seeds` option).
   * @default not seeded offline
   */
  seed?: { name: string; loader: string; export: string };
}

/** How the engine reads the pipeline's event. */
export interface EventBinding<E> {
  validator: EventValidator<E>;
  id: (event: E) => string;
  time: (event: E) => number;
  /** The ordering key; must be the description's `partitionKeyField`. */
  entity: (event: E) => string;
  /** The input stream an event belongs to, for joins of several kinds of event. @default the pipeline's name */
  stream?: (event: E) => string;
}

/** What goes out on a WebSocket topic: the update or detection, in its public shape. */
export interface TopicBinding {
  /** What subscribers see as the message's `kind`, e.g. `alert` or `window`. */
  type: string;
  /**
   * The topics a message goes to, e.g. `['sensors:alerts']` or [`sensor:${key}`]; `data` is the
   * message's `shape`, made once for both.
   */
  topics: (message: { update?: Update; detection?: Detection }, data: Record<string, unknown>) => string[];
  /** Updates of this operator, or detections of this detector. */
  from: { operator: string; finalOnly?: boolean } | { detector: string };
  /** The public shape of the message; storage fields never leave the engine anyway. */
  shape: (message: { update?: Update; detection?: Detection }) => Record<string, unknown>;
  /** The JSON Schema of `shape`'s result, for the OpenAPI document and the tests. */
  schema: JsonSchema;
}

/**
 * A pipeline: `V` is the event as validated, `E` the event its operators, detectors and projections
 * see. They are the same unless the definition declares `reference` data, which makes one of the other
 * (a definition whose `E` is not a `V` must declare it).
 */
export type PipelineDefinition<E, V = E> = PipelineParts<E, V> &
  ([V] extends [E] ? unknown : { reference: PipelineParts<E, V>['reference'] & object });

interface PipelineParts<E, V> {
  description: PipelineDescription;
  event: EventBinding<V>;
  /**
   * Reference data each event is enriched with before the operators see it: looked up once per batch
   * for the batch's distinct keys; an event whose required reference is missing is dead-lettered.
   * @default none: the operators see the validated event
   */
  // biome-ignore lint/suspicious/noExplicitAny: each reference has its own item type
  reference?: ReferenceData<V, E, any>;
  /** How far an event may lag behind its entity's newest event time and still count (ms). */
  allowedLatenessMs: number;
  /** How far ahead of the processing clock an event time may be (ms); at most half the lateness. */
  maxClockSkewMs: number;
  operators: Array<Operator<E>>;
  detectors?: Array<Detector<E>>;
  /** Rows of other tables that follow the operators' updates (`sinks.ts`); the ports give their target. */
  sinks?: Array<Sink<E>>;
  publish?: TopicBinding[];
  /** The query routes; their `GET <resource>` keys are the description's `routes`. */
  routes?: PipelineRoute[];
  /**
   * What its producers send, for `npm run simulate` and tests (`workload.ts`, which adds the faults).
   * @default none: the pipeline is not simulated
   */
  workload?: PipelineWorkload<V>;
}

/** A definition whose parts do not fit together: the message lists every problem. */
export class PipelineDefinitionError extends Error {
  override name = 'PipelineDefinitionError';
}

// The name is a path segment and part of resource names.
const NAME = /^[a-z][a-z0-9-]{0,30}$/;
// The prefix of the pipeline's logical ids and output names.
const CONSTRUCT_ID = /^[A-Z][A-Za-z0-9]{0,63}$/;
// A repo-relative module, as the CDK app's functions take their entry.
const HANDLERS_MODULE = /^(?!\/)(?!.*(^|\/)\.\.?\/)[\w./-]+\.(ts|mts|js|mjs)$/;
// EventBridge's rate expression: a whole number above 0, its unit singular for 1 and plural otherwise.
const RATE = /^rate\(([1-9]\d*) (minute|hour|day)(s?)\)$/;
// A module's export.
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
// Kafka's topic names.
const KAFKA_TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
// One path part of an API Gateway resource: a literal or a `{parameter}` (no greedy `{proxy+}`).
const PATH_PART = /^([A-Za-z0-9._~-]+|\{[A-Za-z_]\w*\})$/;

/**
 * Every problem of a description on its own, empty when there is none. Plain: the CDK app checks its
 * `pipelines` prop with it at synth time, and `checkPipeline` when a handler loads the definition.
 */
export function descriptionProblems(d: PipelineDescription): string[] {
  const problems: string[] = [];
  if (!NAME.test(d.name)) problems.push(`name must match ${NAME}`);
  if (!CONSTRUCT_ID.test(d.constructId)) {
    problems.push(`constructId must be PascalCase letters and digits, got ${JSON.stringify(d.constructId)}`);
  }
  if (!HANDLERS_MODULE.test(d.handlers)) {
    problems.push(`handlers must be a repo-relative .ts or .js module, got ${JSON.stringify(d.handlers)}`);
  }
  const rate = RATE.exec(d.tickRate);
  if (!rate || (rate[1] === '1') !== (rate[3] === '')) {
    problems.push(
      `tickRate must be an EventBridge rate expression like rate(1 minute) or rate(5 minutes), got ${JSON.stringify(d.tickRate)}`,
    );
  }
  if (!(Number.isInteger(d.shards) && d.shards >= 1))
    problems.push(`shards must be a whole number >= 1, got ${d.shards}`);
  if (!KAFKA_TOPIC.test(d.topic)) {
    problems.push(`topic must be a Kafka topic name (letters, digits, . _ -), got ${JSON.stringify(d.topic)}`);
  }
  for (const form of d.topics) {
    // The WebSocket function reads every pipeline's topic forms from one comma-separated variable.
    if (!/^[^\s,]+$/.test(form)) {
      problems.push(`WebSocket topic ${JSON.stringify(form)} must be non-empty, without commas or spaces`);
    }
  }
  const prefix = `/v1/${d.name}/`;
  for (const route of d.routes) {
    const path = /^GET (\/\S*)$/.exec(route)?.[1];
    const parts = path?.startsWith(prefix) ? path.slice(prefix.length).split('/') : [];
    if (parts.length === 0 || !parts.every((part) => PATH_PART.test(part))) {
      problems.push(
        `route ${JSON.stringify(route)} must be GET ${prefix}<path> (parts of letters, digits, ._~- or a {parameter})`,
      );
    }
  }
  problems.push(...settingsProblems(d));
  const seed = d.reference?.seed;
  if (seed) {
    if (!HANDLERS_MODULE.test(seed.loader)) {
      problems.push(
        `reference.seed.loader must be a repo-relative .ts or .js module, got ${JSON.stringify(seed.loader)}`,
      );
    }
    if (!IDENTIFIER.test(seed.export)) {
      problems.push(`reference.seed.export must be an export name, got ${JSON.stringify(seed.export)}`);
    }
  }
  return problems;
}

// A stack prop's name, and a variable's.
const PROP = /^[a-z][A-Za-z0-9]{0,62}$/;
const ENV = /^[A-Z][A-Z0-9_]{0,127}$/;

/** The environment variables of a pipeline's settings start with this, e.g. `SENSORS_` for `sensors`. */
export const settingsEnvPrefix = (name: string) => `${name.toUpperCase().replaceAll('-', '_')}_`;

function settingsProblems(d: PipelineDescription): string[] {
  const problems: string[] = [];
  const prefix = settingsEnvPrefix(d.name);
  const props = new Set<string>();
  const envs = new Set<string>();
  for (const s of d.settings ?? []) {
    if (!PROP.test(s.prop)) problems.push(`setting ${JSON.stringify(s.prop)}: its prop must match ${PROP}`);
    if (!ENV.test(s.env) || !s.env.startsWith(prefix)) {
      problems.push(
        `setting ${s.prop}: its variable must be ${prefix}<NAME> in capitals, got ${JSON.stringify(s.env)}`,
      );
    }
    if (props.has(s.prop)) problems.push(`setting ${s.prop} is listed more than once`);
    if (envs.has(s.env)) problems.push(`setting ${s.prop}: variable ${s.env} is used more than once`);
    props.add(s.prop);
    envs.add(s.env);
    const bad = settingProblem(s, s.default);
    if (bad) problems.push(`setting ${s.prop}: its default is out of its bounds (${bad})`);
  }
  return problems;
}

/** Checks what the engine's `compile` does not: the description, the time rules, the published topics. */
export function checkPipeline<E, V>(definition: PipelineDefinition<E, V>): PipelineDefinition<E, V> {
  const d = definition.description;
  const problems = descriptionProblems(d);
  if (definition.maxClockSkewMs > definition.allowedLatenessMs / 2) {
    problems.push(
      `maxClockSkewMs ${definition.maxClockSkewMs} is above half of allowedLatenessMs ${definition.allowedLatenessMs} (docs/exactly-once.md, Clock skew)`,
    );
  }
  if (!definition.event.validator.fields.has(d.partitionKeyField)) {
    problems.push(`partitionKeyField "${d.partitionKeyField}" is not a field of the event schema`);
  }
  if (definition.reference && !d.reference) {
    problems.push(
      `reference data "${definition.reference.name}" is declared, but the description has no reference table`,
    );
  }
  if (d.reference && !definition.reference)
    problems.push('the description has a reference table the definition reads nothing from');
  const served = (definition.routes ?? []).map((r) => `${r.method} ${r.resource}`).sort();
  if (JSON.stringify(served) !== JSON.stringify([...d.routes].sort())) {
    problems.push(
      `routes served (${served.join(', ') || 'none'}) are not the description's (${d.routes.join(', ') || 'none'})`,
    );
  }
  const operators = new Set(definition.operators.map((o) => o.name));
  const detectors = new Set((definition.detectors ?? []).map((x) => x.name));
  for (const binding of definition.publish ?? []) {
    if ('operator' in binding.from && !operators.has(binding.from.operator)) {
      problems.push(`publish from operator "${binding.from.operator}", which the pipeline does not have`);
    }
    if ('detector' in binding.from && !detectors.has(binding.from.detector)) {
      problems.push(`publish from detector "${binding.from.detector}", which the pipeline does not have`);
    }
  }
  if (problems.length > 0) throw new PipelineDefinitionError(`pipeline ${d.name}: ${problems.join('; ')}`);
  return definition;
}

/** A message for the WebSocket topics: where it goes and what it says. */
export interface TopicMessage {
  type: string;
  topics: string[];
  /** The entity or group key it is about: its output-stream partition key, keeping one key's messages in order. */
  key: string;
  data: Record<string, unknown>;
}

/** The messages a batch's updates and detections make, per the definition's `publish`. */
export function topicMessages<E, V>(
  definition: PipelineDefinition<E, V>,
  updates: Update[],
  detections: Detection[],
): TopicMessage[] {
  const out: TopicMessage[] = [];
  for (const binding of definition.publish ?? []) {
    const { from } = binding;
    if ('operator' in from) {
      for (const update of updates) {
        if (update.operator !== from.operator || (from.finalOnly && !update.final)) continue;
        const message = { update };
        const data = binding.shape(message);
        const topics = binding.topics(message, data);
        if (topics.length > 0) out.push({ type: binding.type, topics, key: update.key, data });
      }
    } else {
      for (const detection of detections) {
        if (detection.detector !== from.detector) continue;
        const message = { detection };
        const data = binding.shape(message);
        const topics = binding.topics(message, data);
        if (topics.length > 0) out.push({ type: binding.type, topics, key: detection.key, data });
      }
    }
  }
  return out;
}
