/**
 * The engine names no pipeline: nothing under shared/engine imports a pipeline's code (transit's
 * model, GTFS, its processor or read models, its generated schema types) or spells a pipeline's words
 * outside comments. A pipeline depends on the engine, never the other way round.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const engineDir = join(root, 'shared/engine');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Transit's own modules: what the engine must not reach into. */
const PIPELINE_MODULES = [
  'shared/model.ts',
  'shared/geo.ts',
  'shared/gtfs/',
  'shared/generated/',
  'shared/events/validate.ts',
  'shared/events/event-id.ts',
  'shared/processing/process-batch.ts',
  'shared/processing/processor-runtime.ts',
  'shared/processing/vehicle-track.ts',
  'shared/processing/eta.ts',
  'shared/processing/shape-choice.ts',
  'shared/processing/windows.ts',
  'shared/processing/keys.ts',
  'shared/processing/memory-store.ts',
  'shared/processing/dynamo-store.ts',
  'shared/queries/dynamo-read-models.ts',
  'shared/queries/read-models.ts',
  'shared/queries/serving.ts',
  'shared/queries/keys.ts',
  'shared/http/routes.ts',
  'shared/websocket/topics.ts',
  'pipelines/',
  'tests/',
];
const PIPELINE_WORDS = /vehicle|gtfs|transit|sensor|donation|clickstream|traffic/i;

const withoutComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

describe('the engine', () => {
  const sources = files(engineDir).map((file) => ({ file, text: readFileSync(file, 'utf8') }));

  it('imports no pipeline module', () => {
    const imports = sources.flatMap(({ file, text }) =>
      [...text.matchAll(/from '(\.[^']+)'/g)].map((m) => ({
        file: relative(root, file),
        target: relative(root, resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))),
      })),
    );
    const crossings = imports.filter(({ target }) => PIPELINE_MODULES.some((m) => target.startsWith(m)));
    expect(crossings).toEqual([]);
    expect(imports.length).toBeGreaterThan(20);
  });

  it('spells no pipeline’s words in its code', () => {
    const found = sources.flatMap(({ file, text }) =>
      withoutComments(text)
        .split('\n')
        .flatMap((line, i) => (PIPELINE_WORDS.test(line) ? [`${relative(root, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });
});
