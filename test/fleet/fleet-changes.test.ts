// Changes made on one instance (merge, link, forgetUser, guest upgrade) reach the others: by message,
// or by the periodic check when the message was lost.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError, type Broker } from '../../src/index.js';
import { EntryCipher } from '../../src/fleet/cipher.js';
import { INVALIDATE } from '../../src/fleet/scripts.js';
import { FLEET_KEY, fleetSkipReason, skipOnCluster, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = fleetSkipReason();

/** Resolves once `condition()` holds, checking every 20 ms, at most `rounds` times. */
async function eventually(condition: () => boolean | Promise<boolean>, rounds = 150): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('condition not met in time');
}

async function identityOf(broker: Broker, userId: string): Promise<string> {
  return (await broker.getToken(userId)).identityId;
}

void describe('fleet: changes on one instance reach the others', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('after a merge on instance A, instance B serves the merged identity (message)', async () => {
    const a = await stack.instance();
    const b = await stack.instance();
    const destination = await identityOf(b.broker, 'merge-dest');
    const source = await identityOf(b.broker, 'merge-src');
    assert.notEqual(source, destination);
    await a.broker.mergeUsers('merge-dest', 'merge-src');
    await eventually(() => (b.broker.stats().fleet?.invalidationsApplied ?? 0) >= 1);
    assert.equal(await identityOf(b.broker, 'merge-src'), destination);
    // B's credentials follow too: keyed by the destination identity.
    assert.equal((await b.broker.getCredentials('merge-src')).identityId, destination);
  });

  void it('a shared entry loaded before a change is not served after it', async () => {
    const a = await stack.instance();
    const b = await stack.instance();
    const c = await stack.instance();
    const destination = await identityOf(a.broker, 'stale-dest');
    // A loads the source user into the shared tier; C never saw it.
    await identityOf(a.broker, 'stale-src');
    await b.broker.mergeUsers('stale-dest', 'stale-src');
    // C's first load of the source must not take A's pre-merge entry from Redis.
    assert.equal(await identityOf(c.broker, 'stale-src'), destination);
  });

  void it('a change whose message was lost is applied by the periodic check', async (t) => {
    if (skipOnCluster(t, 'writes a change record into the log by hand')) return;
    const a = await stack.instance({}, { syncIntervalMs: 100 });
    const b = await stack.instance({}, { syncIntervalMs: 100 });
    a.broker.forgetUser('warm');
    await identityOf(b.broker, 'lost-1');
    await identityOf(b.broker, 'lost-0');
    const held = b.broker.stats().tokens.size;
    // A change on A creates the change log; find its keys.
    a.broker.forgetUser('lost-0');
    await eventually(async () => (await stack.admin.keys('cib:*:changes')).length === 1);
    const [stateKey = ''] = await stack.admin.keys('cib:*:changes');
    // B has read the log up to that change (changes are applied in order).
    await eventually(() => b.broker.stats().tokens.size < held);
    const applied = b.broker.stats().fleet?.invalidationsApplied ?? 0;
    const misses = b.broker.stats().tokens.misses;
    // The same change as forgetUser('lost-1') on another instance, published where nobody listens.
    // A change record as another instance seals it (the fleet's key, the namespace's additional data).
    const base = stateKey.slice(0, stateKey.indexOf('{'));
    const cipher = new EntryCipher({ k1: FLEET_KEY }, undefined);
    // Sealed for the epoch and number it gets.
    const epoch = (await stack.admin.hGet(stateKey, 'epoch')) ?? '';
    const next = String(Number((await stack.admin.hGet(stateKey, 'seq')) ?? '0') + 1);
    const record = cipher.seal(
      `${base}|change|${epoch}|${next}`,
      JSON.stringify({ n: 'other-instance', u: ['lost-1'], i: [] }),
    );
    const reply = await stack.admin.eval(INVALIDATE.source, {
      keys: [stateKey, `${stateKey}:log`],
      arguments: ['epoch', record, 'nowhere', '', epoch, next],
    });
    assert.deepEqual(reply, ['ok', epoch, next]);
    await eventually(() => (b.broker.stats().fleet?.invalidationsApplied ?? 0) > applied);
    await identityOf(b.broker, 'lost-1');
    assert.equal(b.broker.stats().tokens.misses, misses + 1, 'B dropped its entry and read it again');
  });

  void it('one guest upgraded by two users on two instances at once: exactly one wins', async () => {
    const a = await stack.instance();
    const b = await stack.instance();
    for (let round = 0; round < 5; round++) {
      const guest = (await a.broker.getGuestCredentials()).identityId;
      const outcomes = await Promise.allSettled([
        a.broker.upgradeGuest(`race-a-${round}`, guest),
        b.broker.upgradeGuest(`race-b-${round}`, guest),
      ]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(outcomes.map((o) => o.status))}`);
      const lost = outcomes.find((o) => o.status === 'rejected');
      assert.ok(lost !== undefined && isBrokerError(lost.reason) && lost.reason.code === 'ERR_CONFLICT');
      const users = await a.broker.lookupUsers(guest);
      assert.equal(users.userIds.length, 1);
    }
  });
});
