// Faults of a Redis Cluster under load: three brokers over a 3-master, 3-replica cluster serve many
// users while (a) slots with their keys move to other masters, (b) a master is killed and its replica
// promoted, (c) a master is paused (SIGSTOP) past the node timeout, then resumed. In each: no answer
// carries another user's identity or credentials, no error but ERR_FLEET_UNAVAILABLE (503) on an
// identity change while the tier is degraded, and after the fault every tier shares again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBroker, isBrokerError, type Broker, type BrokerOptions } from '../../src/index.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';
import { DOCUMENTED_QUOTAS } from '../../src/broker/quota/options.js';
import { keySlot, redisCommand, type RedisClusterNode } from '../helpers/redis-cluster.js';
import {
  FLEET_PROVIDER,
  FLEET_REDIS,
  fleetSkipReason,
  startFleetStack,
  type FleetInstance,
  type FleetStack,
} from '../helpers/fleet-stack.js';

const skip =
  FLEET_REDIS === 'cluster'
    ? fleetSkipReason()
    : 'a Redis Cluster: runs under FLEET_REDIS=cluster (test:fleet:cluster)';
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';
const USERS = Array.from({ length: 60 }, (_, i) => `cf-user-${i}@example.com`);
/** Users whose identity the load changes (unlink), one per worker; the others are only read. */
const CHANGERS = USERS.slice(0, 6);
const FAST = { commandTimeoutMs: 300, retryMs: 200, syncIntervalMs: 200 };
/** The quota governed through the fleet's shared buckets, but far above this load: never a refusal. */
const ROOMY: Partial<BrokerOptions> = {
  quota: {
    operations: Object.fromEntries(Object.keys(DOCUMENTED_QUOTAS).map((op) => [op, { rate: 1000, burst: 1000 }])),
    perUser: { callsPerMinute: 10_000 },
    maxWaitMs: 5000,
  },
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually(what: string, condition: () => Promise<boolean>, rounds = 300, pauseMs = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await condition()) return;
    await sleep(pauseMs);
  }
  assert.fail(`${what}: not in time`);
}

/** Who each identity, key id and token was handed to: any second owner is a cross-user answer. */
class Ledger {
  readonly #owner = new Map<string, string>();
  readonly wrong: string[] = [];
  readonly errors: string[] = [];
  answers = 0;
  refused = 0;
  see(user: string, kind: string, value: string): void {
    const owner = this.#owner.get(`${kind}:${value}`);
    if (owner === undefined) this.#owner.set(`${kind}:${value}`, user);
    else if (owner !== user) this.wrong.push(`${kind} of ${owner} handed to ${user}`);
  }
}

/** Many users asked for on random instances, a few unlinked now and then, until `stop`. */
function startLoad(instances: readonly FleetInstance[], ledger: Ledger): { stop(): Promise<void> } {
  let running = true;
  const worker = async (w: number): Promise<void> => {
    for (let n = 0; running; n++) {
      // Every 120th request of a worker unlinks its own changer (never two unlinks of one user at once),
      // about once a second. At four a second, reads of that user on the other instances failed now and
      // then with ERR_COGNITO_UNAVAILABLE (each change dropped their load again): not covered here.
      const change = n % 120 === 119;
      const user = change ? CHANGERS[w]! : USERS[(w * 7 + n * 13) % USERS.length]!;
      const broker: Broker = instances[(w + n) % instances.length]!.broker;
      try {
        if (change) {
          await broker.unlinkDeveloperUser(user);
        } else if (n % 3 === 0) {
          const t = await broker.getToken(user);
          ledger.see(user, 'identity', t.identityId);
          ledger.see(user, 'token', t.token);
        } else {
          const c = await broker.getCredentials(user);
          ledger.see(user, 'identity', c.identityId);
          ledger.see(user, 'key', c.accessKeyId);
          ledger.see(user, 'secret', c.secretAccessKey);
          ledger.see(c.identityId, 'key-of-identity', c.accessKeyId);
        }
        ledger.answers++;
      } catch (err) {
        // The one error a broker gives for Redis: an identity change refused while degraded.
        if (change && isBrokerError(err) && err.code === 'ERR_FLEET_UNAVAILABLE' && err.status === 503)
          ledger.refused++;
        else ledger.errors.push(`${change ? 'unlink' : 'read'} of ${user}: ${String(err)}`);
      }
      await sleep(5);
    }
  };
  const workers = CHANGERS.map((_, w) => worker(w));
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

void describe('fleet on a Redis Cluster: faults under load', { skip, timeout: 240_000 }, () => {
  let stack: FleetStack;
  let instances: FleetInstance[];
  let fresh = 0;

  before(async () => {
    stack = await startFleetStack();
    instances = [
      await stack.instance(ROOMY, FAST),
      await stack.instance(ROOMY, FAST),
      await stack.instance(ROOMY, FAST),
    ];
    // Every user loaded once, so the load reads shared entries from the start.
    await Promise.all(USERS.map((u, i) => instances[i % 3]!.broker.getCredentials(u)));
  });
  after(async () => {
    await stack.stop();
  });

  /** The masters now (nodes that say so). */
  async function masters(): Promise<RedisClusterNode[]> {
    const roles = await Promise.all(
      stack.cluster.nodes.map(async (n) => {
        const role = await redisCommand(n.port, ['ROLE'], 1000).catch(() => undefined);
        return Array.isArray(role) && role[0] === 'master' ? n : undefined;
      }),
    );
    return roles.filter((n): n is RedisClusterNode => n !== undefined);
  }

  /** Runs `fault` under the load, then checks the answers, that every tier shares again, and sharing. */
  async function underLoad(fault: () => Promise<void>): Promise<Ledger> {
    const ledger = new Ledger();
    const load = startLoad(instances, ledger);
    try {
      await sleep(500);
      await fault();
      await sleep(500);
    } finally {
      await load.stop();
    }
    assert.deepEqual(ledger.wrong, [], 'no answer carries another user’s identity or credentials');
    assert.deepEqual(ledger.errors, [], 'no error but a refused identity change');
    assert.ok(ledger.answers > 50, `the load ran (${ledger.answers} answers)`);
    // Shared again, and sharing: a new user asked for on the three instances at once is loaded once
    // (a new user each round, so that every round reaches Redis; a cluster client may take a few
    // seconds to learn the new topology, the tier working alone meanwhile).
    await eventually(
      'every tier shared again, one load fleet-wide',
      async () => {
        const user = `cf-fresh-${fresh++}@example.com`;
        const calls = stack.calls();
        const got = await Promise.all(instances.map((i) => i.broker.getCredentials(user)));
        return (
          new Set(got.map((c) => c.accessKeyId)).size === 1 &&
          (stack.calls()[TOKEN] ?? 0) - (calls[TOKEN] ?? 0) === 1 &&
          (stack.calls()[CREDS] ?? 0) - (calls[CREDS] ?? 0) === 1 &&
          instances.every((i) => i.broker.stats().fleet?.state === 'shared')
        );
      },
      60,
      250,
    );
    // No stale identity after the fault: each changed user's identity on every instance is the one
    // Cognito has now (read by a broker with no cache and no fleet), once the changes have gone round.
    const sdk = emulatorClient(stack.emu);
    try {
      const truth = createBroker({ identityPoolId: stack.poolId, developerProviderName: FLEET_PROVIDER, client: sdk });
      for (const user of CHANGERS) {
        const now = (await truth.getToken(user)).identityId;
        await eventually(`${user}'s identity on every instance`, async () => {
          const ids = await Promise.all(instances.map(async (i) => (await i.broker.getToken(user)).identityId));
          return ids.every((id) => id === now);
        });
      }
    } finally {
      sdk.destroy();
    }
    return ledger;
  }

  void it('(a) slots with their keys migrated to other masters while the load runs', async () => {
    const slots = [...new Set((await stack.keys('*')).map(keySlot))];
    assert.ok(slots.length > 20, `the users' keys spread over slots (${slots.length})`);
    await underLoad(async () => {
      const all = await masters();
      // Each slot in use to the next master; the feed's slot among them.
      const moves = new Map<RedisClusterNode, number[]>();
      for (const slot of slots) {
        const from = await stack.cluster.masterOf(slot);
        const to = all[(all.indexOf(from) + 1) % all.length]!;
        moves.set(to, [...(moves.get(to) ?? []), slot]);
      }
      for (const [to, moved] of moves) await stack.cluster.migrate(moved, to);
      for (const [to, moved] of moves) for (const slot of moved) assert.equal(await stack.cluster.masterOf(slot), to);
    });
  });

  void it('(b) the master with the most keys killed, its replica promoted', async () => {
    await underLoad(async () => {
      const all = await masters();
      const sizes = await Promise.all(all.map(async (m) => (await redisCommand(m.port, ['DBSIZE'])) as number));
      const busiest = all[sizes.indexOf(Math.max(...sizes))]!;
      const promoted = await stack.cluster.failover(busiest);
      assert.notEqual(promoted, busiest);
    });
  });

  void it('(c) a master paused (SIGSTOP) past the node timeout, then resumed', async () => {
    await underLoad(async () => {
      const all = await masters();
      const sizes = await Promise.all(all.map(async (m) => (await redisCommand(m.port, ['DBSIZE'])) as number));
      const busiest = all[sizes.indexOf(Math.max(...sizes))]!;
      busiest.pause();
      try {
        // Past the cluster's node timeout (1 s): the node is failed, its replica (if any) promoted.
        await sleep(3000);
      } finally {
        busiest.resume();
      }
      await eventually('the cluster whole again', async () => {
        for (const n of await masters()) {
          const info = await redisCommand(n.port, ['CLUSTER', 'INFO'], 1000);
          if (typeof info !== 'string' || !info.includes('cluster_state:ok')) return false;
        }
        return true;
      });
    });
  });
});
