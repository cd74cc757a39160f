// A change of an identity reaches, at once and everywhere, the shared entries of users it does not
// name: B shares A's identity; instance two merges A into C; instance one, which has not read the
// change (no wake-up, a long check interval), is not served B's entry of the old identity.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FleetRedisClient } from '../../src/fleet/index.js';
import { redisSkipReason } from '../helpers/redis-server.js';
import { connectRedis, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = redisSkipReason();

void describe("fleet: a change of an identity reaches its other users' shared entries", { skip }, () => {
  let stack: FleetStack;
  const deafClients: Awaited<ReturnType<typeof connectRedis>>[] = [];
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
    for (const r of deafClients) r.destroy();
  });

  /** A client whose tier never hears a wake-up: it learns changes from the log every minute only. */
  const deafClient = async (): Promise<FleetRedisClient> => {
    const redis = await connectRedis(stack.redisServer.url);
    deafClients.push(redis);
    return {
      get isReady() {
        return redis.isReady;
      },
      evalSha: (sha, options) => redis.evalSha(sha, options),
      eval: (source, options) => redis.eval(source, options),
      on: (event, listener) => redis.on(event, listener),
      duplicate: () => ({
        isReady: true,
        on: () => undefined,
        connect: () => Promise.resolve(),
        subscribe: () => Promise.resolve(),
        destroy: () => undefined,
      }),
    };
  };

  void it('an instance that has not read the merge refuses the moved user’s entry and loads it anew', async () => {
    const healthy = { commandTimeoutMs: 5000 };
    const two = await stack.instance({}, healthy);
    await two.broker.getToken('mb-a');
    // B joins A's identity; B's token (naming it) is stored for the fleet.
    await two.broker.mergeUsers('mb-a', 'mb-b');
    const a = (await two.broker.getToken('mb-b')).identityId;
    const c = (await two.broker.getToken('mb-c')).identityId;
    assert.notEqual(a, c);
    // Instance one reads the log once (at its first load), then hears nothing for a minute.
    const one = await stack.instance({}, { ...healthy, client: await deafClient(), syncIntervalMs: 60_000 });
    await one.broker.getToken('mb-warm');
    const applied = one.broker.stats().fleet?.invalidationsApplied ?? 0;
    // A (and so B) moves to C: the change names A and C, the users mb-c and mb-a; not mb-b.
    await two.broker.mergeUsers('mb-c', 'mb-a');
    assert.equal((await one.broker.getToken('mb-b')).identityId, c, 'one was served B of the pre-merge identity');
    assert.ok((one.broker.stats().fleet?.invalidationsApplied ?? 0) > applied, 'and it read the change then');
  });
});
