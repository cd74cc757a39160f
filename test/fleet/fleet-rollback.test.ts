// A feed that goes back in time (its master failed over to a replica that lacked the last changes,
// or a restore) must never give a number twice in one epoch: a change numbered again would be taken
// for one the instances already hold, and never applied.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redisSkipReason } from '../helpers/redis-server.js';
import { startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = redisSkipReason();

async function eventually(condition: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`${what} not met in time`);
}

void describe('fleet: a change log that went back', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('a change after the counter went back is applied everywhere (the epoch is renewed)', async () => {
    // No periodic check: the wake-ups alone drive the reads (a check between the rollback and the next
    // change would find the counter behind, and renew the epoch by itself).
    const fast = { prefix: 'rb', syncIntervalMs: 60_000, commandTimeoutMs: 5000 };
    const x = await stack.instance({}, fast);
    const y = await stack.instance({}, fast);
    for (let n = 0; n < 5; n++) await y.broker.unlinkDeveloperUser(`rb-dummy-${n}`).catch(() => undefined);
    const alice = 'rb-alice@example.com';
    const old = (await x.broker.getToken(alice)).identityId;
    assert.equal((await y.broker.getToken(alice)).identityId, old);
    const [state = ''] = await stack.admin.keys('rb:*:changes');
    const seq = Number(await stack.admin.hGet(state, 'seq'));
    await eventually(() => (x.broker.stats().fleet?.invalidationsApplied ?? 0) >= 5, 'x read every change');
    // The promoted replica lacked the last two changes.
    await stack.admin.hSet(state, 'seq', String(seq - 2));
    await stack.admin.lPop(`${state}:log`);
    await stack.admin.lPop(`${state}:log`);
    // Y changes alice, then two more changes bring the counter past what X had read.
    await y.broker.unlinkDeveloperUser(alice);
    await y.broker.unlinkDeveloperUser('rb-other-1').catch(() => undefined);
    await y.broker.unlinkDeveloperUser('rb-other-2').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.notEqual((await y.broker.getToken(alice)).identityId, old, 'the maker serves the old identity');
    assert.notEqual((await x.broker.getToken(alice)).identityId, old, 'x never applied the change');
  });
});
