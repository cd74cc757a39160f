// Errors that retrying cannot fix, reported as what they are (issue 21): a Redis user the ACL
// refuses the tier's commands, a single-node client given a Redis Cluster node. Each shows at start
// (one error line, no broker call needed) and in stats().fleet.problem while the broker works per
// process; a fixed ACL clears it at the next probe. stats().fleet.redis says which client it got.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBroker, type Broker } from '../../src/index.js';
import { redisFleet, type BrokerFleet } from '../../src/fleet/index.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';
import { logSink, type LogLine, type LogSink } from '../helpers/log-sink.js';
import { redisSkipReason, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import {
  keySlot,
  redisClusterSkipReason,
  redisCommand,
  startRedisCluster,
  type RedisCluster,
} from '../helpers/redis-cluster.js';
import {
  asFleetClient,
  connectCluster,
  connectRedis,
  FLEET_KEY,
  FLEET_PROVIDER,
  FLEET_REDIS,
  type FleetConnection,
  type RedisClient,
} from '../helpers/fleet-stack.js';

const REFUSED = 'fleet: Redis refuses the tier; working per process until fixed';
/** The file starts a server and a cluster itself: it runs in `test:fleet`, not again in `test:fleet:cluster`. */
const ONCE = FLEET_REDIS === 'cluster' ? 'runs once, under FLEET_REDIS=single (starts both kinds itself)' : undefined;
/** Short, so that a probe follows a fix soon (the waits below are bounded by tries, not asserted). */
const FAST = { retryMs: 100, syncIntervalMs: 100 };

/** The error lines that name a problem. */
function refusals(logs: LogSink): LogLine[] {
  return logs.withMsg(REFUSED);
}

/** Waits (bounded: about 20 s on a loaded machine) until `condition` holds; fails with `what` if it never does. */
async function eventually(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`never: ${what}`);
}

/** Stops everything a test made, last first. */
class Cleanup {
  readonly #steps: (() => Promise<void> | void)[] = [];
  add(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Best effort: the next step still runs.
      }
    }
  }
}

interface Instance {
  readonly broker: Broker;
  readonly fleet: BrokerFleet;
  readonly logs: LogSink;
}

/** A broker over `client` with its own SDK client and log; `cleanup` stops them and destroys `client`. */
function instance(emu: RunningEmulator, client: FleetConnection, cleanup: Cleanup, prefix: string): Instance {
  const logs = logSink();
  const fleet = redisFleet({ client: asFleetClient(client), encryptionKeys: { k1: FLEET_KEY }, prefix, ...FAST });
  const sdk = emulatorClient(emu);
  cleanup.add(() => {
    client.destroy();
  });
  cleanup.add(() => {
    sdk.destroy();
  });
  cleanup.add(() => fleet.close());
  const broker = createBroker({
    identityPoolId: emu.pools[0]?.identityPoolId ?? '',
    developerProviderName: FLEET_PROVIDER,
    client: sdk,
    fleet,
    logger: logs.logger,
  });
  return { broker, fleet, logs };
}

async function startEmu(): Promise<RunningEmulator> {
  return startEmulator({
    seed: [{ name: 'fleet', developerProviderName: FLEET_PROVIDER, allowUnauthenticatedIdentities: true }],
  });
}

void describe('fleet problems: one redis-server', { skip: ONCE ?? redisSkipReason(), timeout: 120_000 }, () => {
  let server: RedisServer;
  let emu: RunningEmulator;
  let admin: RedisClient;
  const cleanup = new Cleanup();

  before(async () => {
    server = await startRedisServer();
    emu = await startEmu();
    admin = await connectRedis(server.url);
  });
  after(async () => {
    await cleanup.run();
    admin.destroy();
    await emu.stop();
    await server.stop();
  });

  /** A connected client logged in as `user`. */
  function connectAs(user: string): Promise<RedisClient> {
    return connectRedis(server.url.replace('redis://', `redis://${user}:pw@`));
  }

  void it("createClient: stats().fleet.redis is 'single', no problem", async () => {
    const client = await connectRedis(server.url);
    const a = instance(emu, client, cleanup, 'ok1');
    await a.broker.getCredentials('single-ok@example.com');
    const fleet = a.broker.stats().fleet;
    assert.equal(fleet?.redis, 'single');
    assert.equal(fleet.state, 'shared');
    assert.equal(fleet.problem, undefined);
    assert.equal(refusals(a.logs).length, 0);
  });

  void it('a user the ACL refuses EVALSHA and EVAL: NOPERM at start, per-process service, cleared once allowed', async () => {
    await admin.sendCommand(['ACL', 'SETUSER', 'limited', 'on', '>pw', '~*', '&*', '+@all', '-evalsha', '-eval']);
    const client = await connectAs('limited');
    const a = instance(emu, client, cleanup, 'np1');
    // At start: the tier's first read of the change log is refused; no broker call made.
    await eventually('an error line naming the problem', () => refusals(a.logs).length > 0);
    const line = refusals(a.logs)[0];
    assert.equal(line?.level, 50, 'an error line');
    assert.equal(line.problem, 'NOPERM');
    assert.match(String(line.hint), /ACL/);
    let fleet = a.broker.stats().fleet;
    assert.equal(fleet?.problem, 'NOPERM');
    assert.equal(fleet.state, 'degraded');
    assert.equal(fleet.redis, 'single');

    // The broker serves per process meanwhile: one Cognito load, then its own cache.
    const before = emu.counters().GetCredentialsForIdentity ?? 0;
    const first = await a.broker.getCredentials('np-user@example.com');
    const again = await a.broker.getCredentials('np-user@example.com');
    assert.equal(again.identityId, first.identityId);
    assert.equal((emu.counters().GetCredentialsForIdentity ?? 0) - before, 1);
    assert.equal(a.broker.stats().fleet?.problem, 'NOPERM');
    // Said once for the kind, however many probes were refused meanwhile.
    assert.equal(refusals(a.logs).length, 1);

    await admin.sendCommand(['ACL', 'SETUSER', 'limited', '+evalsha', '+eval']);
    await eventually('the problem cleared and the tier shared again', () => {
      const f = a.broker.stats().fleet;
      return f !== undefined && f.problem === undefined && f.state === 'shared';
    });
    assert.equal(a.logs.withMsg('fleet: Redis answers again; sharing resumed').length, 1);
    fleet = a.broker.stats().fleet;
    assert.equal(fleet?.sharedLoads, 0, 'nothing shared while refused');
    // Shared again: a user loaded now is loaded for the fleet (its token and credentials stored in Redis).
    await a.broker.getCredentials('np-after@example.com');
    assert.equal(a.broker.stats().fleet?.sharedLoads, 2);
    assert.equal(a.broker.stats().fleet?.problem, undefined);
    assert.equal(refusals(a.logs).length, 1);
  });

  void it('a user the ACL gives no channel (Redis 7 default): the first load names NOPERM, not an outage', async () => {
    // No `&*`: Redis 7 makes a new ACL user with no channel (acl-pubsub-default resetchannels), so the
    // wake-up a load's store publishes is refused inside the script.
    await admin.sendCommand(['ACL', 'SETUSER', 'nochannel', 'on', '>pw', '~*', '+@all']);
    const client = await connectAs('nochannel');
    const a = instance(emu, client, cleanup, 'np2');
    const got = await a.broker.getCredentials('np-channel@example.com');
    assert.ok(got.identityId.length > 0);
    const fleet = a.broker.stats().fleet;
    assert.equal(fleet?.problem, 'NOPERM');
    assert.equal(fleet.state, 'degraded');
    const lines = refusals(a.logs);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.problem, 'NOPERM');
  });
});

void describe('fleet problems: a Redis Cluster', { skip: ONCE ?? redisClusterSkipReason(), timeout: 180_000 }, () => {
  let cluster: RedisCluster;
  let emu: RunningEmulator;
  const cleanup = new Cleanup();

  before(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 0 });
    emu = await startEmu();
  });
  after(async () => {
    await cleanup.run();
    await emu.stop();
    await cluster.stop();
  });

  /** The masters, read off the cluster (the launcher lists masters first). */
  function masters(): RedisCluster['nodes'] {
    return cluster.nodes.slice(0, 3);
  }

  /**
   * The change feed's state key as the first test's cluster instance made it at start: its slot is
   * the feed's for every prefix (same namespace; the prefix is outside the hash tag).
   */
  async function feedKey(): Promise<string> {
    for (const node of masters()) {
      const [found] = (await redisCommand(node.port, ['KEYS', 'cl1:*:changes'])) as string[];
      if (found !== undefined) return found;
    }
    return assert.fail('the cluster instance made no feed state');
  }

  void it("createCluster: stats().fleet.redis is 'cluster', no problem", async () => {
    const client = await connectCluster(cluster);
    const a = instance(emu, client, cleanup, 'cl1');
    await a.broker.getCredentials('cluster-ok@example.com');
    const fleet = a.broker.stats().fleet;
    assert.equal(fleet?.redis, 'cluster');
    assert.equal(fleet.state, 'shared');
    assert.equal(fleet.problem, undefined);
    assert.equal(refusals(a.logs).length, 0);
  });

  void it('createClient on one node of a cluster: MOVED at start, per-process service', async () => {
    // A single-node client on a master without the change feed's slot is redirected by its first
    // read of the log.
    const feedMaster = await cluster.masterOf(keySlot(await feedKey()));
    const other = masters().find((n) => n.port !== feedMaster.port);
    assert.ok(other !== undefined);
    const client = await connectRedis(other.url);
    const a = instance(emu, client, cleanup, 'mv1');
    await eventually('an error line naming the problem', () => refusals(a.logs).length > 0);
    const line = refusals(a.logs)[0];
    assert.equal(line?.level, 50, 'an error line');
    assert.equal(line.problem, 'MOVED');
    assert.match(String(line.hint), /createCluster/);
    const fleet = a.broker.stats().fleet;
    assert.equal(fleet?.problem, 'MOVED');
    assert.equal(fleet.state, 'degraded');
    assert.equal(fleet.redis, 'single');
    const got = await a.broker.getCredentials('moved-user@example.com');
    assert.equal((await a.broker.getCredentials('moved-user@example.com')).identityId, got.identityId);
  });

  void it('createClient on the node holding the change feed: MOVED for the users of other nodes, said once', async () => {
    // The feed's own reads succeed (its slot is here), so each probe clears the problem and the next
    // user of another node meets it again: one error line, not one per round.
    const feedMaster = await cluster.masterOf(keySlot(await feedKey()));
    const client = await connectRedis(feedMaster.url);
    const a = instance(emu, client, cleanup, 'mv2');
    for (let i = 0; i < 60 && (a.broker.stats().fleet?.degradations ?? 0) < 3; i++) {
      await a.broker.getCredentials(`moved-${i}@example.com`);
      await eventually(
        'a probe succeeded (the feed is on this node)',
        () => a.broker.stats().fleet?.state === 'shared',
      );
    }
    const fleet = a.broker.stats().fleet;
    assert.ok((fleet?.degradations ?? 0) >= 3, 'users of other nodes met MOVED in three rounds');
    // Nothing refused is tried again: no clean-up of a lease on another node is sent at each
    // recovery, to be refused with MOVED again and degrade the tier at once (it would then be
    // shared for a round trip in every retryMs). Sampled: the quota heartbeat's key may be on
    // another node too, and degrades the tier for retryMs once a second.
    let shared = 0;
    for (let i = 0; i < 50; i++) {
      if (a.broker.stats().fleet?.state === 'shared') shared += 1;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(shared >= 25, `shared at ${String(shared)} of 50 looks`);
    const lines = refusals(a.logs);
    assert.equal(lines.length, 1, 'said once');
    assert.equal(lines[0]?.problem, 'MOVED');
  });
});
