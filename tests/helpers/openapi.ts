/**
 * Checks responses and messages against docs/openapi.yaml with a JSON Schema 2020-12 validator (the dialect of
 * OpenAPI 3.1). Every response object in the document lists exactly its properties, so a field a projection
 * lets through without documenting it fails here.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { parse } from 'yaml';

// ajv-formats is CommonJS with a default export; under NodeNext it arrives either way.
const addFormats = ((addFormatsPlugin as { default?: unknown }).default ?? addFormatsPlugin) as (ajv: Ajv2020) => void;

const DOCUMENT_ID = 'openapi.yaml';
const MEDIA_TYPE = 'application/json';

interface ResponseObject {
  $ref?: string;
  content?: Record<string, { schema?: unknown }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, ResponseObject> }>>;
  components?: { schemas?: Record<string, unknown>; responses?: Record<string, ResponseObject> };
}

/** docs/openapi.yaml, parsed. */
export const openApiDocument = parse(
  readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8'),
) as OpenApiDocument;

/** An `operation` is `METHOD /path` as the document names it, e.g. `GET /v1/vehicles/{vehicleId}`. */
export type Operation = `${Uppercase<string>} /${string}`;

/** An operation, response status or schema the document does not have. */
export class UndocumentedResponseError extends Error {
  override name = 'UndocumentedResponseError';
}

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: true });
addFormats(ajv);
// The document is registered whole so that its own `#/components/...` references resolve; the keywords of the
// OpenAPI layers around the schemas are declared so that strict mode still flags unknown keywords in schemas.
ajv.addVocabulary(['openapi', 'info', 'servers', 'tags', 'paths', 'components', 'security']);
ajv.addSchema(openApiDocument as object, DOCUMENT_ID);

const pointer = (...parts: string[]) =>
  `${DOCUMENT_ID}#/${parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

const compiled = new Map<string, ValidateFunction>();
function validatorAt(ref: string): ValidateFunction {
  let validate = compiled.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    compiled.set(ref, validate);
  }
  return validate;
}

/** Whether the document has `operation`. */
export function isDocumentedOperation(operation: string): boolean {
  const [method = '', path = ''] = operation.split(' ');
  return openApiDocument.paths[path]?.[method.toLowerCase()] !== undefined;
}

/** The schema pointer of the documented JSON body of `operation`'s `status` response. */
function responseSchemaRef(operation: Operation, status: number): string {
  const [method = '', path = ''] = operation.split(' ');
  const responses = openApiDocument.paths[path]?.[method.toLowerCase()]?.responses;
  if (!responses) throw new UndocumentedResponseError(`docs/openapi.yaml has no operation ${operation}`);
  const response = responses[String(status)];
  if (!response) throw new UndocumentedResponseError(`docs/openapi.yaml documents no ${status} for ${operation}`);
  const shared = response.$ref?.match(/^#\/components\/responses\/(.+)$/)?.[1];
  const resolved = shared ? openApiDocument.components?.responses?.[shared] : response;
  if (!resolved?.content?.[MEDIA_TYPE]?.schema) {
    throw new UndocumentedResponseError(`the ${status} of ${operation} documents no ${MEDIA_TYPE} body`);
  }
  const base = shared
    ? ['components', 'responses', shared]
    : ['paths', path, method.toLowerCase(), 'responses', `${status}`];
  return pointer(...base, 'content', MEDIA_TYPE, 'schema');
}

const describe = (errors: readonly ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
    return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });

/** What is wrong with `body` as `operation`'s `status` response; empty when it matches the document. */
export function responseProblems(operation: Operation, status: number, body: unknown): string[] {
  const validate = validatorAt(responseSchemaRef(operation, status));
  return validate(body) ? [] : describe(validate.errors);
}

/** What is wrong with `value` as the component schema `name` (e.g. `WebSocketMessage`); empty when it matches. */
export function schemaProblems(name: string, value: unknown): string[] {
  if (!openApiDocument.components?.schemas?.[name]) {
    throw new UndocumentedResponseError(`docs/openapi.yaml has no schema ${name}`);
  }
  const validate = validatorAt(pointer('components', 'schemas', name));
  return validate(value) ? [] : describe(validate.errors);
}

/**
 * Throws unless a proxy response (its `statusCode` and JSON `body` text) is one `operation` documents, with the
 * problems in the message, so a test that calls it fails naming the stray or missing field.
 */
export function assertDocumentedResponse(operation: Operation, response: { statusCode: number; body: string }): void {
  const problems = responseProblems(operation, response.statusCode, JSON.parse(response.body));
  if (problems.length > 0) {
    throw new UndocumentedResponseError(
      `${operation} answered ${response.statusCode} outside docs/openapi.yaml: ${problems.join('; ')}\n${response.body.slice(0, 500)}`,
    );
  }
}
