// The README's fleet code (examples/minimal/fleet.ts and redis-cluster.ts, printed verbatim there)
// run as a user runs it: two processes over a real redis-server, then over a real Redis Cluster that
// wants a password (REDIS_CLUSTER_NODES), and one emulator. A login on one instance works on the
// other, and SIGTERM ends each process (fleet.close()).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import {
  redisClusterSkipReason,
  redisCommand,
  startRedisCluster,
  type RedisCluster,
} from '../helpers/redis-cluster.js';
import { redisSkipReason, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dropWarning = pathToFileURL(join(root, 'scripts', 'drop-sdk-node-version-warning.mjs')).href;
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
  const pool = emu.pools[0]!;
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(name)),
  );
  const proc = spawn(process.execPath, ['--import', dropWarning, '--import', 'tsx', 'examples/minimal/fleet.ts'], {
    cwd: root,
    env: {
      ...inherited,
      PORT: '0',
      ...redisEnv,
      SESSION_SECRET: SHARED.SESSION_SECRET,
      CACHE_ENCRYPTION_KEY: SHARED.KEY,
      COGNITO_IDENTITY_POOL_ID: pool.identityPoolId,
      COGNITO_DEVELOPER_PROVIDER: pool.developerProviderName!,
      AWS_ENDPOINT_URL_COGNITO_IDENTITY: emu.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      AWS_CONFIG_FILE: join(root, 'no-such-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(root, 'no-such-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
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
