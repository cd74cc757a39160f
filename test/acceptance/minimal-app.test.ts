// examples/minimal/app.ts (the README's "Use it" code, printed verbatim there) run as a user runs it:
// its own Node process, importing `cognito-identity-broker` by name, its broker on the AWS SDK's
// default client pointed at an emulator by AWS_ENDPOINT_URL_COGNITO_IDENTITY. Driven over HTTP:
// guest, login (the guest upgraded), credentials, token, link, merge, bearer login, logout (a
// response, not a 404).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import { Browser as AppBrowser, emulatorEnv, inheritedEnv, spawnTsx } from '../helpers/example-app.js';

const PROVIDER = 'graph.facebook.com';

let emu: RunningEmulator;
let child: ChildProcess | undefined;
let base = '';
let stderr = '';

/** The environment of an app on the emulator's pool (or on `overrides`). */
function appEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...emulatorEnv(emu),
    SESSION_SECRET: 'minimal-example-session-secret',
    PORT: '0',
    ...overrides,
  };
}

/** Runs `node --import tsx ...args` to its exit (killed after 60 s: a process that never exits fails). */
async function runToExit(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawnTsx(args, { ...inheritedEnv(), ...env });
  let stdout = '';
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  const [code] = (await once(proc, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr: out };
}

/** Starts the example app as `node --import tsx examples/minimal/app.ts`; resolves with its URL. */
function startApp(env: Record<string, string>): Promise<string> {
  const proc = spawnTsx(['examples/minimal/app.ts'], { ...inheritedEnv(), ...env });
  child = proc;
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    let stdout = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
      if (url !== undefined) resolve(url);
    });
    proc.once('exit', (code) => {
      reject(new Error(`the example exited (${String(code)}) before listening: ${stderr}`));
    });
  });
}

before(async () => {
  emu = await startEmulator({
    seed: [
      {
        name: 'minimal',
        developerProviderName: 'login.example.app',
        allowUnauthenticatedIdentities: true,
        supportedLoginProviders: { [PROVIDER]: 'minimal-app-id' },
      },
    ],
  });
  base = await startApp(appEnv());
});

after(async () => {
  const proc = child;
  if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  }
  await emu.stop();
});

/** A browser's cookie jar of one cookie, the session's, on the app the tests started. */
class Browser extends AppBrowser {
  constructor() {
    super(() => base);
  }
}

interface Credentials {
  identityId: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}

void describe('the README app (examples/minimal/app.ts) on the emulator', () => {
  const browser = new Browser();
  let guestId = '';
  let identityId = '';

  void test('a visitor gets guest credentials before logging in', async () => {
    const guest = await browser.json<Credentials>('POST', '/aws/guest');
    assert.match(guest.identityId, /^us-east-1:/);
    assert.ok(guest.accessKeyId.length > 0 && guest.sessionToken.length > 0);
    guestId = guest.identityId;
  });

  void test('login answers 200 and makes the guest identity the user’s (keepSessionInfo)', async () => {
    const login = await browser.json<{ user: { id: string }; identityId: string }>('POST', '/login', {
      username: 'alice',
      password: 'alice-pass',
    });
    assert.equal(login.user.id, 'user-1');
    assert.equal(login.identityId, guestId);
    identityId = login.identityId;
  });

  void test('a wrong password is refused', async () => {
    const res = await new Browser().send('POST', '/login', { username: 'alice', password: 'nope' });
    assert.equal(res.status, 401);
  });

  void test('GET /aws/credentials and GET /aws/token answer for the logged-in user', async () => {
    const credentials = await browser.json<Credentials>('GET', '/aws/credentials');
    assert.equal(credentials.identityId, identityId);
    assert.ok(Date.parse(credentials.expiration) > Date.now());
    const token = await browser.json<{ identityId: string; token: string; loginsKey: string }>('GET', '/aws/token');
    assert.equal(token.identityId, identityId);
    assert.equal(token.loginsKey, 'cognito-identity.amazonaws.com');
    assert.equal(token.token.split('.').length, 3);
  });

  void test('POST /aws/logins links a provider login, shown by GET /aws/identity', async () => {
    await browser.json('POST', '/aws/logins', {
      provider: PROVIDER,
      token: emu.mintProviderToken(PROVIDER, 'fb-alice'),
    });
    const identity = await browser.json<{ identityId: string; logins: string[] }>('GET', '/aws/identity');
    assert.equal(identity.identityId, identityId);
    assert.ok(identity.logins.includes(PROVIDER), JSON.stringify(identity));
  });

  void test('POST /aws/merge takes the other account, proven by its password (verifyMergeSource)', async () => {
    const refused = await browser.send('POST', '/aws/merge', { username: 'alice.work', password: 'wrong' });
    assert.equal(refused.status, 403);
    const merged = await browser.json<{ identityId: string }>('POST', '/aws/merge', {
      username: 'alice.work',
      password: 'alice-work-pass',
    });
    assert.equal(merged.identityId, identityId);
  });

  void test('a mobile client logs in for a bearer token and gets the same identity (BearerStrategy)', async () => {
    const { accessToken } = await new Browser().json<{ accessToken: string }>('POST', '/api/tokens', {
      username: 'alice',
      password: 'alice-pass',
    });
    const res = await new Browser().send('GET', '/aws/token', undefined, { authorization: `Bearer ${accessToken}` });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { identityId: string }).identityId, identityId);
    const unknown = await new Browser().send('GET', '/aws/token', undefined, { authorization: 'Bearer nope' });
    assert.equal(unknown.status, 401);
  });

  void test('POST /logout answers 204 (not 404) and ends the session', async () => {
    const res = await browser.send('POST', '/logout');
    assert.equal(res.status, 204, await res.text());
    const after = await browser.send('GET', '/aws/credentials');
    assert.equal(after.status, 401);
    assert.equal(after.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  });
});

void describe('the README app speaks up at start, and waits to be run', () => {
  void test('a wrong pool: it exits 1 before listening, with one line naming the pool (preflight)', async () => {
    const wrongPool = 'us-east-1:00000000-0000-4000-8000-000000000000';
    const run = await runToExit(['examples/minimal/app.ts'], appEnv({ COGNITO_IDENTITY_POOL_ID: wrongPool }));
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /listening on/);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /^cannot start: .*us-east-1:00000000-0000-4000-8000-000000000000.*\(ERR_MISCONFIGURED\)$/);
  });

  void test('a wrong developer provider: the line names it', async () => {
    const run = await runToExit(['examples/minimal/app.ts'], appEnv({ COGNITO_DEVELOPER_PROVIDER: 'login.wrong.app' }));
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /^cannot start: .*login\.wrong\.app.*\(ERR_MISCONFIGURED\)\n$/);
  });

  void test('a busy port: one line with EADDRINUSE, exit code 1', async () => {
    const busy = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    try {
      const port = String((busy.address() as { port: number }).port);
      const run = await runToExit(['examples/minimal/app.ts'], appEnv({ PORT: port }));
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(
        run.stderr,
        /^cannot start: listen EADDRINUSE: address already in use 127\.0\.0\.1:\d+ \(EADDRINUSE\)\n$/,
      );
    } finally {
      busy.close();
    }
  });

  void test('importing it does not listen: the importer exits by itself, with createApp in hand', async () => {
    const script = "const app = await import('./examples/minimal/app.ts'); console.log(typeof app.createApp);";
    const run = await runToExit(['--input-type=module', '-e', script], appEnv());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'function\n');
  });
});
