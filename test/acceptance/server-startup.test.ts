// examples/express-app/server.ts started the way `npm start` starts it, in a child process: a start that
// cannot succeed exits non-zero with one line naming the problem and the fix; a good start serves and
// stops on SIGTERM. Each child is killed if it has not exited after 20 s, and that is a failure.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LIMIT_MS = 20_000;
const tmp = mkdtempSync(join(tmpdir(), 'server-startup-'));
const children = new Set<ChildProcess>();
let started = 0;
const held: Server[] = [];

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(tmp, { recursive: true, force: true });
});

/** `npm start`'s command line (`node --import … server.ts`), run with process.execPath. */
function startArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = pkg.scripts.start.split(' ');
  assert.equal(command, 'node');
  return args;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Started {
  readonly child: ChildProcess;
  readonly exit: Promise<Exit>;
  /** Resolves with stdout so far once it contains `text`. */
  readonly waitFor: (text: RegExp) => Promise<string>;
}

function start(env: Record<string, string>): Started {
  // The child gets none of this shell's settings for the app, and no NODE_TEST_CONTEXT.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !/^(PORT|HOST|EMULATOR_|COGNITO_|SESSION_SECRET|LOG_LEVEL|LOG_FORMAT|NODE_TEST_CONTEXT|AWS_)/.test(name),
    ),
  );
  const child = spawn(process.execPath, startArgs(), {
    cwd: root,
    env: { ...base, EMULATOR_STATE_FILE: join(tmp, `state-${++started}.json`), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const waiters: { text: RegExp; resolve: (s: string) => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (const w of waiters.filter((x) => x.text.test(stdout))) w.resolve(stdout);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exit = new Promise<Exit>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, LIMIT_MS);
    // 'close' comes after the exit and after stdout and stderr have ended.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const waitFor = (text: RegExp): Promise<string> =>
    text.test(stdout)
      ? Promise.resolve(stdout)
      : Promise.race([
          new Promise<string>((resolve) => waiters.push({ text, resolve })),
          exit.then((e) => {
            throw new Error(
              `the server exited (${String(e.code ?? e.signal)}) before printing ${String(text)}: ${e.stderr}`,
            );
          }),
        ]);
  return { child, exit, waitFor };
}

/** Runs a start that must fail, and returns its single stderr line. */
async function failedStart(env: Record<string, string>, exitCode: number): Promise<string> {
  const { code, signal, stdout, stderr } = await start(env).exit;
  assert.notEqual(signal, 'SIGKILL', `still running after ${LIMIT_MS / 1000} s; stderr: ${stderr}`);
  assert.equal(code, exitCode, stderr);
  assert.equal(stdout, '', 'nothing on stdout: no banner, no log line');
  const lines = stderr.split('\n');
  assert.equal(lines.length, 2, `one line on stderr, got: ${stderr}`);
  assert.equal(lines[1], '');
  assert.match(lines[0]!, /^cannot start the example app: /);
  assert.doesNotMatch(stderr, /\n\s+at |Error:/, 'no stack trace');
  return lines[0]!;
}

async function holdPort(): Promise<number> {
  const server = createServer();
  held.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

void describe('npm start that cannot start', () => {
  void test('exits 1 naming the port when PORT is taken, with a PORT=… command that works', async () => {
    const port = await holdPort();
    const line = await failedStart({ PORT: String(port) }, 1);
    assert.ok(line.includes(`port ${port} on 127.0.0.1 is already in use`), line);
    const suggested = /PORT=(\d+) npm start/.exec(line);
    assert.ok(suggested, line);
    assert.notEqual(Number(suggested[1]), port);
  });

  void test('exits 1 when EMULATOR_PORT is taken, before the app port stays bound', async () => {
    const port = await holdPort();
    const line = await failedStart({ PORT: '0', EMULATOR_PORT: String(port) }, 1);
    assert.ok(line.includes(`the emulator's port ${port} on 127.0.0.1 is already in use`), line);
    assert.match(line, /EMULATOR_PORT=\d+ npm start/);
  });

  void test('exits 1 when HOST is not an address of this machine', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never local, and binding it sends nothing.
    const line = await failedStart({ PORT: '0', HOST: '192.0.2.1' }, 1);
    assert.match(line, /HOST="192\.0\.2\.1" is not an address of this machine\. .*HOST=127\.0\.0\.1 npm start/);
  });

  void test('exits 1 with the state file named when the emulator state is damaged', async () => {
    const file = join(tmp, 'damaged.json');
    writeFileSync(file, '{"not":"a state file"}');
    const line = await failedStart({ PORT: '0', EMULATOR_STATE_FILE: file }, 1);
    assert.ok(line.includes(file), line);
    assert.match(line, /EMULATOR_STATE_FILE=\S+ npm start/);
  });

  const bad: [env: Record<string, string>, message: RegExp][] = [
    [{ PORT: 'abc' }, /PORT="abc" is not a port number .*PORT=3001 npm start/],
    [{ PORT: '70000' }, /PORT="70000" is not a port number/],
    [{ EMULATOR_PORT: 'x' }, /EMULATOR_PORT="x" is not a port number .*EMULATOR_PORT=\d+ npm start/],
    [{ HOST: 'not a host' }, /HOST="not a host" is neither an IP address nor a host name/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL="loud" is not one of fatal, error, warn, info, debug, trace, silent/],
    [{ COGNITO_ALLOW_GUESTS: 'yes' }, /COGNITO_ALLOW_GUESTS="yes" is neither true nor false/],
    [
      { COGNITO_IDENTITY_POOL_ID: 'us-east-1_abc' },
      /COGNITO_IDENTITY_POOL_ID="us-east-1_abc" is not an identity pool id/,
    ],
  ];
  for (const [env, message] of bad) {
    void test(`exits 2 on ${Object.entries(env)[0]!.join('=')}`, async () => {
      assert.match(await failedStart(env, 2), message);
    });
  }

  void test('exits 2 on a short SESSION_SECRET without printing it', async () => {
    const line = await failedStart({ SESSION_SECRET: 'hunter2-secret' }, 2);
    assert.match(line, /SESSION_SECRET is 14 characters long; it needs at least 16/);
    assert.ok(!line.includes('hunter2'));
  });
});

void describe('npm start on real Cognito (the SDK pointed at an emulator)', () => {
  let emu: RunningEmulator | undefined;
  const DEV = 'login.real.app';
  after(async () => {
    await emu?.stop();
  });
  /** What `COGNITO_*` npm start needs, with the SDK's own endpoint variable aimed at 127.0.0.1. */
  async function cognitoEnv(pool: number, credentials = true): Promise<Record<string, string>> {
    emu ??= await startEmulator({
      seed: [
        { name: 'real-good', developerProviderName: DEV },
        { name: 'real-no-roles', developerProviderName: DEV, roles: {} },
      ],
    });
    return {
      PORT: '0',
      LOG_LEVEL: 'warn',
      COGNITO_IDENTITY_POOL_ID: emu.pools[pool]!.identityPoolId,
      COGNITO_DEVELOPER_PROVIDER: DEV,
      AWS_ENDPOINT_URL_COGNITO_IDENTITY: emu.endpoint,
      // Nothing of this machine's AWS setup, and no instance metadata lookup off 127.0.0.1.
      AWS_CONFIG_FILE: join(tmp, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(tmp, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9/',
      ...(credentials
        ? { AWS_ACCESS_KEY_ID: 'AKIDSTARTUPTEST', AWS_SECRET_ACCESS_KEY: 'startup-test-secret-key-0123456789' }
        : {}),
    };
  }

  void test('exits 2 when only COGNITO_IDENTITY_POOL_ID is set, instead of falling back to the emulator', async () => {
    const line = await failedStart({ COGNITO_IDENTITY_POOL_ID: 'us-east-1:0f0e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b' }, 2);
    assert.match(
      line,
      /COGNITO_IDENTITY_POOL_ID is set but COGNITO_DEVELOPER_PROVIDER is not: Amazon Cognito needs both/,
    );
  });

  void test('exits 2 when only COGNITO_DEVELOPER_PROVIDER is set', async () => {
    const line = await failedStart({ COGNITO_DEVELOPER_PROVIDER: 'login.example.app' }, 2);
    assert.match(line, /COGNITO_DEVELOPER_PROVIDER is set but COGNITO_IDENTITY_POOL_ID is not/);
  });

  void test('exits 1 naming a pool without an authenticated role', async () => {
    const env = await cognitoEnv(1);
    const line = await failedStart(env, 1);
    assert.ok(
      line.includes(
        `Amazon Cognito is not usable: identity pool ${env.COGNITO_IDENTITY_POOL_ID!} has no authenticated role`,
      ),
      line,
    );
    assert.ok(!line.includes(env.AWS_SECRET_ACCESS_KEY!), 'no secret in the line');
  });

  void test('exits 1 naming missing AWS credentials', async () => {
    const line = await failedStart(await cognitoEnv(0, false), 1);
    assert.match(line, /Amazon Cognito is not usable: no AWS credentials/);
  });

  void test('starts on a usable pool and says so', async () => {
    const run = start(await cognitoEnv(0));
    const banner = await run.waitFor(/Demo logins:/);
    assert.match(banner, /Backend: Amazon Cognito, pool us-east-1:[0-9a-f-]+ \(real-good, checked\)/);
    run.child.kill('SIGTERM');
    const { code, signal, stderr } = await run.exit;
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);
  });
});

void test('npm start on a free port prints the banner with nothing on stderr, serves, and exits 0 on SIGTERM', async () => {
  const run = start({ PORT: '0', LOG_LEVEL: 'warn' });
  const banner = await run.waitFor(/Demo logins:/);
  const url = /demo: (http:\/\/127\.0\.0\.1:\d+)\//.exec(banner)?.[1];
  assert.ok(url, banner);
  const res = await fetch(`${url}/`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  run.child.kill('SIGTERM');
  const { code, signal, stderr } = await run.exit;
  assert.equal(signal, null);
  assert.equal(code, 0);
  // On Node 20 the AWS SDK would print its NodeVersionSupportWarning here; npm start's preload drops it.
  assert.equal(stderr, '');
});

void test('npm start logs one short line per request by default, and JSON lines with LOG_FORMAT=json', async () => {
  for (const [env, line] of [
    [{ PORT: '0' }, /^GET \/me 200 \d+ms$/m],
    [{ PORT: '0', LOG_FORMAT: 'json' }, /^\{"level":30,.*"req":\{.*"url":"\/me".*"statusCode":200.*\}$/m],
  ] as const) {
    const run = start(env);
    try {
      const banner = await run.waitFor(/Demo logins:/);
      const url = /demo: (http:\/\/127\.0\.0\.1:\d+)\//.exec(banner)?.[1];
      assert.ok(url, banner);
      const res = await fetch(`${url}/me`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const out = await run.waitFor(line);
      if (env.LOG_FORMAT === undefined) {
        // The banner is not buried: what follows it is short lines.
        for (const l of out.slice(out.indexOf('Demo logins:')).split('\n')) assert.ok(l.length <= 120, l);
      }
    } finally {
      run.child.kill('SIGTERM');
      await run.exit;
    }
  }
});
