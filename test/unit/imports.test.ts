// The arrows between the parts of the package go one way: middleware → broker (through the broker's
// public barrel, types only), never broker → middleware; the emulator imports neither.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import of `file`, resolved to a path under src/, with whether it is type-only. */
function importsOf(file: string): { target: string; typeOnly: boolean }[] {
  const text = `\n${readFileSync(file, 'utf8')}`;
  return [...text.matchAll(/ from '(\.[^']+)'/g)].map((m) => {
    const at = m.index;
    const start = Math.max(text.lastIndexOf('\nimport ', at), text.lastIndexOf('\nexport ', at));
    const typeOnly = text.startsWith('\nimport type ', start) || text.startsWith('\nexport type ', start);
    return { target: relative(src, join(file, '..', m[1] ?? '')).replace(/\.js$/, '.ts'), typeOnly };
  });
}

void it('the middleware reaches the broker only through its public barrel, for types', () => {
  const bad = sources(join(src, 'middleware')).flatMap((file) =>
    importsOf(file)
      .filter(({ target, typeOnly }) => target.startsWith('broker/') && (target !== 'broker/index.ts' || !typeOnly))
      .map(({ target }) => `${relative(src, file)} → ${target}`),
  );
  assert.deepEqual(bad, []);
});

void it('the broker imports nothing of the middleware, and the emulator nothing of either', () => {
  const bad = [
    ...sources(join(src, 'broker')).flatMap((file) =>
      importsOf(file)
        .filter(({ target }) => target.startsWith('middleware/'))
        .map(({ target }) => `${relative(src, file)} → ${target}`),
    ),
    ...sources(join(src, 'emulator')).flatMap((file) =>
      importsOf(file)
        .filter(({ target }) => /^(broker|middleware)\//.test(target) || target === 'index.ts')
        .map(({ target }) => `${relative(src, file)} → ${target}`),
    ),
  ];
  assert.deepEqual(bad, []);
});
