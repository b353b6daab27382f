/**
 * The engine names no pipeline: nothing under shared/ (the engine and its sources, codecs, stores and
 * serving) imports a pipeline's code or spells a pipeline's words outside comments. A pipeline depends on
 * the engine, never the other way round. `shared/generated/` is exempt: it is generated from every
 * pipeline's schemas in `schemas/`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const sharedDir = join(root, 'shared');
const GENERATED = join(sharedDir, 'generated');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === GENERATED ? [] : files(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** What shared code must not reach into: the pipelines, the tests, the apps built on it. */
const OUTSIDE = ['pipelines/', 'tests/', 'functions/', 'local/', 'infra/', 'bench/'];
const PIPELINE_WORDS = /vehicle|gtfs|transit|sensor|donation|clickstream|traffic/i;

const withoutComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

describe('shared/, the engine', () => {
  const sources = files(sharedDir).map((file) => ({ file, text: readFileSync(file, 'utf8') }));

  it('imports no pipeline, test or app module', () => {
    const imports = sources.flatMap(({ file, text }) =>
      [...text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)].map((m) => ({
        file: relative(root, file),
        target: relative(root, resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))),
      })),
    );
    const crossings = imports.filter(({ target }) => OUTSIDE.some((m) => target.startsWith(m)));
    expect(crossings).toEqual([]);
    expect(imports.length).toBeGreaterThan(100);
  });

  it('spells no pipeline’s words in its code', () => {
    const found = sources.flatMap(({ file, text }) =>
      withoutComments(text)
        .split('\n')
        .flatMap((line, i) => (PIPELINE_WORDS.test(line) ? [`${relative(root, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
    expect(sources.length).toBeGreaterThan(50);
  });
});
