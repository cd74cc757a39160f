// The example app as `npm start` runs it (examples/express-app/server.ts in its own process, with its
// embedded emulator): the emulator verifies SigV4 against keys only the app's broker holds, so a
// forged Authorization header gets no developer token for any user, while the app itself works.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CognitoIdentity } from '@aws-sdk/client-cognito-identity';

const SERVER = fileURLToPath(new URL('../../examples/express-app/server.ts', import.meta.url));
const STARTUP_LINES_MAX = 200;

void test('the demo runs its emulator with strict SigV4 and keys of its own', { timeout: 60_000 }, async (t) => {
  // A state file of its own: the demo's default one is locked by any other running demo.
  const tmp = mkdtempSync(join(tmpdir(), 'demo-server-'));
  t.after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: '127.0.0.1',
    PORT: '0',
    EMULATOR_PORT: '0',
    LOG_LEVEL: 'silent',
    SESSION_SECRET: 'demo-server-test-session-secret-0123456789',
    EMULATOR_STATE_FILE: join(tmp, 'emulator.json'),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  let out = '';
  let app: string | undefined;
  let emulator: string | undefined;
  let pool: string | undefined;
  for (let i = 0; i < STARTUP_LINES_MAX && (app === undefined || emulator === undefined); i++) {
    const [chunk] = (await Promise.race([
      once(child.stdout, 'data'),
      once(child, 'exit').then(() => {
        throw new Error(`the demo exited: ${stderr}`);
      }),
    ])) as [Buffer];
    out += chunk.toString('utf8');
    app = /demo: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
    const m = /embedded emulator at (http:\/\/127\.0\.0\.1:\d+) \(pool ([\w-]+:[0-9a-f-]+)/.exec(out);
    emulator = m?.[1];
    pool = m?.[2];
  }
  assert.ok(app !== undefined && emulator !== undefined && pool !== undefined, out);

  // Anyone else's signature: refused, whatever key id or secret it uses.
  for (const credentials of [
    { accessKeyId: 'AKIDEMULATORDEMO', secretAccessKey: 'emulator-demo-secret' },
    { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  ]) {
    const forger = new CognitoIdentity({
      endpoint: emulator,
      region: pool.split(':')[0]!,
      credentials,
      maxAttempts: 1,
    });
    try {
      await assert.rejects(
        forger.getOpenIdTokenForDeveloperIdentity({ IdentityPoolId: pool, Logins: { 'login.demo.app': 'user-alice' } }),
        (err: Error) => err.name === 'UnrecognizedClientException',
      );
    } finally {
      forger.destroy();
    }
  }

  // The app's own broker still signs: alice logs in and gets her token.
  const login = await fetch(`${app}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: app },
    body: JSON.stringify({ username: 'alice', password: 'alice-demo-pass' }),
  });
  assert.equal(login.status, 200, await login.clone().text());
  const body = (await login.json()) as { identityId?: string };
  assert.match(body.identityId ?? '', /^us-east-1:[0-9a-f-]{36}$/);
});
