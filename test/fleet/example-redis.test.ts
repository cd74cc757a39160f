// The example app in fleet mode over a real redis-server (processes started as `npm start` starts
// them, on one emulator): nothing it or the broker writes to Redis names a user, an identity or a
// guest in clear; an instance whose CACHE_ENCRYPTION_KEYS differ says so; a refused Redis password
// stops the start at once; a Redis outage answers 503 ERR_SESSIONS_UNAVAILABLE and /readyz is not ready.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'redis';
import type { RunningEmulator } from '../../src/emulator/types.js';
import {
  assertHasKey,
  assertNoneNamed,
  Browser,
  dumpRedis,
  exampleAppEnv,
  ExampleApps,
  startExampleEmulator,
  type ExampleInstance,
} from '../helpers/example-app.js';
import { redisSkipReason, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const skip = redisSkipReason();
const KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(32).toString('base64');
const SECRET = randomBytes(24).toString('base64url');
const LIMIT_MS = 60_000;

let redis: RedisServer;
let emu: RunningEmulator;
const servers = new ExampleApps(
  () => ({ ...exampleAppEnv(emu, { sessionSecret: SECRET, cacheKey: KEY }), REDIS_URL: redis.url }),
  LIMIT_MS,
);

void describe('the example app in fleet mode over a real redis-server', { skip }, () => {
  let a: ExampleInstance;
  let dump: string[][] = [];
  const alice = new Browser(() => a.url);
  const found: { userIds: string[]; identityIds: string[] } = { userIds: ['user-alice', 'user-bob'], identityIds: [] };

  before(async () => {
    redis = await startRedisServer();
    emu = await startExampleEmulator('fleet-example');
    a = await servers.start();
  });

  after(async () => {
    await servers.stop();
    await emu.stop();
    await redis.stop();
  });

  void test('after a guest, a login, a bearer login and credentials, Redis names no user, identity or guest', async () => {
    const guest = await alice.json<{ identityId: string }>('POST', '/aws/guest');
    const login = await alice.json<{ identityId: string }>('POST', '/login', {
      username: 'alice',
      password: 'alice-demo-pass',
    });
    await alice.json('GET', '/aws/credentials');
    const visitor = new Browser(a.url);
    const otherGuest = await visitor.json<{ identityId: string }>('POST', '/aws/guest');
    const mobile = await new Browser(a.url).json<{ accessToken: string; identityId: string }>('POST', '/api/tokens', {
      username: 'bob',
      password: 'bob-demo-pass',
    });
    found.identityIds.push(guest.identityId, login.identityId, otherGuest.identityId, mobile.identityId);

    dump = await dumpRedis(redis.url);
    const own = dump.filter(([key]) => key!.startsWith('cib-demo:'));
    assertHasKey(own, 'cib-demo:sess:', 'a session is in Redis');
    assertHasKey(own, 'cib-demo:bearer:', 'a bearer token is in Redis');
    assertNoneNamed(own, [
      ...found.userIds,
      ...found.identityIds,
      mobile.accessToken,
      'cognitoGuestIdentityId',
      'passport',
    ]);
  });

  // The broker's shared tier (keys `cib:…`, src/fleet): keyed names, sealed values and change records.
  void test("the broker's shared tier names none either", () => {
    const tier = dump.filter(([key]) => !key!.startsWith('cib-demo:'));
    assert.ok(tier.length > 0, "the broker's shared tier is in Redis");
    assertNoneNamed(tier, [...found.userIds, ...found.identityIds]);
  });

  void test('an instance with other CACHE_ENCRYPTION_KEYS: one warning, and /readyz reports the mismatch', async () => {
    const b = await servers.start({ CACHE_ENCRYPTION_KEYS: `k1:${OTHER_KEY}` });
    // Alice's session, sealed by the other instance, does not open here: she is not logged in on b.
    const me = await fetch(`${b.url}/aws/identity`, { headers: { cookie: alice.cookie } });
    assert.equal(me.status, 401);
    // Bob's token entry in the shared tier, sealed by the other instance, is refused and loaded again.
    await new Browser(b.url).json('POST', '/login', { username: 'bob', password: 'bob-demo-pass' });
    const ready = (await (await fetch(`${b.url}/readyz`)).json()) as { fleet: { keys: string } };
    assert.equal(ready.fleet.keys, 'mismatch');
    // More of the same: still one warning (counted once b has stopped and its output is all in).
    await fetch(`${b.url}/aws/identity`, { headers: { cookie: alice.cookie } });
    await fetch(`${b.url}/readyz`);
    const exited = once(b.proc, 'close');
    b.proc.kill('SIGTERM');
    await exited;
    const warnings = b
      .stdout()
      .split('\n')
      .filter((line) => line.includes("does not open with this instance's CACHE_ENCRYPTION_KEYS"));
    assert.equal(warnings.length, 1, b.stdout());
    assert.ok(!b.stdout().includes(OTHER_KEY) && !b.stdout().includes(KEY));
  });

  void test('a Redis that refuses the password stops the start at once with that reason, not a timeout', async () => {
    const admin = createClient({ url: redis.url });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      await admin.configSet('requirepass', 'the-right-password');
      const port = new URL(redis.url).port;
      const wrong = await servers.failedStart({ REDIS_URL: `redis://:a-wrong-password@127.0.0.1:${port}` });
      assert.equal(wrong.code, 1, wrong.stderr);
      assert.match(
        wrong.stderr,
        /^cannot start the example app: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the connection's credentials \(WRONGPASS\)/,
      );
      assert.ok(!wrong.stderr.includes('a-wrong-password') && !wrong.stderr.includes('did not answer'), wrong.stderr);
      const none = await servers.failedStart({ REDIS_URL: `redis://127.0.0.1:${port}` });
      assert.equal(none.code, 1, none.stderr);
      assert.match(none.stderr, /refused the connection's credentials \(NOAUTH\)/);
    } finally {
      await admin.sendCommand(['AUTH', 'the-right-password']);
      await admin.configSet('requirepass', '');
      await admin.close();
    }
  });

  void test('Redis gone: session requests answer 503 ERR_SESSIONS_UNAVAILABLE, /readyz is not ready', async () => {
    await redis.kill();
    const res = await fetch(`${a.url}/me`, { headers: { cookie: alice.cookie } });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    const problem = (await res.json()) as { code: string };
    assert.equal(problem.code, 'ERR_SESSIONS_UNAVAILABLE');
    const ready = await fetch(`${a.url}/readyz`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { status: string; code: string; fleet: { sessions: string } };
    assert.equal(body.status, 'not ready');
    assert.equal(body.code, 'ERR_SESSIONS_UNAVAILABLE');
    assert.equal(body.fleet.sessions, 'disconnected');
  });
});
