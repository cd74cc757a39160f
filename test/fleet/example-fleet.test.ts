// The example app as a fleet, started the way `npm run start:fleet` starts it (real processes: one
// redis-server, one emulator, two app instances; with --cluster, a 3-master Redis Cluster and three
// instances): a user logged in on one instance is known to the others, and costs Cognito one token
// call and one credentials call for the whole fleet. Every process is stopped after, and the script
// is killed if it has not exited in time (that is a failure).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EmulatorControlClient } from '../../src/emulator/control-client.js';
import { assertFleetReady } from '../helpers/example-app.js';
import { redisClusterSkipReason } from '../helpers/redis-cluster.js';
import { redisSkipReason } from '../helpers/redis-server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const START_LIMIT_MS = 120_000;
const STOP_LIMIT_MS = 30_000;
const TOKEN = 'GetOpenIdTokenForDeveloperIdentity';
const CREDS = 'GetCredentialsForIdentity';

interface Fleet {
  readonly apps: readonly { readonly url: string; readonly pid: number }[];
  readonly emulator: { readonly endpoint: string; readonly pid: number };
  readonly redis:
    { readonly url: string; readonly pid: number } | { readonly cluster: string; readonly pids: readonly number[] };
}

/** Every process the script started. */
function pidsOf(fleet: Fleet): number[] {
  const redis = 'pids' in fleet.redis ? fleet.redis.pids : [fleet.redis.pid];
  return [...fleet.apps.map((a) => a.pid), fleet.emulator.pid, ...redis];
}

/** `npm run start:fleet`'s command line (`node --import … scripts/start-fleet.ts`), run with process.execPath. */
function startFleetArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [command, ...args] = (pkg.scripts['start:fleet'] ?? '').split(' ');
  assert.equal(command, 'node');
  return args;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function fleetSuite(title: string, args: readonly string[], instances: number, skip: string | undefined): void {
  void describe(title, { skip }, () => {
    let script: ChildProcess;
    let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    let fleet: Fleet;
    let stderr = '';

    before(async () => {
      script = spawn(process.execPath, [...startFleetArgs(), ...args, '--instances', String(instances), '--json'], {
        cwd: root,
        env: { ...process.env, LOG_LEVEL: 'warn', NODE_TEST_CONTEXT: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      script.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      exit = new Promise((resolve) => {
        script.once('exit', (code, signal) => {
          resolve({ code, signal });
        });
      });
      let stdout = '';
      fleet = await new Promise<Fleet>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no fleet after ${START_LIMIT_MS / 1000} s; stderr: ${stderr}`));
        }, START_LIMIT_MS);
        script.stdout?.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
          const line = stdout.split('\n').find((l) => l.startsWith('{"apps"'));
          if (line === undefined) return;
          clearTimeout(timer);
          resolve(JSON.parse(line) as Fleet);
        });
        void exit.then(({ code }) => {
          clearTimeout(timer);
          reject(new Error(`start-fleet exited (${String(code)}) before the fleet was up; stderr: ${stderr}`));
        });
      });
    });

    after(() => {
      // Whatever the test left running: the script, then anything it started.
      if (script.exitCode === null && script.signalCode === null) script.kill('SIGKILL');
      const started = fleet as Fleet | undefined;
      if (started === undefined) return;
      for (const pid of pidsOf(started)) {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    });

    void test('a login on one instance works on the others, at one token and one credentials call', async () => {
      const [a, b, ...more] = fleet.apps;
      assert.ok(a !== undefined && b !== undefined);
      assert.equal(fleet.apps.length, instances);
      assert.equal(new Set(fleet.apps.map((app) => app.url)).size, instances);
      const control = new EmulatorControlClient(fleet.emulator.endpoint);
      // The instances' start-up checks (DescribeIdentityPool, GetIdentityPoolRoles) are not the user's.
      await control.resetCounters();

      const login = await fetch(`${a.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-demo-pass' }),
      });
      assert.equal(login.status, 200);
      const { identityId } = (await login.json()) as { identityId: string };
      const cookie = login.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      assert.match(cookie, /^demo\.sid=/);

      const onB = await fetch(`${b.url}/aws/credentials`, { headers: { cookie } });
      assert.equal(onB.status, 200, await onB.clone().text());
      const credsB = (await onB.json()) as { identityId: string; accessKeyId: string };
      assert.equal(credsB.identityId, identityId);

      for (const other of [...more, a]) {
        const res = await fetch(`${other.url}/aws/credentials`, { headers: { cookie } });
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as { accessKeyId: string }).accessKeyId, credsB.accessKeyId);
      }

      const calls = await control.counters();
      assert.equal(calls[TOKEN], 1, JSON.stringify(calls));
      assert.equal(calls[CREDS], 1, JSON.stringify(calls));
    });

    void test("a mobile client's bearer token from one instance works on the other", async () => {
      const [a, b] = fleet.apps;
      assert.ok(a !== undefined && b !== undefined);
      const issued = await fetch(`${a.url}/api/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bob', password: 'bob-demo-pass' }),
      });
      assert.equal(issued.status, 200);
      const { accessToken, identityId } = (await issued.json()) as { accessToken: string; identityId: string };
      const identity = await fetch(`${b.url}/aws/identity`, { headers: { authorization: `Bearer ${accessToken}` } });
      assert.equal(identity.status, 200);
      assert.equal(((await identity.json()) as { identityId: string }).identityId, identityId);
    });

    void test('/readyz reports the shared tier and the sessions connection', async () => {
      for (const app of fleet.apps) await assertFleetReady(app.url);
    });

    void test('SIGTERM stops the script and every process it started', async () => {
      script.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        exit,
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => {
            resolve('timeout');
          }, STOP_LIMIT_MS);
        }),
      ]);
      clearTimeout(timer);
      assert.notEqual(result, 'timeout', `start-fleet still running ${STOP_LIMIT_MS / 1000} s after SIGTERM`);
      assert.deepEqual(result, { code: 0, signal: null }, stderr);
      const left = pidsOf(fleet).filter(alive);
      assert.deepEqual(left, [], 'no process of the fleet outlives the script');
    });
  });
}

fleetSuite(
  'npm run start:fleet: two instances of the example app over one Redis and one emulator',
  [],
  2,
  redisSkipReason(),
);
fleetSuite(
  'npm run start:fleet -- --cluster: three instances of the example app over a 3-master Redis Cluster',
  ['--cluster'],
  3,
  redisClusterSkipReason(),
);
