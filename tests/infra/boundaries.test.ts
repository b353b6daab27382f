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
 * A module whose run-time imports are, all the way down, modules of the same kind: plain data and pure
 * functions (such as the settings tables and the description checks) bring no function code into the
 * CDK app, so infra may import them.
 */
function isPlain(file: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return true;
  seen.add(file);
  const imports = runtimeImports(readFileSync(file, 'utf8'));
  return imports.every((specifier) => specifier.startsWith('.') && isPlain(resolve(dirname(file), specifier), seen));
}
const resolve = (dir: string, specifier: string) => join(dir, specifier).replace(/\.js$/, '.ts');

describe('infra boundaries', () => {
  it('never imports runtime code from functions/ or shared/ (functions are referred to by entry path), but for plain modules', () => {
    const files = readdirSync(infraDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const offending = files.flatMap((file) =>
      runtimeImports(readFileSync(join(infraDir, file), 'utf8'))
        .filter((specifier) => /(^|\/)(functions|shared)\//.test(specifier))
        .filter((specifier) => !isPlain(resolve(join(infraDir, dirname(file)), specifier)))
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
