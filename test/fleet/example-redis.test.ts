// The example app in fleet mode over a real redis-server (processes started as `npm start` starts
// them, on one emulator): nothing it or the broker writes to Redis names a user, an identity or a
// guest in clear; an instance whose CACHE_ENCRYPTION_KEYS differ says so; a refused Redis password
// stops the start at once; a Redis outage answers 503 ERR_SESSIONS_UNAVAILABLE and /readyz is not ready.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClient } from 'redis';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import { redisSkipReason, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dropWarning = pathToFileURL(join(root, 'scripts', 'drop-sdk-node-version-warning.mjs')).href;
const skip = redisSkipReason();
const KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(32).toString('base64');
const SECRET = randomBytes(24).toString('base64url');
const LIMIT_MS = 60_000;

interface Instance {
  readonly proc: ChildProcess;
  readonly url: string;
  stdout(): string;
}

let redis: RedisServer;
let emu: RunningEmulator;
const procs: ChildProcess[] = [];

function env(overrides: Record<string, string>): Record<string, string> {
  const pool = emu.pools[0]!;
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(name)),
  ) as Record<string, string>;
  return {
    ...inherited,
    PORT: '0',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'warn',
    REDIS_URL: redis.url,
    SESSION_SECRET: SECRET,
    CACHE_ENCRYPTION_KEYS: `k1:${KEY}`,
    COGNITO_IDENTITY_POOL_ID: pool.identityPoolId,
    COGNITO_DEVELOPER_PROVIDER: pool.developerProviderName!,
    COGNITO_ALLOW_GUESTS: 'true',
    AWS_ENDPOINT_URL_COGNITO_IDENTITY: emu.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_CONFIG_FILE: join(root, 'no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(root, 'no-such-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...overrides,
  };
}

function spawnServer(overrides: Record<string, string>): ChildProcess {
  const proc = spawn(process.execPath, ['--import', dropWarning, '--import', 'tsx', 'examples/express-app/server.ts'], {
    cwd: root,
    env: env(overrides),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  return proc;
}

/** Starts an instance; resolves once it prints its URL. */
function startInstance(overrides: Record<string, string> = {}): Promise<Instance> {
  const proc = spawnServer(overrides);
  let out = '';
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no banner within ${LIMIT_MS} ms: ${err}`));
    }, LIMIT_MS);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const url = /Cognito identity broker demo: (http:\/\/\S+?)\/\s/.exec(out)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      resolve({ proc, url, stdout: () => out });
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the instance exited (${String(code)}): ${err}`));
    });
  });
}

/** Runs an instance that must fail to start: its exit code and stderr. */
async function failedStart(overrides: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const proc = spawnServer(overrides);
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  proc.stdout!.resume();
  const timer = setTimeout(() => proc.kill('SIGKILL'), LIMIT_MS);
  const [code] = (await once(proc, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stderr: err };
}

class Browser {
  cookie = '';
  constructor(readonly base: string) {}
  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(this.cookie === '' ? {} : { cookie: this.cookie }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const set = res.headers.get('set-cookie');
    if (set !== null) this.cookie = set.split(';')[0]!;
    return res;
  }
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await res.text();
    assert.equal(res.status, 200, `${method} ${path}: ${text}`);
    return JSON.parse(text) as T;
  }
}

/** Every key of Redis and every value under it, as text: `[key, ...values]` per key. */
async function dumpRedis(url: string): Promise<string[][]> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const out: string[][] = [];
    for await (const keys of client.scanIterator({ COUNT: 100 })) {
      for (const key of keys) {
        const type = await client.type(key);
        if (type === 'string') out.push([key, (await client.get(key)) ?? '']);
        else if (type === 'hash') out.push([key, JSON.stringify(await client.hGetAll(key))]);
        else if (type === 'list') out.push([key, ...(await client.lRange(key, 0, -1))]);
        else if (type === 'set') out.push([key, ...(await client.sMembers(key))]);
        else if (type === 'zset') out.push([key, ...(await client.zRange(key, 0, -1))]);
        else out.push([key, `a ${type} this test does not read`]);
      }
    }
    return out;
  } finally {
    await client.close();
  }
}

function assertNoneNamed(entries: string[][], names: string[]): void {
  for (const name of names) {
    const holders = entries.filter((texts) => texts.some((text) => text.includes(name)));
    assert.deepEqual(holders, [], `${name} in clear in Redis`);
  }
}

void describe('the example app in fleet mode over a real redis-server', { skip }, () => {
  let a: Instance;
  let dump: string[][] = [];
  const alice = new Browser('');
  const found: { userIds: string[]; identityIds: string[] } = { userIds: ['user-alice', 'user-bob'], identityIds: [] };

  before(async () => {
    redis = await startRedisServer();
    emu = await startEmulator({
      seed: [
        {
          name: 'fleet-example',
          developerProviderName: 'login.demo.app',
          allowUnauthenticatedIdentities: true,
          supportedLoginProviders: { 'graph.facebook.com': 'demo-app-id' },
        },
      ],
    });
    a = await startInstance();
  });

  after(async () => {
    for (const proc of procs) {
      if (proc.exitCode !== null || proc.signalCode !== null) continue;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await emu.stop();
    await redis.stop();
  });

  void test('after a guest, a login, a bearer login and credentials, Redis names no user, identity or guest', async () => {
    Object.assign(alice, { base: a.url });
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
    assert.ok(
      own.some(([key]) => key!.startsWith('cib-demo:sess:')),
      'a session is in Redis',
    );
    assert.ok(
      own.some(([key]) => key!.startsWith('cib-demo:bearer:')),
      'a bearer token is in Redis',
    );
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
    const b = await startInstance({ CACHE_ENCRYPTION_KEYS: `k1:${OTHER_KEY}` });
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
      const wrong = await failedStart({ REDIS_URL: `redis://:a-wrong-password@127.0.0.1:${port}` });
      assert.equal(wrong.code, 1, wrong.stderr);
      assert.match(
        wrong.stderr,
        /^cannot start the example app: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the connection's credentials \(WRONGPASS\)/,
      );
      assert.ok(!wrong.stderr.includes('a-wrong-password') && !wrong.stderr.includes('did not answer'), wrong.stderr);
      const none = await failedStart({ REDIS_URL: `redis://127.0.0.1:${port}` });
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
