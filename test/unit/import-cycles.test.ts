// No module of src imports itself back, directly or through others (type-only imports count: a
// cycle of types is a cycle of meaning). The graph is read from the sources: every `import … from`,
// `export … from` and `import('…')` naming a relative module.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The relative modules `file` imports, as absolute `.ts` paths. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  // Comments could name a module in an example: drop them first (strings holding `//` are rare
  // enough in import lines not to matter).
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const m of code.matchAll(pattern)) {
    const spec = m[1] ?? '';
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

/** Every cycle's modules (one path per strongly connected part that loops), relative to src. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's strongly connected components, iteratively deep enough for src's size (recursive).
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, indexOf.get(w) ?? 0));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const part: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        part.push(w);
      } while (w !== v);
      const selfLoop = part.length === 1 && (graph.get(v) ?? []).includes(v);
      if (part.length > 1 || selfLoop) found.push(part.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return found;
}

void describe('import cycles', () => {
  void it('finds a cycle in a graph that has one, and none in one that has none', () => {
    const looped = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    assert.deepEqual(cycles(looped), [['a', 'b', 'c']]);
    assert.deepEqual(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
      [],
    );
    assert.deepEqual(cycles(new Map([['a', ['a']]])), [['a']]);
  });

  void it('reads type-only, re-export and dynamic imports', () => {
    const file = '/x/a.ts';
    const text = [
      "import type { A } from './b.js';",
      "export { C } from '../c.js';",
      "const d = await import('./d.js');",
      "import './e.js';",
      "// import { z } from './not-me.js';",
      "import { f } from 'node:fs';",
    ].join('\n');
    assert.deepEqual(importsOf(file, text), ['/x/b.ts', '/c.ts', '/x/d.ts', '/x/e.ts']);
  });

  void it('src has no import cycle', () => {
    const graph = new Map<string, string[]>();
    for (const file of sources(SRC)) graph.set(file, importsOf(file, readFileSync(file, 'utf8')));
    const found = cycles(graph).map((part) => part.map((f) => relative(SRC, f)));
    assert.deepEqual(found, [], `import cycles in src:\n${found.map((p) => p.join(' ↔ ')).join('\n')}`);
  });
});
