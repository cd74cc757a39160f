import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const emulatorDir = join(root, 'src', 'emulator');
/** Packages the emulator may import besides node's built-ins. */
const ALLOWED_PACKAGES = new Set<string>();
/** Files written by scripts/gen-model.mjs, exempt from the size bound. */
const GENERATED = new Set(['model/model.ts', 'model/shapes.ts', 'model/sts-model.ts']);
const MAX_LINES = 420;

function sources(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return sources(p);
      return p.endsWith('.ts') ? [p] : [];
    });
}

/** Every module specifier of static imports, re-exports and dynamic imports. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*'([^']+)'/g)) out.push(m[1] ?? '');
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*'([^']+)'/g)) out.push(m[1] ?? '');
  for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) out.push(m[1] ?? '');
  return out;
}

const files = sources(emulatorDir);

void test('the emulator imports nothing from src/broker, src/middleware or the root entry', () => {
  assert.ok(files.length > 20, 'found the emulator sources');
  const bad: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const where = relative(root, file);
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(emulatorDir + sep)) bad.push(`${where} → ${spec}`);
      } else if (!spec.startsWith('node:') && !ALLOWED_PACKAGES.has(spec)) {
        bad.push(`${where} → ${spec}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

void test('the import scan sees relative, package and dynamic imports', () => {
  const text = [
    "import { a } from '../broker/broker.js';",
    "import type { B } from './b.js';",
    "export { c } from 'zod';",
    "import 'node:fs';",
    "const m = await import('../middleware/router.js');",
  ].join('\n');
  assert.deepEqual(specifiers(text), ['../broker/broker.js', './b.js', 'zod', 'node:fs', '../middleware/router.js']);
});

void test(`no hand-written emulator source is longer than ${MAX_LINES} lines`, () => {
  const long = files
    .map((f) => ({
      file: relative(emulatorDir, f).split(sep).join('/'),
      lines: readFileSync(f, 'utf8').split('\n').length,
    }))
    .filter((f) => !GENERATED.has(f.file) && f.lines > MAX_LINES);
  assert.deepEqual(long, []);
});

/** The import cycles among the emulator's sources (type-only imports included), each as a path. */
function importCycles(): string[] {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = specifiers(readFileSync(file, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'));
    graph.set(file, deps);
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === 'open') {
        const cycle = [...path.slice(path.indexOf(dep)), dep];
        cycles.push(cycle.map((f) => relative(emulatorDir, f).split(sep).join('/')).join(' → '));
      } else if (state.get(dep) === undefined && graph.has(dep)) {
        visit(dep);
      }
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (state.get(file) === undefined) visit(file);
  return cycles;
}

void test('the emulator has no import cycles', () => {
  assert.deepEqual(importCycles(), []);
});
