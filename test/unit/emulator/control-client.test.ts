import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmulatorControlClient } from '../../../src/emulator/control-client.js';

// The client against a live control endpoint: test/unit/emulator/http/control.test.ts.
void test('the client refuses a non-URL endpoint', () => {
  assert.throws(() => new EmulatorControlClient('localhost:1234/x y'), TypeError);
  assert.throws(() => new EmulatorControlClient('ftp://127.0.0.1'), TypeError);
});
