import { describe, expect, it } from 'vitest';
import { decodePathId, idProblem, isValidId, MAX_ID_LENGTH } from '../../shared/ids.js';
import { isContractId } from '../helpers/contract-ids.js';

const VALID = [
  'V1',
  'bus-12.a:b_c',
  'de:08212:1004:2:2 (U)',
  'de:08231:11',
  'Rückfahrt 7',
  '東京-1',
  '🚌'.repeat(MAX_ID_LENGTH),
  'x'.repeat(MAX_ID_LENGTH),
  'a.b',
  '...',
];
const INVALID = [
  '',
  '.',
  '..',
  'a/b',
  'a#b',
  '50%',
  ' lead',
  'trail ',
  'x'.repeat(MAX_ID_LENGTH + 1),
  'nul\u0000',
  'del\u007f',
  'c1\u0085',
  'bom\ufeff',
  'ls\u2028',
  'nbsp\u00a0',
  '\u3000ideographic',
  'nonchar\uFFFE',
];

describe('the id rule', () => {
  it.each(VALID)('accepts %j', (id) => {
    expect(idProblem(id)).toBeUndefined();
  });

  it.each(INVALID)('rejects %j with a reason', (id) => {
    expect(idProblem(id)).toEqual(expect.any(String));
  });

  it('rejects a lone surrogate, which no UTF-8 store can hold', () => {
    expect(idProblem('a\uD800')).toMatch(/lone surrogate/);
  });

  it('is the rule docs/openapi.yaml states for path and query ids', () => {
    for (const id of [...VALID, ...INVALID, 'a\uD800']) {
      expect(isContractId(id), JSON.stringify(id)).toBe(isValidId(id));
    }
  });

  it('decodes a path id once, whether or not the gateway decoded it already', () => {
    const id = 'de:08212:1004:2:2 (U)';
    expect(decodePathId(encodeURIComponent(id))).toBe(id);
    expect(decodePathId(id)).toBe(id);
    expect(decodePathId('%E0%A4%A')).toBeUndefined();
  });
});
