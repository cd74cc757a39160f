// The Redis Cluster launcher (scripts/redis-cluster.ts) the cluster runs of the fleet suite stand on:
// a real 3-master, 3-replica cluster of Debian's redis-server, a node-redis cluster client over it,
// a slot moved under the client, a master failed over, and nothing left running after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCluster } from 'redis';
import {
  keySlot,
  redisClusterSkipReason,
  redisCommand,
  startRedisCluster,
  type RedisCluster,
} from '../helpers/redis-cluster.js';

const skip = redisClusterSkipReason();

function newCluster(cluster: RedisCluster) {
  return createCluster({
    rootNodes: [...cluster.rootNodes],
    defaults: { socket: { connectTimeout: 5000, reconnectStrategy: () => 100 } },
  });
}

/** The command lines of every process on the machine. */
function processes(): string[] {
  return spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout.split('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void describe('redis cluster launcher', { skip, timeout: 150_000 }, () => {
  let cluster: RedisCluster;
  let client: ReturnType<typeof newCluster>;
  const keys = Array.from({ length: 300 }, (_, i) => `launcher-key-${i}`);

  before(async () => {
    cluster = await startRedisCluster();
    client = newCluster(cluster);
    client.on('error', () => undefined);
    await client.connect();
  });
  after(async () => {
    client.destroy();
    await cluster.stop();
  });

  void it('starts 3 masters then 3 replicas that share every slot', async () => {
    assert.equal(cluster.nodes.length, 6);
    assert.deepEqual(
      cluster.rootNodes.map((n) => n.url),
      cluster.nodes.map((n) => `redis://127.0.0.1:${n.port}`),
    );
    assert.equal(cluster.seedUrls, cluster.nodes.map((n) => n.url).join(','));
    const roles = await Promise.all(
      cluster.nodes.map(async (n) => ((await redisCommand(n.port, ['ROLE'])) as string[])[0]),
    );
    assert.deepEqual(roles, ['master', 'master', 'master', 'slave', 'slave', 'slave']);
    const owners = new Set<number>();
    for (const slot of [0, 5000, 10_000, 16_383]) owners.add((await cluster.masterOf(slot)).port);
    assert.equal(owners.size, 3);
  });

  void it('serves a cluster client SET and GET over keys of many slots', async () => {
    assert.ok(new Set(keys.map(keySlot)).size > 250);
    for (const k of keys) await client.set(k, `v:${k}`);
    for (const k of keys) assert.equal(await client.get(k), `v:${k}`);
    // Our slot function agrees with Redis, and every master holds some of the keys.
    for (const k of keys.slice(0, 20))
      assert.equal(await redisCommand(cluster.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', k]), keySlot(k));
    for (const m of cluster.nodes.slice(0, 3)) assert.ok(((await redisCommand(m.port, ['DBSIZE'])) as number) > 0);
  });

  void it('migrates a slot with its keys while the client keeps reading them', async () => {
    const tagged = Array.from({ length: 200 }, (_, i) => `{moving}:${i}`);
    const slot = keySlot('{moving}');
    for (const k of tagged) await client.set(k, `m:${k}`);
    const from = await cluster.masterOf(slot);
    const to = cluster.nodes.slice(0, 3).find((n) => n !== from)!;
    const reading = { on: true };
    let reads = 0;
    const wrong: string[] = [];
    const reader = (async () => {
      while (reading.on) {
        for (const k of tagged) {
          const v = await client.get(k);
          reads++;
          if (v !== `m:${k}`) wrong.push(`${k}=${String(v)}`);
        }
      }
    })();
    await cluster.migrate([slot], to);
    reading.on = false;
    await reader;
    assert.deepEqual(wrong, []);
    assert.ok(reads >= tagged.length);
    assert.equal(await cluster.masterOf(slot), to);
    assert.equal(await redisCommand(to.port, ['CLUSTER', 'COUNTKEYSINSLOT', String(slot)]), tagged.length);
    assert.equal(await redisCommand(from.port, ['CLUSTER', 'COUNTKEYSINSLOT', String(slot)]), 0);
    for (const k of tagged) assert.equal(await client.get(k), `m:${k}`);
  });

  void it('fails a master over to its replica, and the client reads its keys again', async () => {
    const key = keys[0]!;
    const master = await cluster.masterOf(keySlot(key));
    // Asynchronous replication: every replica has what its master has before the master dies.
    for (let i = 0; ; i++) {
      const sizes = await Promise.all(
        cluster.nodes.map(async (n) => (await redisCommand(n.port, ['DBSIZE'])) as number),
      );
      const total = (from: number) => sizes.slice(from, from + 3).reduce((a, b) => a + b, 0);
      if (total(0) === total(3)) break;
      assert.ok(i < 100, 'replicas did not catch up');
      await sleep(100);
    }
    const promoted = await cluster.failover(master);
    assert.ok(cluster.nodes.slice(3).includes(promoted));
    assert.equal(((await redisCommand(promoted.port, ['ROLE'])) as string[])[0], 'master');
    assert.equal(await cluster.masterOf(keySlot(key)), promoted);
    // The client finds the new master (its topology refreshes after errors): read until it does.
    let value: string | null = null;
    for (let i = 0; value === null; i++) {
      try {
        value = await client.get(key);
      } catch (err) {
        assert.ok(i < 100, `the client did not recover: ${String(err)}`);
        await sleep(200);
      }
    }
    assert.equal(value, `v:${key}`);
    for (const k of keys) assert.equal(await client.get(k), `v:${k}`);
  });

  void it('stops every node and removes its folder', async () => {
    const ports = cluster.nodes.map((n) => n.port);
    const folder = readdirSync(tmpdir())
      .filter((d) => d.startsWith('cib-redis-cluster-'))
      .map((d) => join(tmpdir(), d))
      .find((d) => existsSync(join(d, `nodes-${ports[0]!}.conf`)));
    assert.ok(folder !== undefined);
    const running = () => processes().filter((p) => ports.some((port) => p.includes(`127.0.0.1:${port}`)));
    assert.equal(running().length, 5); // one node died in the failover
    client.destroy();
    await cluster.stop();
    await cluster.stop();
    assert.deepEqual(running(), []);
    assert.equal(existsSync(folder), false);
    for (const port of ports) await assert.rejects(redisCommand(port, ['PING'], 1000));
  });

  void it('refuses a cluster of fewer than 3 masters before starting anything', async () => {
    await assert.rejects(startRedisCluster({ masters: 2 }), /at least 3 masters/);
  });
});
