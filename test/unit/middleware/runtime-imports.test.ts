import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const hook = new URL('../../helpers/forbid-express-hook.mjs', import.meta.url).href;
const register = `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(hook)})`;

function importWithoutExpress(modulePath: string): { status: number | null; stderr: string; stdout: string } {
  const file = fileURLToPath(new URL(modulePath, import.meta.url));
  const res = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      register,
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(file)}); console.log(typeof m.cognitoRouter);`,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return { status: res.status, stderr: res.stderr, stdout: res.stdout };
}

void it('the package root and the middleware load neither express nor passport at runtime', () => {
  for (const path of ['../../../src/index.ts', '../../../src/middleware/index.ts']) {
    const res = importWithoutExpress(path);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout.trim(), 'function');
  }
});

void it('the passport subpath does load passport (the hook works)', () => {
  const res = importWithoutExpress('../../../src/middleware/passport/strategy.ts');
  assert.notEqual(res.status, 0);
  assert.match(res.stderr, /loaded passport/);
});
