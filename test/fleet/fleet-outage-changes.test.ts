// Changes made while Redis is out, and Redis going back in time: no instance serves a changed
// identity from the shared tier afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError, type Broker } from '../../src/index.js';
import { fleetSkipReason, skipOnCluster, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = fleetSkipReason();
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const fast = { retryMs: 100, commandTimeoutMs: 200, syncIntervalMs: 100 };

async function eventually(condition: () => boolean | Promise<boolean>, rounds = 250): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('condition not met in time');
}

async function identityOf(broker: Broker, userId: string): Promise<string> {
  return (await broker.getToken(userId)).identityId;
}

/** Waits until `broker`'s tier shares again, poking it with a cached read. */
async function sharing(broker: Broker): Promise<void> {
  await eventually(async () => {
    await broker.getToken('poke');
    return broker.stats().fleet?.state === 'shared';
  });
}

void describe('fleet: changes across an outage, and a Redis that goes back in time', { skip, timeout: 60_000 }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('a merge asked for while Redis is out is refused; made after it, neither instance serves the pre-merge entry', async () => {
    const a = await stack.instance({}, { ...fast, prefix: 'o1' });
    // No periodic check on B: its first command after the outage is the read below.
    const b = await stack.instance({}, { ...fast, syncIntervalMs: 60_000, prefix: 'o1' });
    const destination = await identityOf(a.broker, 'out-dest');
    const source = await identityOf(a.broker, 'out-src');
    // Paused, not restarted: the shared entries survive the outage.
    stack.pauseRedis();
    let refused: unknown;
    try {
      await b.broker.mergeUsers('out-dest', 'out-src').catch((err: unknown) => (refused = err));
    } finally {
      stack.resumeRedis();
    }
    // Not made (the fleet could not have learnt it): see fleet-record-changes.test.ts.
    assert.ok(isBrokerError(refused) && refused.code === 'ERR_FLEET_UNAVAILABLE', String(refused));
    await new Promise((r) => setTimeout(r, 2 * fast.retryMs));
    assert.equal(await identityOf(b.broker, 'out-src'), source);
    await sharing(b.broker);
    await b.broker.mergeUsers('out-dest', 'out-src');
    assert.equal(await identityOf(b.broker, 'out-src'), destination);
    await sharing(a.broker);
    await eventually(async () => (await identityOf(a.broker, 'out-src')) === destination);
  });

  void it('more changes during an outage than are kept: every shared entry is stale after it', async () => {
    const a = await stack.instance({}, { ...fast, prefix: 'o2' });
    const b = await stack.instance({}, { ...fast, prefix: 'o2' });
    await identityOf(a.broker, 'many-1');
    // Redis paused (not restarted): the shared entries survive the outage.
    stack.pauseRedis();
    try {
      // Degrade B first, then more changes than it keeps.
      await identityOf(b.broker, 'degrade-b');
      for (let i = 0; i < 1100; i++) b.broker.forgetUser(`many-${i}`);
    } finally {
      stack.resumeRedis();
    }
    await sharing(b.broker);
    await sharing(a.broker);
    await eventually(() => (a.broker.stats().fleet?.resyncDrops ?? 0) >= 1);
    const calls = stack.calls()[TOKEN] ?? 0;
    await identityOf(a.broker, 'many-1');
    assert.equal(stack.calls()[TOKEN], calls + 1, 'many-1 loaded again from Cognito, not from Redis');
  });

  void it('a change counter that went back (a restore from a snapshot): every instance drops, shared entries are stale', async (t) => {
    if (skipOnCluster(t, "sets the one server's change counter back by hand")) return;
    const a = await stack.instance({}, { ...fast, prefix: 'o3' });
    const b = await stack.instance({}, { ...fast, prefix: 'o3' });
    // A read on each first: its command follows the instance's first look at the change log.
    await Promise.all([identityOf(a.broker, 'rb-warm'), identityOf(b.broker, 'rb-warm')]);
    a.broker.forgetUser('rb-0');
    a.broker.forgetUser('rb-1');
    await identityOf(a.broker, 'rb-2');
    await eventually(() => (b.broker.stats().fleet?.invalidationsApplied ?? 0) >= 2);
    const [stateKey = ''] = await stack.admin.keys('o3:*:changes');
    // As if restored from a snapshot taken before those changes.
    await stack.admin.hSet(stateKey, 'seq', '0');
    await eventually(
      () => (a.broker.stats().fleet?.resyncDrops ?? 0) >= 1 && (b.broker.stats().fleet?.resyncDrops ?? 0) >= 1,
    );
    const calls = stack.calls()[TOKEN] ?? 0;
    await identityOf(b.broker, 'rb-2');
    assert.equal(stack.calls()[TOKEN], calls + 1, 'the shared entry is stale after the rollback');
  });
});
