// What the package installs is what its `dist` loads: every package imported by a built file
// (JavaScript or declarations) is a dependency or a peer dependency, and every dependency is
// imported. The build ships no source map (they would point at src/, which is not shipped).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** The package name of a bare specifier (`@scope/name/sub` → `@scope/name`), or undefined. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier))
    return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Packages named by static imports, re-exports, dynamic imports and `import('…')` types. */
function importedPackages(text: string): string[] {
  const out: string[] = [];
  // Doc comments show imports of the user's app (`@aws-sdk/client-s3`, …): leave them out.
  const bare = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of bare.matchAll(
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm,
  )) {
    const name = packageOf(m[1] ?? m[2] ?? m[3] ?? '');
    if (name !== undefined) out.push(name);
  }
  return out;
}

const built = existsSync(join(dist, 'index.js'));
void describe(
  'the built package',
  { skip: built || process.env.CI !== undefined ? false : 'run `npm run build` first' },
  () => {
    const all = built ? files(dist) : [];
    const code = all.filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
    const used = new Set(code.flatMap((f) => importedPackages(readFileSync(f, 'utf8'))));

    void test('every dependency is imported by dist, and every package dist imports is declared', () => {
      const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
      assert.deepEqual([...used].filter((name) => !declared.has(name)).sort(), [], 'imported but not declared');
      const unused = Object.keys(pkg.dependencies ?? {}).filter((name) => !used.has(name));
      assert.deepEqual(unused.sort(), [], 'runtime dependencies nothing in dist imports');
    });

    void test('ships no source maps (src/ is not shipped)', () => {
      assert.deepEqual(
        all.filter((f) => f.endsWith('.map')),
        [],
      );
      for (const f of code) assert.doesNotMatch(readFileSync(f, 'utf8'), /sourceMappingURL/, f);
    });
  },
);
