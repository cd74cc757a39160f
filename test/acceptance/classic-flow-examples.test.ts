// The README's classic-flow recipes (examples/classic-flow/) run as a user runs them: `node --test`
// in its own process, against the emulator that startTestBroker starts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dropWarning = pathToFileURL(join(root, 'scripts', 'drop-sdk-node-version-warning.mjs')).href;

void test('the classic-flow recipes pass (examples/classic-flow/classic-flow.test.ts)', async () => {
  // No NODE_TEST_CONTEXT: the child is a test run of its own, not a subtest of this one.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_TEST_CONTEXT'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'examples/classic-flow/classic-flow.test.ts'],
    {
      cwd: root,
      env: { ...env, NO_COLOR: '1', NODE_OPTIONS: `--import=${dropWarning}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0, output);
  assert.match(output, /^# pass 2$/m);
  assert.match(output, /^# fail 0$/m);
});
