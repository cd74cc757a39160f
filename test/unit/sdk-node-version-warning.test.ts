// scripts/drop-sdk-node-version-warning.mjs, the preload of the test runner and of `npm start`: the AWS
// SDK's NodeVersionSupportWarning stays out of the output, every other warning stays in it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PRELOAD = join(root, 'scripts', 'drop-sdk-node-version-warning.mjs');

// Builds a real SDK client as if on Node 20 (the SDK warns below Node 22, and reads process.version
// when a client is built), then emits warnings of other kinds.
const CHILD = `
Object.defineProperty(process, 'version', { value: 'v20.19.0' });
const { CognitoIdentityClient } = await import('@aws-sdk/client-cognito-identity');
new CognitoIdentityClient({ region: 'us-east-1' }).destroy();
process.emitWarning('a plain warning');
process.emitWarning('a typed warning', 'ExampleWarning');
process.emitWarning('a deprecation', { type: 'DeprecationWarning', code: 'DEP_EXAMPLE' });
const err = new Error('an error object');
err.name = 'ExampleErrorWarning';
process.emitWarning(err);
`;

function stderrOf(preload: string[]): string {
  const res = spawnSync(process.execPath, [...preload, '--input-type=module', '-e', CHILD], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(res.status, 0, res.stderr);
  return res.stderr;
}

const OTHERS = [
  'Warning: a plain warning',
  'ExampleWarning: a typed warning',
  '[DEP_EXAMPLE] DeprecationWarning: a deprecation',
  'ExampleErrorWarning: an error object',
];

void test('without the preload the SDK prints its NodeVersionSupportWarning (the case the preload exists for)', () => {
  const stderr = stderrOf([]);
  assert.match(stderr, /NodeVersionSupportWarning: The AWS SDK for JavaScript \(v3\)/);
  for (const w of OTHERS) assert.ok(stderr.includes(w), `${w} in ${stderr}`);
});

void test('the preload drops the SDK’s NodeVersionSupportWarning and keeps every other warning', () => {
  const stderr = stderrOf(['--import', pathToFileURL(PRELOAD).href]);
  assert.doesNotMatch(stderr, /NodeVersionSupportWarning|AWS SDK/);
  for (const w of OTHERS) assert.ok(stderr.includes(w), `${w} in ${stderr}`);
});

void test('the preload drops a warning typed NodeVersionSupportWarning, whatever its text', () => {
  const res = spawnSync(
    process.execPath,
    [
      '--import',
      pathToFileURL(PRELOAD).href,
      '-e',
      "process.emitWarning('upgrade', 'NodeVersionSupportWarning'); process.emitWarning('kept', 'OtherWarning');",
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(res.status, 0);
  assert.doesNotMatch(res.stderr, /upgrade/);
  assert.match(res.stderr, /OtherWarning: kept/);
});

void test('the test runner drops the SDK warning from the test output and keeps other warnings', () => {
  // Without NODE_TEST_CONTEXT, which would make the nested runner skip its files.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const res = spawnSync(process.execPath, [join(root, 'scripts', 'run-tests.mjs'), 'test/fixtures/warnings'], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const output = res.stdout + res.stderr;
  assert.equal(res.status, 0, output);
  assert.match(output, /ExampleWarning: a warning that must stay visible/);
  assert.doesNotMatch(output, /NodeVersionSupportWarning/);
});

void test('npm start preloads it (and never hides warnings with --no-warnings)', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const script of ['start', 'emulator']) {
    assert.match(pkg.scripts[script] ?? '', /^node --import \.\/scripts\/drop-sdk-node-version-warning\.mjs /);
    assert.doesNotMatch(pkg.scripts[script] ?? '', /--no-warnings/);
  }
});
