// Eviction: a generation that is gone never makes an entry current, and the tier says once, loudly,
// when the server may evict (or when it cannot tell).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { createBroker } from '../../src/index.js';
import { redisFleet } from '../../src/fleet/index.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';
import { logSink, type LogLine, type LogSink } from '../helpers/log-sink.js';
import { redisCommand } from '../helpers/redis-cluster.js';
import {
  FLEET_KEY,
  FLEET_PROVIDER,
  FLEET_REDIS,
  singleNodeOnly,
  startFleetStack,
  type FleetStack,
} from '../helpers/fleet-stack.js';

const skip = singleNodeOnly('the eviction policy and raw keys of the one server');
const EVICTING = 'fleet: Redis maxmemory-policy is not noeviction';
const UNKNOWN = 'fleet: cannot read the Redis eviction policy';

/** Log lines whose message starts with `start`. */
function said(logs: LogSink, start: string): LogLine[] {
  return logs.lines().filter((l) => l.msg.startsWith(start));
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
}

void describe('fleet: an evicting Redis', { skip }, () => {
  let stack: FleetStack;
  before(async () => {
    stack = await startFleetStack();
  });
  after(async () => {
    await stack.stop();
  });

  void it('says nothing under noeviction, and once, loudly, under allkeys-lru', async () => {
    const quiet = logSink();
    await stack.instance({ logger: quiet.logger }, { prefix: 'ev0' });
    await stack.admin.configSet('maxmemory-policy', 'allkeys-lru');
    try {
      const logs = logSink();
      const a = await stack.instance({ logger: logs.logger }, { prefix: 'ev1' });
      await until(() => said(logs, EVICTING).length > 0);
      await a.broker.getToken('ev-1@example.com');
      assert.equal(said(logs, EVICTING).length, 1);
      assert.equal(said(logs, EVICTING)[0]?.level, 50, 'an error line');
      assert.equal(said(logs, EVICTING)[0]?.maxmemoryPolicy, 'allkeys-lru');
      assert.equal(said(quiet, EVICTING).length + said(quiet, UNKNOWN).length, 0);
    } finally {
      await stack.admin.configSet('maxmemory-policy', 'noeviction');
    }
  });

  void it('warns once when the policy cannot be read (CONFIG not allowed)', async () => {
    await stack.admin.sendCommand(['ACL', 'SETUSER', 'app', 'on', '>app-password', '~*', '&*', '+@all', '-config']);
    const url = stack.redisServer.url.replace('redis://', 'redis://app:app-password@');
    const redis = createClient({ url, socket: { connectTimeout: 5000 } });
    redis.on('error', () => undefined);
    await redis.connect();
    const logs = logSink();
    const fleet = redisFleet({ client: redis, encryptionKeys: { k1: FLEET_KEY }, prefix: 'ev2' });
    const sdk = emulatorClient(stack.emu);
    try {
      const broker = createBroker({
        identityPoolId: stack.poolId,
        developerProviderName: FLEET_PROVIDER,
        client: sdk,
        fleet,
        logger: logs.logger,
      });
      await until(() => said(logs, UNKNOWN).length > 0);
      await broker.getToken('ev-2@example.com');
      assert.equal(said(logs, UNKNOWN).length, 1);
      assert.match(String(said(logs, UNKNOWN)[0]?.reason), /NOPERM|permission/i);
    } finally {
      await fleet.close();
      redis.destroy();
      sdk.destroy();
    }
  });

  void it('an entry whose generations were evicted is never served (under allkeys-lru)', async () => {
    await stack.admin.configSet('maxmemory-policy', 'allkeys-lru');
    try {
      const a = await stack.instance({}, { prefix: 'ev3' });
      const user = 'ev-victim@example.com';
      const old = (await a.broker.getToken(user)).identityId;
      const [entryKey = ''] = await stack.admin.keys('ev3:*:e:token:*');
      const saved = await stack.admin.hGetAll(entryKey);
      await a.broker.unlinkDeveloperUser(user);
      const fresh = (await a.broker.getToken(user)).identityId;
      assert.notEqual(fresh, old);
      // The pre-unlink entry survives (as an LRU may keep it) while every generation is evicted.
      await stack.admin.del(entryKey);
      await stack.admin.hSet(entryKey, saved);
      for (const key of await stack.admin.keys('ev3:*:g:*')) await stack.admin.del(key);
      const c = await stack.instance({}, { prefix: 'ev3' });
      assert.equal((await c.broker.getToken(user)).identityId, fresh, 'the pre-unlink identity was served');
    } finally {
      await stack.admin.configSet('maxmemory-policy', 'noeviction');
    }
  });
});

void describe(
  'fleet: an evicting master of a Redis Cluster',
  {
    skip: FLEET_REDIS === 'cluster' ? undefined : 'a cluster only: runs under FLEET_REDIS=cluster',
  },
  () => {
    let stack: FleetStack;
    before(async () => {
      stack = await startFleetStack();
    });
    after(async () => {
      await stack.stop();
    });

    void it('reads every master: one evicting master (not the first) is said once, with its address', async () => {
      // The master of the last slot: not the one that serves slot 0, the first a client lists.
      const last = await stack.cluster.masterOf(16383);
      const first = await stack.cluster.masterOf(0);
      assert.notEqual(last.port, first.port);
      await redisCommand(last.port, ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
      try {
        const logs = logSink();
        const a = await stack.instance({ logger: logs.logger }, { prefix: 'evc1' });
        await until(() => said(logs, EVICTING).length > 0);
        await a.broker.getToken('evc-1@example.com');
        const lines = said(logs, EVICTING);
        const [line] = lines;
        assert.equal(lines.length, 1);
        assert.ok(line);
        assert.equal(line.maxmemoryPolicy, 'allkeys-lru');
        assert.equal(line.node, `127.0.0.1:${String(last.port)}`);
        assert.equal(said(logs, UNKNOWN).length, 0);
      } finally {
        await redisCommand(last.port, ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
      }
      const quiet = logSink();
      await stack.instance({ logger: quiet.logger }, { prefix: 'evc2' });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        said(quiet, EVICTING).length + said(quiet, UNKNOWN).length,
        0,
        'every master under noeviction: nothing said',
      );
    });
  },
);
