import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const infraDir = fileURLToPath(new URL('../../infra/', import.meta.url));

describe('infra boundaries', () => {
  it('never imports runtime code from functions/ or shared/ (functions are referred to by entry path)', () => {
    const files = readdirSync(infraDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const offending = files.flatMap((file) =>
      [...readFileSync(join(infraDir, file), 'utf8').matchAll(/from\s+'([^']+)'/g)]
        .map((match) => match[1] ?? '')
        .filter((specifier) => /(^|\/)(functions|shared)\//.test(specifier))
        .map((specifier) => `${file}: ${specifier}`),
    );

    expect(files.length).toBeGreaterThan(5);
    expect(offending).toEqual([]);
  });
});
