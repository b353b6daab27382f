import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const infraDir = fileURLToPath(new URL('../../infra/', import.meta.url));

/**
 * Module specifiers a file imports or re-exports at run time. A type-only import (such as the plain-data
 * `PipelineDescription`) is erased and brings no runtime code along.
 */
function runtimeImports(text: string): string[] {
  return [...text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'/gm)].map((match) => match[1] ?? '');
}

/**
 * A module that imports nothing at run time (plain data and pure functions, such as the settings
 * tables) brings no function code into the CDK app, so infra may import it.
 */
function importsNothing(specifier: string): boolean {
  return runtimeImports(readFileSync(specifier.replace(/\.js$/, '.ts'), 'utf8')).length === 0;
}

describe('infra boundaries', () => {
  it('never imports runtime code from functions/ or shared/ (functions are referred to by entry path), but for plain modules', () => {
    const files = readdirSync(infraDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const offending = files.flatMap((file) =>
      runtimeImports(readFileSync(join(infraDir, file), 'utf8'))
        .filter((specifier) => /(^|\/)(functions|shared)\//.test(specifier))
        .filter((specifier) => !importsNothing(join(infraDir, dirname(file), specifier)))
        .map((specifier) => `${file}: ${specifier}`),
    );

    expect(files.length).toBeGreaterThan(5);
    expect(offending).toEqual([]);
  });

  it('tells runtime imports, however they are wrapped, from type-only ones', () => {
    const text = [
      "import { a } from '../shared/a.js';",
      "import type { B } from '../shared/b.js';",
      "import {\n  c,\n  type D,\n} from '../functions/c.js';",
      "export { e } from '../shared/e.js';",
    ].join('\n');

    expect(runtimeImports(text)).toEqual(['../shared/a.js', '../functions/c.js', '../shared/e.js']);
  });
});
