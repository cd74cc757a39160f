// The README's testing examples (examples/minimal/app.test.ts and app.vitest.test.ts, which test the
// README's app itself) run as a user runs them: the node:test one with
// `node --test`, the vitest one with `vitest run` and its own config, each in its own process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dropWarning = pathToFileURL(join(root, 'scripts', 'drop-sdk-node-version-warning.mjs')).href;

/** Runs `node ...args` in the repository; resolves with its exit code and output. Killed after 120 s. */
function run(args: string[]): Promise<{ code: number | null; output: string }> {
  // No NODE_TEST_CONTEXT: the child is a test run of its own, not a subtest of this one.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_TEST_CONTEXT'));
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...env, NO_COLOR: '1', NODE_OPTIONS: `--import=${dropWarning}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

void test('the node:test example passes and exits (examples/minimal/app.test.ts)', async () => {
  const { code, output } = await run([
    '--import',
    'tsx',
    '--test',
    '--test-reporter=tap',
    'examples/minimal/app.test.ts',
  ]);
  assert.equal(code, 0, output);
  assert.match(output, /^# pass 2$/m);
  assert.match(output, /^# fail 0$/m);
  assert.doesNotMatch(output, /NodeVersionSupportWarning/);
});

void test('the vitest example passes (examples/minimal/app.vitest.test.ts, its own config)', async () => {
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const { code, output } = await run([vitest, 'run', '--config', 'examples/minimal/vitest.config.ts']);
  assert.equal(code, 0, output);
  assert.match(output, /Tests\s+2 passed \(2\)/);
  assert.doesNotMatch(output, /NodeVersionSupportWarning/);
});

void test('the control endpoint example passes (examples/testing/emulator-control.test.ts)', async () => {
  const { code, output } = await run([
    '--import',
    'tsx',
    '--test',
    '--test-reporter=tap',
    'examples/testing/emulator-control.test.ts',
  ]);
  assert.equal(code, 0, output);
  assert.match(output, /^# pass 1$/m);
  assert.match(output, /^# fail 0$/m);
});
