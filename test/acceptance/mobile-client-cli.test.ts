// examples/mobile-client/client.ts as its README runs it: against `EMULATOR_PORT=… npm start`, and with
// bad arguments (exit 2 and the usage).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ClientUsageError, parseClientArgs } from '../../examples/mobile-client/client.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLIENT = join(root, 'examples', 'mobile-client', 'client.ts');
const tmp = mkdtempSync(join(tmpdir(), 'mobile-client-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(PORT|HOST|EMULATOR_|COGNITO_|SESSION_SECRET|LOG_LEVEL|NODE_TEST_CONTEXT)/.test(name),
    ),
  );
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

void test('parses the documented arguments, with the demo defaults', () => {
  assert.deepEqual(parseClientArgs([]), {
    appUrl: 'http://127.0.0.1:3000',
    username: 'alice',
    password: 'alice-demo-pass',
  });
  assert.deepEqual(parseClientArgs(['http://127.0.0.1:3001', 'bob', 'bob-demo-pass', 'http://127.0.0.1:4566']), {
    appUrl: 'http://127.0.0.1:3001',
    username: 'bob',
    password: 'bob-demo-pass',
    cognitoEndpoint: 'http://127.0.0.1:4566',
  });
  assert.equal(parseClientArgs(['--help']), 'help');
});

void test('refuses arguments it cannot use, naming them', () => {
  const cases: [string[], RegExp][] = [
    [['127.0.0.1:3000'], /^APP_URL "127\.0\.0\.1:3000" is not a URL/],
    [['ftp://127.0.0.1/'], /^APP_URL "ftp:\/\/127\.0\.0\.1\/" must be an http:\/\/ or https:\/\/ URL/],
    [['localhost'], /^APP_URL "localhost" is not a URL/],
    [['http://u:p@127.0.0.1:3000'], /without credentials/],
    [['http://127.0.0.1:3000', 'alice'], /USERNAME needs a PASSWORD/],
    [['http://127.0.0.1:3000', 'alice', 'pw', '4566'], /^COGNITO_ENDPOINT "4566" is not a URL/],
    [['a', 'b', 'c', 'd', 'e'], /at most 4 arguments/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseClientArgs(argv),
      (err: unknown) => err instanceof ClientUsageError && message.test(err.message),
    );
  }
});

void test('a bad argument on the command line exits 2 with the message and the usage', () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', CLIENT, 'http://127.0.0.1:3000', 'alice'], {
    cwd: root,
    env: cleanEnv(),
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(res.status, 2);
  assert.match(res.stderr, /^mobile-client: USERNAME needs a PASSWORD after it\nUsage: /);
});

void test('the README’s flow: EMULATOR_PORT=… npm start, then the client with that emulator endpoint', async () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [command, ...startArgs] = pkg.scripts.start.split(' ');
  assert.equal(command, 'node');
  const emulatorPort = await freePort();
  const server = spawn(process.execPath, startArgs, {
    cwd: root,
    env: {
      ...cleanEnv(),
      PORT: '0',
      EMULATOR_PORT: String(emulatorPort),
      EMULATOR_STATE_FILE: join(tmp, 'state.json'),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => {
    server.kill('SIGKILL');
  }, 60_000);
  try {
    let stdout = '';
    const appUrl = await new Promise<string>((resolve, reject) => {
      server.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        const url = /demo: (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1];
        if (url !== undefined) resolve(url);
      });
      server.once('exit', (code) => {
        reject(new Error(`npm start exited with ${String(code)}`));
      });
    });
    assert.ok(stdout.includes(`embedded emulator at http://127.0.0.1:${emulatorPort} `), stdout);
    const client = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CLIENT, appUrl, 'alice', 'alice-demo-pass', `http://127.0.0.1:${emulatorPort}`],
        { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
      }, 60_000);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: out, stderr: err });
      });
    });
    assert.equal(client.code, 0, client.stderr);
    assert.match(
      client.stdout,
      /^identity us-east-1:[0-9a-f-]+\naccess key [A-Z0-9]+\nexpires \S+\n\(secret key and session token not shown\)\n$/,
    );
  } finally {
    clearTimeout(killer);
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('close', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  }
});
