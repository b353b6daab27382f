// The id rule as the contract states it (docs/openapi.yaml, schema `Id`), read from the document itself, so
// tests judge ids by what clients are told rather than by the product's own validator.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const schema = (() => {
  const doc = parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8'));
  const id = doc.components.schemas.Id as { pattern: string; minLength: number; maxLength: number };
  return { ...id, regex: new RegExp(id.pattern) };
})();

/** Whether the contract calls `value` an id (JSON Schema lengths count characters, not UTF-16 units). */
export const isContractId = (value: unknown): value is string => {
  if (typeof value !== 'string' || !value.isWellFormed()) return false;
  const length = [...value].length;
  return length >= schema.minLength && length <= schema.maxLength && schema.regex.test(value);
};
