// The example app in fleet mode on a real Redis Cluster (3 masters, 3 replicas of Debian's
// redis-server, started here; REDIS_CLUSTER_NODES): connect-redis over a node-redis cluster client
// for what express-session calls (get, set, touch, destroy) with sessions on every master; a login
// on one instance used on the others; three instances serving one user the same credentials at one
// token and one credentials call, with the shared tier's keys over several masters (not one hash tag
// for all) and nothing on any master naming a user, an identity or a guest in clear; a start with
// no seed answering or a seed that does not resolve; a cluster that wants a password, which every
// node gets; a master failed over, and one lost with no replica left (/readyz, 503s).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { createClient, createCluster } from 'redis';
import { clusterOptions } from '../../examples/express-app/redis-clients.js';
import { createSealer, sealedSessions } from '../../examples/express-app/sealing.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import {
  assertFleetReady,
  assertHasKey,
  assertNoneNamed,
  dumpRedis,
  exampleAppEnv,
  ExampleApps,
  startExampleEmulator,
  type ExampleInstance,
} from '../helpers/example-app.js';
import {
  keySlot,
  redisClusterSkipReason,
  redisCommand,
  startRedisCluster,
  type RedisCluster,
  type RedisClusterNode,
} from '../helpers/redis-cluster.js';

const skip = redisClusterSkipReason();
const KEY = randomBytes(32).toString('base64');
const SECRET = randomBytes(24).toString('base64url');
const LIMIT_MS = 90_000;
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';
const PASSWORD = randomBytes(12).toString('hex');

let cluster: RedisCluster;
let emu: RunningEmulator;
const servers = new ExampleApps(
  () => ({
    ...exampleAppEnv(emu, { sessionSecret: SECRET, cacheKey: KEY }),
    REDIS_CLUSTER_NODES: cluster.seedUrls,
  }),
  LIMIT_MS,
);

async function login(
  base: string,
  username: string,
  password: string,
): Promise<{ cookie: string; identityId: string }> {
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  assert.match(cookie, /^demo\.sid=/);
  return { cookie, identityId: (JSON.parse(text) as { identityId: string }).identityId };
}

async function credentials(base: string, cookie: string): Promise<{ identityId: string; accessKeyId: string }> {
  const res = await fetch(`${base}/aws/credentials`, { headers: { cookie } });
  const text = await res.text();
  assert.equal(res.status, 200, `${base}: ${text}`);
  return JSON.parse(text) as { identityId: string; accessKeyId: string };
}

void describe('the example app on a real Redis Cluster (REDIS_CLUSTER_NODES)', { skip }, () => {
  let apps: ExampleInstance[] = [];
  /** The identity ids the app handed out: none may be in Redis in clear. */
  const identityIds: string[] = [];

  before(async () => {
    cluster = await startRedisCluster();
    emu = await startExampleEmulator('cluster-example');
  });

  after(async () => {
    await servers.stop();
    await emu.stop();
    await cluster.stop();
  });

  void test("connect-redis over a cluster client: express-session's get, set, touch and destroy, on every master", async () => {
    const client = createCluster(clusterOptions(cluster.seedUrls.split(','), true));
    client.on('error', () => undefined);
    await client.connect();
    try {
      const sealer = createSealer({ k1: KEY }, undefined, SECRET);
      const store = new RedisStore({ client, prefix: 'cib-demo:sess:', serializer: sealedSessions(sealer) });
      const call = <T>(fn: (cb: (err?: unknown, value?: T) => void) => void): Promise<T | undefined> =>
        new Promise((resolve, reject) => {
          fn((err, value) => {
            if (err !== undefined && err !== null) reject(err instanceof Error ? err : new Error('store error'));
            else resolve(value);
          });
        });
      const session = (user: string, seconds: number): SessionData =>
        ({
          cookie: { originalMaxAge: seconds * 1000, expires: new Date(Date.now() + seconds * 1000) },
          passport: { user },
        }) as unknown as SessionData;

      const sids = Array.from({ length: 24 }, () => randomBytes(18).toString('base64url'));
      for (const [i, sid] of sids.entries()) await call((cb) => void store.set(sid, session(`user-${i}`, 60), cb));
      // The sessions' keys fall on every master: the store is not working through one node by luck.
      const masters = new Set<number>();
      for (const sid of sids) masters.add((await cluster.masterOf(keySlot(`cib-demo:sess:${sid}`))).port);
      assert.equal(masters.size, 3, 'sessions on all three masters');

      for (const [i, sid] of sids.entries()) {
        const got = await call<SessionData | null>((cb) => void store.get(sid, cb));
        assert.equal((got as unknown as { passport: { user: string } } | null)?.passport.user, `user-${i}`);
      }
      const sid = sids[0]!;
      const key = `cib-demo:sess:${sid}`;
      assert.ok((await client.ttl(key)) <= 60);
      await call((cb) => void store.touch(sid, session('user-0', 3600), cb));
      assert.ok((await client.ttl(key)) > 60, 'touch moved the expiry');
      for (const s of sids) await call((cb) => void store.destroy(s, cb));
      for (const s of sids) assert.equal(await call((cb) => void store.get(s, cb)), null);
      assert.equal(await client.exists(key), 0);
    } finally {
      await client.close();
    }
  });

  void test('a login on one instance is known on the others (sessions in the cluster)', async () => {
    apps = await Promise.all([servers.start(), servers.start(), servers.start()]);
    const [a, b, c] = apps;
    const bob = await login(a!.url, 'bob', 'bob-demo-pass');
    identityIds.push(bob.identityId);
    for (const other of [b!, c!]) {
      const me = await fetch(`${other.url}/aws/identity`, { headers: { cookie: bob.cookie } });
      assert.equal(me.status, 200, await me.clone().text());
      assert.equal(((await me.json()) as { identityId: string }).identityId, bob.identityId);
    }
    // Logging out on one ends the session on all: destroy reached the session's master.
    const out = await fetch(`${b!.url}/logout`, { method: 'POST', headers: { cookie: bob.cookie } });
    assert.ok(out.status < 400, String(out.status));
    const gone = await fetch(`${c!.url}/aws/identity`, { headers: { cookie: bob.cookie } });
    assert.equal(gone.status, 401);
  });

  void test('three instances serve one user the same credentials, at one token and one credentials call', async () => {
    const [a, b, c] = apps;
    assert.ok(a !== undefined && b !== undefined && c !== undefined);
    emu.resetCounters();
    const alice = await login(a.url, 'alice', 'alice-demo-pass');
    identityIds.push(alice.identityId);
    const fromB = await credentials(b.url, alice.cookie);
    const fromC = await credentials(c.url, alice.cookie);
    const fromA = await credentials(a.url, alice.cookie);
    assert.equal(fromB.identityId, alice.identityId);
    assert.deepEqual([fromC.accessKeyId, fromA.accessKeyId], [fromB.accessKeyId, fromB.accessKeyId]);
    const calls = emu.counters();
    assert.equal(calls[TOKEN], 1, JSON.stringify(calls));
    assert.equal(calls[CREDS], 1, JSON.stringify(calls));
    // No warning or error of any instance (the tier reports a misconfiguration, e.g. CROSSSLOT, so).
    for (const app of apps) {
      const loud = app
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{') && (JSON.parse(line) as { level: number }).level >= 40);
      assert.deepEqual(loud, [], app.url);
    }
    for (const app of apps) await assertFleetReady(app.url);
  });

  void test("the broker's shared entries spread over the masters: users and guests in slots of their own", async () => {
    const a = apps[0]!;
    for (let i = 0; i < 12; i++) {
      const guest = await fetch(`${a.url}/aws/guest`, { method: 'POST' });
      assert.equal(guest.status, 200, await guest.clone().text());
      identityIds.push(((await guest.json()) as { identityId: string }).identityId);
    }
    const holders: number[] = [];
    for (const node of cluster.nodes.slice(0, 3)) {
      let cursor = '0';
      let count = 0;
      do {
        const reply = (await redisCommand(node.port, ['SCAN', cursor, 'MATCH', 'cib:*', 'COUNT', '1000'])) as [
          string,
          string[],
        ];
        cursor = reply[0];
        count += reply[1].length;
      } while (cursor !== '0');
      if (count > 0) holders.push(node.port);
    }
    // One hash tag for everything would put the whole tier on one master.
    assert.ok(holders.length >= 2, `the shared tier's keys are on ${holders.length} master(s)`);
  });

  void test('no key or value on any master names a user, an identity or a guest in clear', async () => {
    const issued = await fetch(`${apps[0]!.url}/api/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'bob-demo-pass' }),
    });
    assert.equal(issued.status, 200);
    const { accessToken } = (await issued.json()) as { accessToken: string };
    const found: string[][] = [];
    for (const node of cluster.nodes.slice(0, 3)) found.push(...(await dumpRedis(node.url)));
    assertHasKey(found, 'cib-demo:sess:', 'sessions in the cluster');
    assertHasKey(found, 'cib-demo:bearer:', 'a bearer token in the cluster');
    assertHasKey(found, 'cib:', "the broker's shared tier in the cluster");
    assert.ok(identityIds.length >= 14, String(identityIds.length));
    assertNoneNamed(found, ['user-alice', 'user-bob', 'passport', accessToken, ...identityIds]);
  });

  void test('no seed answers: the start waits 5 s then names the seeds and the last error; a bad host at once', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => {
          resolve(port);
        });
      });
    });
    const none = await servers.failedStart({ REDIS_CLUSTER_NODES: `redis://:${PASSWORD}@127.0.0.1:${closed}` });
    assert.equal(none.code, 1, none.stderr);
    assert.match(
      none.stderr,
      /^cannot start the example app: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/? did not answer within 5 s \(ECONNREFUSED\)\. Start it \(or fix REDIS_CLUSTER_NODES\) and try again\n$/,
    );
    const unknown = await servers.failedStart({ REDIS_CLUSTER_NODES: 'redis://no-such-host.invalid:7000' });
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(
      unknown.stderr,
      /the host of REDIS_CLUSTER_NODES \(redis:\/\/no-such-host\.invalid:7000\/?\) does not resolve \((ENOTFOUND|EAI_AGAIN)\)/,
    );
    assert.ok(!none.stderr.includes(PASSWORD));
  });

  void test('a cluster that wants a password: every node gets it from the seeds; a wrong one stops the start', async () => {
    // The running instances keep their authenticated connections; the password goes again after.
    for (const node of cluster.nodes) {
      await redisCommand(node.port, ['CONFIG', 'SET', 'masterauth', PASSWORD]);
      await redisCommand(node.port, ['CONFIG', 'SET', 'requirepass', PASSWORD]);
    }
    try {
      await withPassword();
    } finally {
      for (const node of cluster.nodes) {
        const admin = createClient({ url: `redis://:${PASSWORD}@127.0.0.1:${node.port}` });
        admin.on('error', () => undefined);
        await admin.connect();
        await admin.configSet({ requirepass: '', masterauth: '' });
        await admin.close();
      }
    }
  });

  async function withPassword(): Promise<void> {
    const seeds = (password: string): string =>
      cluster.nodes
        .slice(0, 2)
        .map((n) => `redis://:${password}@127.0.0.1:${n.port}`)
        .join(',');
    const d = await servers.start({ REDIS_CLUSTER_NODES: seeds(PASSWORD) });
    assert.match(
      d.output(),
      /Fleet mode: sessions and the broker's shared tier in the Redis Cluster of redis:\/\/:\*\*\*@/,
    );
    const carol = await login(d.url, 'alice.work', 'alice-work-pass');
    await credentials(d.url, carol.cookie);
    const me = await fetch(`${apps[0]!.url}/aws/identity`, { headers: { cookie: carol.cookie } });
    assert.equal(me.status, 200);

    const wrong = await servers.failedStart({ REDIS_CLUSTER_NODES: seeds('a-wrong-password') });
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(
      wrong.stderr,
      /^cannot start the example app: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/?,redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/? refused the connection's credentials \(WRONGPASS\)\. Fix the user and password in REDIS_CLUSTER_NODES/,
    );
    const none = await servers.failedStart({ REDIS_CLUSTER_NODES: seeds('').replaceAll(':@', '') });
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /refused the connection's credentials \(NOAUTH\)/);
    for (const out of [wrong.stderr, none.stderr, d.output()]) {
      assert.ok(!out.includes(PASSWORD) && !out.includes('a-wrong-password'), out);
    }
    // Its reconnections would carry a password the cluster no longer wants.
    const exited = once(d.proc, 'exit');
    d.proc.kill('SIGTERM');
    await exited;
  }

  void test('a master fails over: the sessions reach its promoted replica, and /readyz is ready again', async () => {
    const [a, b] = apps;
    assert.ok(a !== undefined && b !== undefined);
    const { cookie } = await login(a.url, 'bob', 'bob-demo-pass');
    const master = await cluster.masterOf(keySlot(`cib-demo:sess:${sidOf(cookie)}`));
    failedOver = await cluster.failover(master);
    for (const app of [a, b]) {
      await eventually(`${app.url} ready with its sessions`, async () => {
        const ready = (await (await fetch(`${app.url}/readyz`)).json()) as { fleet?: { sessions?: string } };
        return ready.fleet?.sessions === 'connected';
      });
      await eventually(`bob's session on ${app.url}`, async () => {
        const me = await fetch(`${app.url}/aws/identity`, { headers: { cookie } });
        return me.status === 200;
      });
    }
    const lost = a
      .output()
      .split('\n')
      .filter((line) => line.includes('sessions: lost the Redis connection'));
    assert.equal(lost.length, 1, a.output());
  });

  void test('a master lost with no replica left: /readyz not ready, its sessions answer 503, never a 500', async () => {
    const [a] = apps;
    assert.ok(a !== undefined && failedOver !== undefined);
    // A session in the slots of the master about to be lost (its replica was the master before).
    let cookie = '';
    for (let i = 0; i < 40 && cookie === ''; i++) {
      const session = await login(a.url, 'bob', 'bob-demo-pass');
      const owner = await cluster.masterOf(keySlot(`cib-demo:sess:${sidOf(session.cookie)}`));
      if (owner === failedOver) cookie = session.cookie;
    }
    assert.notEqual(cookie, '', 'no session landed on that master in 40 logins');
    await failedOver.kill();
    await eventually(`${a.url} not ready`, async () => {
      const ready = await fetch(`${a.url}/readyz`);
      const body = (await ready.json()) as { code?: string; fleet?: { sessions?: string } };
      return (
        ready.status === 503 && body.code === 'ERR_SESSIONS_UNAVAILABLE' && body.fleet?.sessions === 'disconnected'
      );
    });
    const me = await fetch(`${a.url}/aws/identity`, { headers: { cookie } });
    assert.equal(me.status, 503, await me.clone().text());
    assert.equal(((await me.json()) as { code: string }).code, 'ERR_SESSIONS_UNAVAILABLE');
  });
});

let failedOver: RedisClusterNode | undefined;

/** The session id in a `demo.sid=s%3A<sid>.<signature>` cookie. */
function sidOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  const sid = /^s:([^.]+)\./.exec(value)?.[1];
  assert.ok(sid !== undefined, cookie);
  return sid;
}

/** Polls `check` (every 100 ms) until it holds; fails naming `what` after 45 s. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) assert.fail(`${what}: not within 45 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
