import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  CognitoIdentityClient,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
  ListIdentitiesCommand,
  GetOpenIdTokenForDeveloperIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import { EmulatorControlClient } from '../../src/emulator/control-client.js';
import type { PoolInfo } from '../../src/emulator/types.js';

const CLI = fileURLToPath(new URL('../../src/emulator/cli.ts', import.meta.url));
const CREDS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
const START_TIMEOUT_MS = 20_000;

interface Running {
  child: ChildProcess;
  endpoint: string;
  pools: PoolInfo[];
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnCli(args: string[]): { child: ChildProcess; stderr: () => string; exit: Running['exit'] } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { child, stderr: () => err, exit };
}

/** Spawns the bin, reads the endpoint line and `poolCount` pool lines; kills the child when the test ends. */
async function startCli(t: TestContext, args: string[], poolCount: number): Promise<Running> {
  const { child, stderr, exit } = spawnCli(args);
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
  });
  const lines = createInterface({ input: child.stdout! });
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`bin did not print its endpoint in time; stderr: ${stderr()}`));
    }, START_TIMEOUT_MS);
    lines.on('line', (line) => {
      got.push(line);
      if (got.length === 1 + poolCount) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`bin exited with ${code} before printing; stderr: ${stderr()}`));
    });
  });
  const [endpoint, ...poolLines] = got as [string, ...string[]];
  return { child, endpoint, pools: poolLines.map((l) => JSON.parse(l) as PoolInfo), stderr, exit };
}

void test('the bin prints its endpoint, serves the real SDK, and stops with 0 on SIGTERM', async (t) => {
  const emu = await startCli(
    t,
    ['--seed', 'cli pool:login.cli', '--allow-guests', '--login-provider', 'graph.facebook.com=app-1'],
    1,
  );
  assert.match(emu.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(emu.pools.length, 1);
  const pool = emu.pools[0]!;
  assert.equal(pool.identityPoolName, 'cli pool');
  assert.equal(pool.developerProviderName, 'login.cli');
  assert.match(pool.identityPoolId, /^us-east-1:[0-9a-f-]{36}$/);

  const client = new CognitoIdentityClient({
    endpoint: emu.endpoint,
    region: 'us-east-1',
    credentials: CREDS,
    maxAttempts: 1,
  });
  t.after(() => {
    client.destroy();
  });
  const dev = await client.send(
    new GetOpenIdTokenForDeveloperIdentityCommand({
      IdentityPoolId: pool.identityPoolId,
      Logins: { 'login.cli': 'user-1' },
    }),
  );
  assert.match(dev.IdentityId ?? '', /^us-east-1:/);
  const creds = await client.send(
    new GetCredentialsForIdentityCommand({
      IdentityId: dev.IdentityId,
      Logins: { 'cognito-identity.amazonaws.com': dev.Token! },
    }),
  );
  assert.match(creds.Credentials?.AccessKeyId ?? '', /^ASIA[A-Z0-9]{16}$/);

  // The control endpoint of the child process: counters and a provider token it accepts.
  const control = new EmulatorControlClient(emu.endpoint);
  const counters = await control.counters();
  assert.equal(counters.GetOpenIdTokenForDeveloperIdentity, 1);
  assert.equal(counters.GetCredentialsForIdentity, 1);
  const fbToken = await control.mintProviderToken('graph.facebook.com', 'fb-user');
  const fb = await client.send(
    new GetIdCommand({ IdentityPoolId: pool.identityPoolId, Logins: { 'graph.facebook.com': fbToken } }),
  );
  assert.match(fb.IdentityId ?? '', /^us-east-1:/);
  await control.setFault('GetId', { error: 'InternalErrorException', count: 1 });
  await assert.rejects(client.send(new GetIdCommand({ IdentityPoolId: pool.identityPoolId })), {
    name: 'InternalErrorException',
  });

  emu.child.kill('SIGTERM');
  const { code, signal } = await emu.exit;
  assert.equal(signal, null);
  assert.equal(code, 0, emu.stderr());
});

/**
 * Waits until the child serves HTTP (its signal handlers are installed before it prints, but under a
 * loaded machine the first request proves the event loop is running), then sends `signal` and waits
 * a bounded time for the exit, so that a hang fails with the child's stderr instead of the runner's
 * timeout.
 */
async function stopWith(
  run: Running,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const res = await fetch(`${run.endpoint}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(START_TIMEOUT_MS),
  });
  await res.arrayBuffer();
  assert.equal(res.status, 200);
  run.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`bin did not exit within ${START_TIMEOUT_MS} ms of ${signal}; stderr: ${run.stderr()}`));
    }, START_TIMEOUT_MS);
  });
  try {
    return await Promise.race([run.exit, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

void test('SIGINT also stops it with 0, and a state file keeps the seeded pool across restarts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cib-cli-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const stateFile = join(dir, 'state.json');
  const first = await startCli(t, ['--state-file', stateFile, '--seed', 'kept:login.kept'], 1);
  assert.deepEqual(await stopWith(first, 'SIGINT'), { code: 0, signal: null }, first.stderr());
  assert.equal((JSON.parse(readFileSync(stateFile, 'utf8')) as { version: number }).version, 2);
  const second = await startCli(t, ['--state-file', stateFile, '--seed', 'kept:login.kept'], 1);
  assert.equal(second.pools[0]?.identityPoolId, first.pools[0]?.identityPoolId);
  assert.deepEqual(await stopWith(second, 'SIGTERM'), { code: 0, signal: null }, second.stderr());
});

void test('bad arguments exit with 2 and a clear message on stderr; --help exits with 0', async () => {
  for (const [args, message] of [
    [['--port', 'eighty'], /--port must be an integer/],
    [['--no-such-flag'], /no-such-flag/],
    [['--allow-guests'], /apply to seeded pools/],
  ] as [string[], RegExp][]) {
    const run = spawnCli(args);
    const { code } = await run.exit;
    assert.equal(code, 2, args.join(' '));
    assert.match(run.stderr(), /^cognito-identity-emulator: /);
    assert.match(run.stderr(), message);
  }
  const help = spawnCli(['--help']);
  let out = '';
  help.child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  assert.equal((await help.exit).code, 0);
  assert.match(out, /^Usage: cognito-identity-emulator/);
});

void test('a damaged state file: exit 1, the file named, its bytes untouched', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cib-cli-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const stateFile = join(dir, 'state.json');
  writeFileSync(stateFile, '{"version":1,"region":');
  const run = spawnCli(['--state-file', stateFile]);
  assert.equal((await run.exit).code, 1);
  assert.match(run.stderr(), /cannot start: .*state\.json.*damaged/);
  assert.equal(readFileSync(stateFile, 'utf8'), '{"version":1,"region":');
});

void test('the bin enforces the documented quotas with --quotas aws', async (t) => {
  const emu = await startCli(t, ['--quotas', 'aws', '--region', 'eu-west-1', '--seed', 'quota pool:login.quota'], 1);
  const pool = emu.pools[0]!;
  assert.match(pool.identityPoolId, /^eu-west-1:/);
  const client = new CognitoIdentityClient({
    endpoint: emu.endpoint,
    region: 'eu-west-1',
    credentials: CREDS,
    maxAttempts: 1,
  });
  t.after(() => {
    client.destroy();
  });
  // 40 ListIdentities calls at once against a quota of 5 a second: on any machine, some are throttled
  // and at least the quota passes (how many more depends on how many seconds the burst spans).
  const settled = await Promise.allSettled(
    Array.from({ length: 40 }, () =>
      client.send(new ListIdentitiesCommand({ IdentityPoolId: pool.identityPoolId, MaxResults: 1 })),
    ),
  );
  const throttled = settled.filter(
    (r) => r.status === 'rejected' && (r.reason as Error).name === 'TooManyRequestsException',
  ).length;
  const ok = settled.filter((r) => r.status === 'fulfilled').length;
  assert.equal(ok + throttled, 40);
  assert.ok(throttled >= 1, `throttled ${String(throttled)}`);
  assert.ok(ok >= 5, `ok ${String(ok)}`);
});
