// The client runs in browsers, React Native and workers: no Node built-in, no runtime import of
// anything (the AWS SDK types are type-only), and small.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { bundleClient, sizes } from '../../../scripts/client-bundle.mjs';

const DIR = fileURLToPath(new URL('../../../src/client/', import.meta.url));
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Every module specifier in `source` (static imports, re-exports, `import()`, `require()`), and whether it is type-only. */
function specifiers(source: string): { specifier: string; typeOnly: boolean }[] {
  const out: { specifier: string; typeOnly: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      const typeOnly = ts.isImportDeclaration(node)
        ? node.importClause?.phaseModifier === ts.SyntaxKind.TypeKeyword
        : node.isTypeOnly;
      out.push({ specifier: (node.moduleSpecifier as ts.StringLiteral).text, typeOnly });
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      const arg = node.arguments[0];
      out.push({ specifier: arg !== undefined && ts.isStringLiteral(arg) ? arg.text : '<computed>', typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('x.ts', source, ts.ScriptTarget.ES2022, true));
  return out;
}

/** The identifiers `source` uses (comments and strings are not identifiers). */
function identifiers(source: string): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('x.ts', source, ts.ScriptTarget.ES2022, true));
  return names;
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));

void describe('the client folder', () => {
  void it('finds the imports it checks (the scanner works)', () => {
    assert.deepEqual(
      specifiers(
        "// import { x } from 'node:http';\nimport { a } from './a.js';\nimport type { B } from '@aws-sdk/types';\nexport { c } from 'node:fs';\nconst d = await import('os');\nrequire('path');",
      ),
      [
        { specifier: './a.js', typeOnly: false },
        { specifier: '@aws-sdk/types', typeOnly: true },
        { specifier: 'node:fs', typeOnly: false },
        { specifier: 'os', typeOnly: false },
        { specifier: 'path', typeOnly: false },
      ],
    );
    assert.ok(identifiers('const b = Buffer.from(x); // process').has('Buffer'));
    assert.ok(!identifiers('const b = 1; // process').has('process'));
    assert.ok(files.length >= 5, files.join());
  });

  void it('imports no Node built-in, and nothing at runtime but its own files', () => {
    const bad: string[] = [];
    for (const file of files) {
      const source = readFileSync(join(DIR, file), 'utf8');
      for (const { specifier, typeOnly } of specifiers(source)) {
        if (BUILTINS.has(specifier)) bad.push(`${file}: ${specifier} is a Node built-in`);
        else if (!specifier.startsWith('./') && !(typeOnly && specifier === '@aws-sdk/types')) {
          bad.push(`${file}: ${specifier}${typeOnly ? ' (type-only)' : ''} is not allowed`);
        }
      }
      const used = identifiers(source);
      for (const global of [
        'process',
        'Buffer',
        'require',
        'module',
        '__dirname',
        '__filename',
        'setImmediate',
        'global',
      ]) {
        if (used.has(global)) bad.push(`${file}: uses ${global}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  void it('bundles to one module with no import at all', async () => {
    const code = await bundleClient();
    assert.doesNotMatch(code, /\bimport\s*[\s{*("'`]/);
    assert.doesNotMatch(code, /\brequire\s*\(/);
    assert.match(code, /export\s*\{[^}]*\bfromBroker\b/);
  });

  // What an app bundles is what it imports (the entry has no side effects): fromBroker alone stays
  // under 2 KB; the whole entry (fromBrokerToken and the Amplify adapter too) under 2.2 KB.
  void it('fromBroker alone is at most 2 KB minified and gzipped, the whole entry 2.2 KB, without the AWS SDK', async () => {
    const alone = sizes(await bundleClient({ contents: "export { fromBroker } from './index.ts';" }));
    assert.ok(alone.gzipped <= 2048, `fromBroker: ${alone.gzipped} bytes gzipped`);
    const { gzipped } = sizes(await bundleClient());
    assert.ok(gzipped <= 2200, `${gzipped} bytes gzipped`);
  });
});
