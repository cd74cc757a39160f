// The classic flow's entries as the fleet's plaintext: encoded and decoded whole, anything else
// refused, and a shared entry served on the reading instance's clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { packCredentials, unpackCredentials } from '../../../src/broker/offheap.js';
import { decodeScoped, encodeScoped, sharedScoped, type ScopedEntry } from '../../../src/broker/scoped-entries.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const NOW = 1_800_000_000_000;
const EXPIRATION = NOW + 900_000;

function entry(): ScopedEntry {
  return Object.freeze({
    userId: 'u-1',
    identityId: 'us-east-1:00000000-0000-0000-0000-000000000001',
    body: packCredentials({
      identityId: 'us-east-1:00000000-0000-0000-0000-000000000001',
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'secret-access-key-example',
      sessionToken: 'session-token-example',
      expiration: EXPIRATION,
    }),
    expiration: EXPIRATION,
    validUntil: EXPIRATION - 300_000,
    refreshAt: EXPIRATION - 400_000,
  });
}

function readingInstance(clockOffsetMs: number, skewGraceSeconds = 300) {
  return {
    options: { clock: new ManualClock(NOW), skewGraceSeconds },
    entries: { clockOffsetMs, refreshPoint: () => 0 },
    log: pino({ enabled: false }),
  };
}

void describe('scoped entries in the fleet', () => {
  void it('decode(encode(e)) is e', () => {
    const e = entry();
    const back = decodeScoped(encodeScoped(e));
    assert.ok(back !== undefined);
    assert.equal(back.userId, e.userId);
    assert.equal(back.identityId, e.identityId);
    assert.deepEqual(unpackCredentials(back.body, back.expiration), unpackCredentials(e.body, e.expiration));
    assert.deepEqual([back.expiration, back.validUntil, back.refreshAt], [e.expiration, e.validUntil, e.refreshAt]);
  });

  void it('refuses what is not an encoded entry', () => {
    for (const text of ['', 'null', '[]', '{}', '{"u":"u","i":"i","b":"b","x":1,"v":1}', 'not json']) {
      assert.equal(decodeScoped(text), undefined, text);
    }
  });

  void it('served on the reading instance clock: its grace and measured offset end it sooner', () => {
    const text = encodeScoped(entry());
    // The same grace, no offset: as stored.
    assert.equal(sharedScoped(readingInstance(0), text)?.validUntil, EXPIRATION - 300_000);
    // Its service clock measured 60 s ahead of ours: ends 60 s sooner, refreshed no later.
    const ahead = sharedScoped(readingInstance(60_000), text);
    assert.ok(ahead !== undefined);
    assert.equal(ahead.validUntil, EXPIRATION - 360_000);
    assert.ok(ahead.refreshAt <= ahead.validUntil);
    // A larger grace on the reading instance.
    assert.equal(sharedScoped(readingInstance(0, 600), text)?.validUntil, EXPIRATION - 600_000);
    assert.equal(sharedScoped(readingInstance(0), 'garbage'), undefined);
  });
});
