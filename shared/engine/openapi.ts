/**
 * The OpenAPI entries of a pipeline, generated from its definition: the ingest operation, each query
 * route with its parameters and its 200 body, and the schema of each WebSocket message it publishes.
 * A test checks that docs/openapi.yaml holds what this returns for every production pipeline.
 */
import type { PipelineDefinition } from './pipeline.js';
import type { JsonSchema } from './serving.js';

export interface OpenApiFragment {
  paths: Record<string, Record<string, unknown>>;
  schemas: Record<string, JsonSchema>;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** `sensors` → `Sensors`, `user-activity` → `UserActivity`: the prefix of the pipeline's schema names. */
const pascal = (name: string) => name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());

/** The name of the schema of a pipeline's WebSocket message of `type`, e.g. `SensorsAlertMessage`. */
export const messageSchemaName = (pipeline: string, type: string) => `${pascal(pipeline)}${pascal(type)}Message`;

export function pipelineOpenApi<E, V>(definition: PipelineDefinition<E, V>): OpenApiFragment {
  const { name } = definition.description;
  const prefix = pascal(name);
  const paths: OpenApiFragment['paths'] = {
    [`/v1/${name}/events`]: {
      post: {
        tags: [name],
        operationId: `post${prefix}Events`,
        summary: `Submit a batch of ${name} events`,
        description: `${definition.description.description} Same contract as POST /v1/events: 202, 207 with per-event reasons, 400, 413.`,
        security: [{ apiKey: [] }],
        requestBody: { $ref: '#/components/requestBodies/EventBatch' },
        responses: {
          '202': { $ref: '#/components/responses/IngestAccepted' },
          '207': { $ref: '#/components/responses/IngestPartial' },
          '400': { $ref: '#/components/responses/IngestRejected' },
          '413': errorResponse('The body or the batch is too large.'),
        },
      },
    },
  };
  const schemas: OpenApiFragment['schemas'] = {};
  for (const route of definition.routes ?? []) {
    const schemaName = `${prefix}${pascal(
      route.resource
        .split('/')
        .filter((p) => p && !p.startsWith('{'))
        .slice(2)
        .join('-'),
    )}`;
    schemas[schemaName] = route.response;
    paths[route.resource] = {
      get: {
        tags: [name],
        operationId: `get${schemaName}`,
        summary: route.summary,
        parameters: route.parameters,
        responses: {
          '200': {
            description: route.summary,
            content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } },
          },
          '400': errorResponse('A parameter is not valid: the message names it.'),
        },
      },
    };
  }
  for (const binding of definition.publish ?? []) {
    schemas[messageSchemaName(name, binding.type)] = {
      type: 'object',
      additionalProperties: false,
      required: ['topic', 'kind', 'data'],
      properties: { topic: { type: 'string' }, kind: { const: binding.type }, data: binding.schema },
    };
  }
  return { paths, schemas };
}
