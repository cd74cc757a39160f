// The broker keeps cached tokens and credentials outside the JS heap (src/broker/offheap.ts): a heap
// snapshot (often taken to debug memory and handed around) must not contain them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeHeapSnapshot } from 'node:v8';
import {
  credentialsBody,
  packCredentials,
  packString,
  unpackCredentials,
  unpackString,
} from '../../../src/broker/offheap.js';
import type { IdentityCredentials } from '../../../src/index.js';
import { credentialsBody as routeCredentialsBody } from '../../../src/middleware/routes/credentials.js';
import { brokerFixture } from '../../helpers/broker-fixture.js';

void it('keeps cached tokens, secret keys and session tokens out of heap snapshots', async () => {
  const { broker, fake } = brokerFixture();
  await broker.getCredentials('alice');
  // Kept as bytes (outside the heap), so that the test itself does not put them in the snapshot.
  const cached = fake.secrets.map((s) => Buffer.from(s));
  assert.equal(cached.length, 4, 'token nonce, token, secret key, session token');
  fake.secrets.length = 0;
  fake.calls.length = 0;
  // A control: secrets the test holds as strings are found, so the search below can find them.
  const held = await broker.getCredentials('bob');
  const heldNeedles = [held.secretAccessKey, held.sessionToken].map((s) => Buffer.from(s));
  fake.secrets.length = 0;
  fake.calls.length = 0;

  const dir = mkdtempSync(join(tmpdir(), 'broker-heap-'));
  try {
    const snapshot = readFileSync(writeHeapSnapshot(join(dir, 'broker.heapsnapshot')));
    for (const needle of heldNeedles)
      assert.notEqual(snapshot.indexOf(needle), -1, 'control: a held secret is in the snapshot');
    for (const needle of cached)
      assert.equal(snapshot.indexOf(needle), -1, `a cached secret (${String(needle.length)} bytes) is in the heap`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(broker.stats().credentials.size, 2, 'both users are still cached');
  assert.ok(held.expiration > 0);
});

void describe('packed secrets', () => {
  void it('round-trip any string, also non-ASCII and characters JSON escapes', () => {
    const odd = 'a"b\\c\u0000d\u00e9\u4e2d\u{1f600}\n';
    assert.equal(unpackString(packString(odd)), odd);
    assert.equal(packString(odd).byteLength, Buffer.byteLength(odd));
    const c: IdentityCredentials = {
      identityId: 'us-east-1:1',
      accessKeyId: `AK${odd}`,
      secretAccessKey: odd,
      sessionToken: odd.repeat(100),
      expiration: 1_700_000_000_123,
    };
    const body = packCredentials(c);
    assert.deepEqual(JSON.parse(Buffer.from(body).toString('utf8')), credentialsBody(c));
    assert.deepEqual(unpackCredentials(body, c.expiration), c);
    // The credentials route's slow path sends the same bytes as the fast path.
    assert.equal(Buffer.from(body).toString('utf8'), JSON.stringify(routeCredentialsBody(c)));
  });

  void it('hold each value in an ArrayBuffer of its own and of its size, not a slice of a shared pool', () => {
    const a = packString('x'.repeat(900));
    assert.ok(a instanceof ArrayBuffer);
    assert.equal(a.byteLength, 900);
  });
});
