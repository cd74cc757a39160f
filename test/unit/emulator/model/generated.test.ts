import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL } from '../../../../src/emulator/model/model.js';
import { OPERATION_NAMES } from '../../../../src/emulator/model/shapes.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const GENERATED = ['model.ts', 'shapes.ts'];

void test('the generated model files equal a fresh run of npm run gen:model over model/', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'gen-model-'));
  t.after(() => {
    rmSync(out, { recursive: true, force: true });
  });
  execFileSync(process.execPath, [join(root, 'scripts', 'gen-model.mjs'), '--out', out], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  for (const file of GENERATED) {
    const fresh = readFileSync(join(out, file), 'utf8');
    const committed = readFileSync(join(root, 'src', 'emulator', 'model', file), 'utf8');
    assert.equal(committed, fresh, `src/emulator/model/${file} is stale: run npm run gen:model`);
  }
});

void test('the generated model is read from the committed service model in model/', () => {
  const official = JSON.parse(
    readFileSync(join(root, 'model', 'cognito-identity-2014-06-30.service-2.json'), 'utf8'),
  ) as { operations: Record<string, unknown>; metadata: { targetPrefix: string } };
  assert.equal(MODEL.targetPrefix, official.metadata.targetPrefix);
  assert.deepEqual(Object.keys(MODEL.operations).sort(), Object.keys(official.operations).sort());
  assert.deepEqual([...OPERATION_NAMES], Object.keys(official.operations).sort());
  assert.equal(OPERATION_NAMES.length, 23);
});
