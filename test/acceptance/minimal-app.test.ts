// examples/minimal/app.ts (the README's "Use it" code, printed verbatim there) run as a user runs it:
// its own Node process, importing `cognito-identity-broker` by name, its broker on the AWS SDK's
// default client pointed at an emulator by AWS_ENDPOINT_URL_COGNITO_IDENTITY. Driven over HTTP:
// guest, login (the guest upgraded), credentials, token, link, merge, bearer login, logout (a
// response, not a 404).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dropWarning = pathToFileURL(join(root, 'scripts', 'drop-sdk-node-version-warning.mjs')).href;
const PROVIDER = 'graph.facebook.com';

let emu: RunningEmulator;
let child: ChildProcess | undefined;
let base = '';
let stderr = '';

/** Starts the example app as `node --import tsx examples/minimal/app.ts`; resolves with its URL. */
function startApp(env: Record<string, string>): Promise<string> {
  // Only what the app and Node need: no AWS profile or settings of this shell reach the child.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(name)),
  );
  const proc = spawn(process.execPath, ['--import', dropWarning, '--import', 'tsx', 'examples/minimal/app.ts'], {
    cwd: root,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  const pool = emu.pools[0]!;
  base = await startApp({
    COGNITO_IDENTITY_POOL_ID: pool.identityPoolId,
    COGNITO_DEVELOPER_PROVIDER: pool.developerProviderName!,
    AWS_ENDPOINT_URL_COGNITO_IDENTITY: emu.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_CONFIG_FILE: join(root, 'no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(root, 'no-such-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    SESSION_SECRET: 'minimal-example-session-secret',
    PORT: '0',
  });
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

/** A browser's cookie jar of one cookie: the session's. */
class Browser {
  cookie = '';
  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(`${base}${path}`, {
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
  async json<T>(method: string, path: string, body?: unknown, status = 200): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await res.text();
    assert.equal(res.status, status, `${method} ${path}: ${text}`);
    return JSON.parse(text) as T;
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
