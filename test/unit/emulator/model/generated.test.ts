import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL } from '../../../../src/emulator/model/model.js';
import { OPERATION_NAMES } from '../../../../src/emulator/model/shapes.js';
import { STS_MODEL } from '../../../../src/emulator/model/sts-model.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const GENERATED = ['model.ts', 'shapes.ts', 'sts-model.ts'];

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

void test('the STS model is read from the committed STS service model, with its sensitive members', () => {
  const official = JSON.parse(readFileSync(join(root, 'model', 'sts-2011-06-15.service-2.json'), 'utf8')) as {
    metadata: { apiVersion: string; protocol: string };
  };
  assert.equal(STS_MODEL.apiVersion, official.metadata.apiVersion);
  assert.equal(official.metadata.protocol, 'query');
  assert.deepEqual(Object.keys(STS_MODEL.operations), ['AssumeRoleWithWebIdentity', 'GetCallerIdentity']);
  assert.equal(STS_MODEL.shapes.clientTokenType?.sensitive, true);
  assert.deepEqual([STS_MODEL.shapes.roleDurationSecondsType?.min, STS_MODEL.shapes.roleDurationSecondsType?.max], [900, 43200]);
});
