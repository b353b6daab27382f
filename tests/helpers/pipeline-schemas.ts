/**
 * Checks a pipeline's answers and messages against the schemas its definition declares (the ones
 * `pipelineOpenApi` puts in the OpenAPI document), with the same strict JSON Schema 2020-12 validator
 * as transit's responses. Every object schema must list exactly its properties.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { messageSchemaName, pipelineOpenApi } from '../../shared/engine/openapi.js';
import type { PipelineDefinition } from '../../shared/engine/pipeline.js';
import type { JsonSchema } from '../../shared/engine/serving.js';

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

/** What is wrong with `value` as `schema`; empty when it matches. */
export function shapeProblems(schema: JsonSchema, value: unknown): string[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
    return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });
}

/** The 200 body schema of a pipeline route, by resource. */
export function routeSchema<E, V>(definition: PipelineDefinition<E, V>, resource: string): JsonSchema {
  const route = (definition.routes ?? []).find((r) => r.resource === resource);
  if (!route) throw new Error(`pipeline ${definition.description.name} has no route ${resource}`);
  return route.response;
}

/** The schema of a WebSocket message `{topic, kind, data}` of the given kind. */
export function messageSchema<E, V>(definition: PipelineDefinition<E, V>, kind: string): JsonSchema {
  const schema = pipelineOpenApi(definition).schemas[messageSchemaName(definition.description.name, kind)];
  if (!schema) throw new Error(`pipeline ${definition.description.name} publishes no ${kind}`);
  return schema;
}

/** Every object schema below `schema` that does not close its properties (`additionalProperties: false`). */
export function openObjects(schema: unknown, path = '#'): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const s = schema as Record<string, unknown>;
  const own = s.type === 'object' && s.additionalProperties !== false ? [path] : [];
  return [
    ...own,
    ...Object.entries(s).flatMap(([key, value]) =>
      typeof value === 'object' && value !== null ? openObjects(value, `${path}/${key}`) : [],
    ),
  ];
}
