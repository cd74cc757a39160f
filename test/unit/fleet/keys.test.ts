import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EntryCipher } from '../../../src/fleet/cipher.js';
import { FLEET_FORMAT, FleetKeys } from '../../../src/fleet/keys.js';

void describe('FleetKeys', () => {
  const key = randomBytes(32);
  const keys = new FleetKeys('cib', 'ns12', key);

  void it('starts every key with the prefix, the namespace and the format, then one hash tag', () => {
    assert.equal(keys.base, `cib:ns12:${FLEET_FORMAT}:`);
    const alice = keys.userTag('alice@example.com');
    const all = [
      keys.entry(alice, keys.loadId('token', 'alice@example.com')),
      keys.lease(alice, keys.loadId('credentials', 'id-1')),
      keys.changeState,
      keys.changeLog,
      keys.channel,
      keys.lock('guest:us-east-1:9'),
      keys.operationBucket('GetId'),
      keys.userBucket('alice@example.com'),
      keys.liveSet,
    ];
    for (const k of all) {
      assert.ok(k.startsWith(keys.base), k);
      assert.match(k.slice(keys.base.length), /^\{[^{}]+\}:[^{}]+$/, `one hash tag: ${k}`);
    }
    assert.equal(new Set(all).size, all.length, 'no two parts share a key');
  });

  void it("puts a user's keys in one slot, each user in their own, the feed's keys together", () => {
    const tag = (k: string) => /\{([^}]*)\}/.exec(k)?.[1];
    const a = keys.userTag('alice');
    assert.equal(tag(keys.entry(a, 'token:x')), tag(keys.userBucket('alice')));
    assert.equal(tag(keys.lease(a, 'token:x')), tag(keys.entry(a, 'credentials:y')));
    assert.notEqual(tag(keys.userBucket('alice')), tag(keys.userBucket('bob')));
    assert.equal(tag(keys.changeState), tag(keys.changeLog));
    assert.equal(tag(keys.changeState), tag(keys.channel), 'a sharded channel in the slot of the feed');
    assert.equal(
      tag(keys.operationBucket('GetId')),
      tag(keys.operationBucket('GetId#account')),
      'a cap with its bucket',
    );
    assert.notEqual(tag(keys.operationBucket('GetId')), tag(keys.operationBucket('GetCredentialsForIdentity')));
    assert.equal(keys.ownerTag({ userId: 'alice', identityId: 'id-1' }), a);
    assert.notEqual(keys.ownerTag({ userId: undefined, identityId: 'id-1' }), undefined);
    assert.equal(keys.ownerTag({ userId: undefined, identityId: undefined }), undefined);
  });

  void it('names ids by a keyed hash of one length: never in clear, not a bare hash', () => {
    const id = 'alice@example.com';
    assert.equal(keys.name(id).length, 27);
    assert.equal(keys.name(id), new FleetKeys('x', 'y', key).name(id), 'the same on every instance');
    assert.notEqual(keys.name(id), new FleetKeys('cib', 'ns12', randomBytes(32)).name(id), 'keyed');
    assert.ok(!keys.userBucket(id).includes('alice'));
    assert.ok(!keys.entry(keys.userTag(id), keys.loadId('token', id)).includes('alice'));
    assert.ok(!keys.lock(id).includes('alice'));
  });

  void it('derives the naming key from the key whose id sorts first, whatever the current one', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const before = new EntryCipher({ k1 }, undefined).derive('key names');
    const during = new EntryCipher({ k1, k2 }, 'k2').derive('key names');
    assert.deepEqual(during, before);
    assert.notDeepEqual(new EntryCipher({ k1 }, undefined).derive('other'), before, 'one key per purpose');
    assert.notDeepEqual(before, k1, 'never the sealing key itself');
  });
});
