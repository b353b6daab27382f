import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STACK_SETTINGS } from '../../infra/stack-props.js';
import { settingsMarkdown } from '../../shared/settings.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('the settings table', () => {
  it('is the table docs/contracts.md shows', () => {
    const docs = read('docs/contracts.md');
    const block = docs.slice(docs.indexOf('<!-- settings:begin -->'), docs.indexOf('<!-- settings:end -->'));

    expect(block.replace('<!-- settings:begin -->', '').trim()).toBe(settingsMarkdown(STACK_SETTINGS));
  });

  it("gives every stack prop's doc comment the default the functions use", () => {
    const props = read('infra/stack-props.ts');
    const defaults = STACK_SETTINGS.map((s) => {
      const doc = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*readonly ${s.prop}\\?`).exec(props)?.[1] ?? '';
      return [s.prop, /@default (\d+(?:\.\d+)?)/.exec(doc)?.[1], doc.includes(`\`${s.env}\``)];
    });

    expect(defaults).toEqual(STACK_SETTINGS.map((s) => [s.prop, String(s.default), true]));
  });
});
