// aws-cdk-lib and constructs are optional peers: only src/cdk loads them, and src/cdk reaches the rest
// of the package through the leaf list of operations only.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

function specifiers(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/ from '([^']+)'/g)].map((m) => m[1]!);
}

void test('only src/cdk imports aws-cdk-lib or constructs', () => {
  const bad = sources(src)
    .filter((file) => !relative(src, file).startsWith('cdk/'))
    .flatMap((file) =>
      specifiers(file)
        .filter((s) => /^(?:aws-cdk-lib|constructs)(?:\/|$)/.test(s))
        .map((s) => `${relative(src, file)} → ${s}`),
    );
  assert.deepEqual(bad, []);
});

void test('src/cdk imports nothing of the package but src/broker/aws-operations.ts', () => {
  const bad = sources(join(src, 'cdk')).flatMap((file) =>
    specifiers(file)
      .filter((s) => s.startsWith('..'))
      .filter((s) => s !== '../broker/aws-operations.js')
      .map((s) => `${relative(src, file)} → ${s}`),
  );
  assert.deepEqual(bad, []);
  assert.deepEqual(
    specifiers(join(src, 'broker', 'aws-operations.ts')),
    [],
    'aws-operations.ts is a leaf: it imports nothing',
  );
});
