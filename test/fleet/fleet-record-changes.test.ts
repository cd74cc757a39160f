// A change the fleet cannot learn of is never reported done: with Redis out, an identity-changing
// operation is refused before Cognito is called (ERR_FLEET_UNAVAILABLE, 503, Retry-After), so that
// an instance that then stops (crash or clean close) loses nothing; once done, it is in Redis.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBrokerError } from '../../src/index.js';
import { fleetSkipReason, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = fleetSkipReason();
const UNLINK = 'UnlinkDeveloperIdentity';
const MERGE = 'MergeDeveloperIdentities';
const fast = { commandTimeoutMs: 200, retryMs: 200 };

void describe('fleet: changes while Redis is out', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  for (const stop of ['crash', 'close'] as const) {
    void it(`refused before Cognito is called; nothing lost when the instance then stops (${stop})`, async () => {
      const prefix = `rc-${stop}`;
      const zero = await stack.instance({}, { ...fast, prefix });
      const one = await stack.instance({}, { ...fast, prefix });
      const user = `rc-${stop}@example.com`;
      const identity = (await one.broker.getToken(user)).identityId;
      assert.equal((await zero.broker.getToken(user)).identityId, identity);
      const calls = stack.calls();
      stack.pauseRedis();
      let refused: unknown;
      try {
        await zero.broker.unlinkDeveloperUser(user).catch((err: unknown) => (refused = err));
        await zero.broker.mergeUsers(user, `${user}.other`).catch(() => undefined);
      } finally {
        stack.resumeRedis();
      }
      assert.ok(isBrokerError(refused), `refused: ${String(refused)}`);
      assert.equal(refused.code, 'ERR_FLEET_UNAVAILABLE');
      assert.equal(refused.status, 503);
      assert.ok((refused.retryAfterSeconds ?? 0) >= 1);
      assert.equal(stack.calls()[UNLINK] ?? 0, calls[UNLINK] ?? 0, 'Cognito was not called');
      assert.equal(stack.calls()[MERGE] ?? 0, calls[MERGE] ?? 0);
      if (stop === 'close') await zero.fleet.close();
      else zero.redis.destroy();
      // The others and a fresh instance serve what Cognito holds: the identity, unchanged.
      const fresh = await stack.instance({}, { ...fast, prefix });
      assert.equal((await one.broker.getToken(user)).identityId, identity);
      assert.equal((await fresh.broker.getToken(user)).identityId, identity);
    });
  }

  void it('a change reported done is in Redis: another instance serves it at once', async () => {
    const zero = await stack.instance({}, { prefix: 'rc-done', syncIntervalMs: 60_000 });
    const user = 'rc-done@example.com';
    const before = (await zero.broker.getToken(user)).identityId;
    await zero.broker.unlinkDeveloperUser(user);
    // A fresh instance, right after the call returned: the shared entry is stale already.
    const other = await stack.instance({}, { prefix: 'rc-done' });
    assert.notEqual((await other.broker.getToken(user)).identityId, before);
  });
});
