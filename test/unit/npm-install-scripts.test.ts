// package.json's allowScripts covers every dependency install script, so `npm ci` ends without
// `npm warn install-scripts` (esbuild's postinstall, which checks its platform binary, is approved).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

void test('every installed package with an install script is reviewed in allowScripts', () => {
  const res = spawnSync('npm', ['install-scripts', 'ls'], {
    cwd: root,
    env: { ...process.env, npm_config_update_notifier: 'false' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^No packages with unreviewed install scripts\.$/m, res.stdout);
});
