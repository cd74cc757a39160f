// The bench's connection to the fleet's Redis (bench/lib/fleet-redis.ts), on the suite's kind of
// Redis: the connection it times a PING on for a user is the one to the node that holds that user's
// shared entries, so that the L2-hit figure compares a hit with a round trip to the same node.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectFleetRedis, type FleetRedisConfig } from '../../bench/lib/fleet-redis.js';
import { FLEET_KEY, fleetSkipReason, startFleetStack, type FleetStack } from '../helpers/fleet-stack.js';

const skip = fleetSkipReason();

void describe('bench: the connection a user’s PING is timed on', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('is the one to the node holding the user’s entries', async () => {
    const instance = await stack.instance();
    const users = ['bench-a', 'bench-b', 'bench-c', 'bench-d'];
    const config: FleetRedisConfig =
      stack.mode === 'cluster'
        ? { kind: 'cluster', rootNodes: stack.cluster.rootNodes.map((n) => n.url) }
        : { kind: 'single', url: stack.redisServer.url };
    const conn = await connectFleetRedis(config, { k1: FLEET_KEY });
    try {
      let before = new Set(await stack.keys('*{u*'));
      for (const user of users) {
        await instance.broker.getCredentials(user);
        await stack.pingAll();
        // The keys of the user's slot (tag `{u…}`) this load added, on every master.
        const now = await stack.keys('*{u*');
        const added = now.filter((k) => !before.has(k)).sort();
        before = new Set(now);
        assert.ok(
          added.some((k) => k.includes(':e:token:')),
          `${user}: the token entry is in Redis`,
        );
        const node = await conn.connectionFor(user);
        assert.equal(await node.ping(), 'PONG');
        const held = new Set(await node.keys('*{u*'));
        assert.deepEqual(
          added.filter((k) => !held.has(k)),
          [],
          `${user}: every key the load added is on the node the PING goes to`,
        );
      }
    } finally {
      conn.destroy();
    }
  });
});
