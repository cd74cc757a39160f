// The README's code blocks marked `<!-- readme-example: PATH -->` are the files at PATH, byte for
// byte: what a reader pastes is what CI runs (test/acceptance/minimal-app.test.ts,
// test/acceptance/testing-examples.test.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** Each marker's path and the body of the first fenced block after it (up to its closing fence). */
function markedBlocks(markdown: string): { path: string; body: string | undefined }[] {
  const out: { path: string; body: string | undefined }[] = [];
  for (const m of markdown.matchAll(/<!-- readme-example: (\S+) -->\n/g)) {
    const rest = markdown.slice(m.index + m[0].length);
    const block = /^\n?```[a-z]*\n([\s\S]*?\n)```\n/.exec(rest);
    out.push({ path: m[1]!, body: block?.[1] });
  }
  return out;
}

void test('the README shows the minimal app, the testing examples and the classic-flow recipes under readme-example markers', () => {
  assert.deepEqual(
    markedBlocks(readme).map((b) => b.path),
    [
      'examples/minimal/app.ts',
      'examples/minimal/app.test.ts',
      'examples/minimal/app.vitest.test.ts',
      'examples/observability/telemetry.ts',
      'examples/classic-flow/uploads.ts',
      'examples/classic-flow/worker.ts',
      'deploy/backend-stack.ts',
      'examples/minimal/fleet.ts',
      'examples/minimal/redis-cluster.ts',
      'examples/testing/emulator-control.test.ts',
    ],
  );
});

void test('each marked README block is its file, byte for byte', () => {
  for (const { path, body } of markedBlocks(readme)) {
    assert.notEqual(body, undefined, `no fenced block right after the marker for ${path}`);
    assert.equal(body, readFileSync(join(root, path), 'utf8'), `README block differs from ${path}`);
  }
});

void test('a changed line in the block is told apart from the file', () => {
  const changed = readme.replace("app.use('/aws', bearer, aws);", "app.use('/aws', aws);");
  assert.notEqual(changed, readme);
  const [block] = markedBlocks(changed);
  assert.notEqual(block?.body, readFileSync(join(root, 'examples/minimal/app.ts'), 'utf8'));
});

void test("the upload recipe's role policy keeps each identity in its own folder by itself", () => {
  const recipe = readme.slice(readme.indexOf('### Recipe: upload to your own S3 prefix'));
  const role = /Its permissions policy[^]*?```json\n([\s\S]*?)```/.exec(recipe)?.[1];
  assert.ok(role !== undefined, 'no permissions policy in the upload recipe');
  const doc = JSON.parse(role) as { Statement: { Resource: string }[] };
  assert.deepEqual(
    doc.Statement.map((s) => s.Resource),
    ['arn:aws:s3:::my-app-uploads/users/${cognito-identity.amazonaws.com:sub}/*'],
  );
});
