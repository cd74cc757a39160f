// `npx cognito-identity-emulator` inside a checkout of the repository that has no dist/ (a fresh clone):
// npm links the package's own bin, bin/cognito-identity-emulator.mjs, which runs the TypeScript source.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'emulator-bin-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** A checkout without dist/: package.json and the bin copied, src/ and node_modules/ linked. */
function checkoutWithoutDist(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  copyFileSync(join(root, 'bin', 'cognito-identity-emulator.mjs'), join(dir, 'bin', 'cognito-identity-emulator.mjs'));
  symlinkSync(join(root, 'src'), join(dir, 'src'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

void test('npx cognito-identity-emulator --help works in a checkout that was never built', () => {
  const dir = checkoutWithoutDist('npx');
  const npmCache = join(tmp, 'npm-cache');
  const res = spawnSync('npx', ['--yes', '--offline', 'cognito-identity-emulator', '--help'], {
    cwd: dir,
    // A private npm cache: npx installs the package's own bin links there, nothing from the network.
    env: { ...process.env, npm_config_cache: npmCache, npm_config_update_notifier: 'false' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /^Usage: cognito-identity-emulator/);
  assert.match(res.stdout, /--state-file/);
});

void test('the bin run by node in a checkout without dist/ starts the emulator from the source', () => {
  const dir = checkoutWithoutDist('node');
  const res = spawnSync(process.execPath, [join(dir, 'bin', 'cognito-identity-emulator.mjs'), '--port', 'x'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  // A usage error is the CLI's own answer (exit 2), which proves the TypeScript CLI ran.
  assert.equal(res.status, 2, res.stderr);
  assert.match(res.stderr, /^cognito-identity-emulator: .*port/);
});
