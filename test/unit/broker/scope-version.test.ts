// The instrumentation scope's version is the package's: a release that forgets it reports the old one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SCOPE_VERSION } from '../../../src/broker/telemetry.js';

void test("the instrumentation scope's version is package.json's", () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(SCOPE_VERSION, pkg.version);
});
