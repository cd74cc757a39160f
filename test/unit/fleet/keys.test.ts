import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EntryCipher } from '../../../src/fleet/cipher.js';
import { FLEET_FORMAT, FleetKeys } from '../../../src/fleet/keys.js';

void describe('FleetKeys', () => {
  const key = randomBytes(32);
  const keys = new FleetKeys('cib', 'ns12', key);

  void it('starts every key with the prefix, the namespace as hash tag, and the format', () => {
    assert.equal(keys.base, `cib:{ns12}:${FLEET_FORMAT}:`);
    const all = [
      keys.entry(keys.loadId('token', 'alice@example.com')),
      keys.lease(keys.loadId('credentials', 'id-1')),
      keys.userGeneration('alice@example.com'),
      keys.identityGeneration('us-east-1:1234'),
      keys.noGeneration,
      keys.allGeneration,
      keys.changeState,
      keys.changeLog,
      keys.channel,
      keys.lock('guest:us-east-1:9'),
    ];
    for (const k of all) assert.ok(k.startsWith(keys.base), k);
    assert.equal(new Set(all).size, all.length, 'no two parts share a key');
  });

  void it('names ids by a keyed hash of one length: never in clear, not a bare hash', () => {
    const id = 'alice@example.com';
    assert.equal(keys.name(id).length, 27);
    assert.equal(keys.name(id), new FleetKeys('x', 'y', key).name(id), 'the same on every instance');
    assert.notEqual(keys.name(id), new FleetKeys('cib', 'ns12', randomBytes(32)).name(id), 'keyed');
    assert.ok(!keys.userGeneration(id).includes('alice'));
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
