// The README's fleet code (examples/minimal/fleet.ts and redis-cluster.ts, printed verbatim there)
// run as a user runs it: two processes over a real redis-server, then over a real Redis Cluster that
// wants a password (REDIS_CLUSTER_NODES), and one emulator. A login on one instance works on the
// other, and SIGTERM ends each process (fleet.close()).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import { emulatorEnv, inheritedEnv, spawnTsx } from '../helpers/example-app.js';
import {
  redisClusterSkipReason,
  redisCommand,
  startRedisCluster,
  type RedisCluster,
} from '../helpers/redis-cluster.js';
import { redisSkipReason, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const LIMIT_MS = 60_000;
const SHARED = { SESSION_SECRET: randomBytes(24).toString('base64url'), KEY: randomBytes(32).toString('base64') };

interface Instance {
  readonly proc: ChildProcess;
  readonly url: string;
  output(): string;
}

let emu: RunningEmulator;
const instances: Instance[] = [];

/** Starts examples/minimal/fleet.ts with `redisEnv` (REDIS_URL or REDIS_CLUSTER_NODES). */
function start(redisEnv: Record<string, string>): Promise<Instance> {
  const proc = spawnTsx(['examples/minimal/fleet.ts'], {
    ...inheritedEnv(),
    PORT: '0',
    ...redisEnv,
    SESSION_SECRET: SHARED.SESSION_SECRET,
    CACHE_ENCRYPTION_KEY: SHARED.KEY,
    ...emulatorEnv(emu),
  });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`not listening within ${LIMIT_MS} ms: ${out}`));
    }, LIMIT_MS);
    const onData = (): void => {
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      if (url === undefined) return;
      proc.stdout.off('data', onData);
      clearTimeout(timer);
      const instance = { proc, url, output: () => out };
      instances.push(instance);
      resolve(instance);
    };
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${String(code)}) before listening: ${out}`));
    });
  });
}

/** The README's fleet code, two instances over the Redis `setUp` starts (and `tearDown` stops). */
function readmeFleetSuite(
  title: string,
  skip: string | undefined,
  setUp: () => Promise<Record<string, string>>,
  tearDown: () => Promise<void>,
): void {
  let redisEnv: Record<string, string> = {};
  void describe(title, { skip }, () => {
    before(async () => {
      redisEnv = await setUp();
      emu = await startEmulator({
        seed: [
          { name: 'readme-fleet', developerProviderName: 'login.example.app', allowUnauthenticatedIdentities: true },
        ],
      });
    });

    after(async () => {
      for (const { proc } of instances) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await emu.stop();
      await tearDown();
    });

    void test('a login on one instance works on the other (sessions and broker in Redis)', async () => {
      const [a, b] = await Promise.all([start(redisEnv), start(redisEnv)]);
      const login = await fetch(`${a.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-pass' }),
      });
      assert.equal(login.status, 200, await login.clone().text());
      const { identityId } = (await login.json()) as { identityId: string };
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
      const onB = await fetch(`${b.url}/aws/credentials`, { headers: { cookie } });
      assert.equal(onB.status, 200, await onB.clone().text());
      assert.equal(((await onB.json()) as { identityId: string }).identityId, identityId);
      const onA = await fetch(`${a.url}/aws/credentials`, { headers: { cookie } });
      assert.equal(onA.status, 200);
      // The shared tier's economy (one load per entry fleet-wide while Redis answers within its
      // command timeout) is the fleet suite's to prove; here: both instances serve the session.
      assert.ok((emu.counters().GetOpenIdTokenForDeveloperIdentity ?? 0) >= 1);
    });

    void test('SIGTERM ends each instance (fleet.close(), then the client)', async () => {
      for (const instance of instances.splice(0)) {
        const { proc } = instance;
        const closed = once(proc, 'close');
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), LIMIT_MS);
        const [code, signal] = (await closed) as [number | null, string | null];
        clearTimeout(timer);
        assert.deepEqual({ code, signal }, { code: 0, signal: null }, instance.output());
        assert.match(instance.output(), /"msg":"stopped"/);
      }
    });
  });
}

let redis: RedisServer | undefined;
readmeFleetSuite(
  "the README's fleet code (examples/minimal/fleet.ts): two instances over one Redis",
  redisSkipReason(),
  async () => {
    redis = await startRedisServer();
    return { REDIS_URL: redis.url };
  },
  async () => {
    await redis?.stop();
  },
);

let cluster: RedisCluster | undefined;
const PASSWORD = randomBytes(12).toString('hex');
readmeFleetSuite(
  "the README's cluster client (examples/minimal/redis-cluster.ts): two instances over a Redis Cluster wanting a password",
  redisClusterSkipReason(),
  async () => {
    cluster = await startRedisCluster();
    for (const node of cluster.nodes) {
      await redisCommand(node.port, ['CONFIG', 'SET', 'masterauth', PASSWORD]);
      await redisCommand(node.port, ['CONFIG', 'SET', 'requirepass', PASSWORD]);
    }
    // One seed: the client finds the five other nodes, and reaches each with the seed's password.
    return { REDIS_CLUSTER_NODES: `redis://:${PASSWORD}@127.0.0.1:${cluster.nodes[0]!.port}` };
  },
  async () => {
    await cluster?.stop();
  },
);
