// The examples run as a user runs them, each its own Node process (`node --import tsx …` in the
// package's root) with only the environment a test gives it, over the emulator: the environment of
// an app on the emulator's pool, the example app's processes (examples/express-app/server.ts: started
// to its banner, or to a failed start's exit code and stderr; all stopped after), and a browser that
// keeps the session's cookie; what the app left in Redis, read back.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClient } from 'redis';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';

export type NodeProcess = ChildProcessByStdio<null, Readable, Readable>;

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dropWarning = pathToFileURL(join(root, 'scripts', 'drop-sdk-node-version-warning.mjs')).href;

/** Only what the app and Node need: no AWS profile or settings of this shell reach a child. */
export function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(name)),
  ) as Record<string, string>;
}

/** The broker's side of an app's environment: the emulator's first pool, and no AWS file or metadata of this machine. */
export function emulatorEnv(emu: RunningEmulator): Record<string, string> {
  const pool = emu.pools[0]!;
  return {
    COGNITO_IDENTITY_POOL_ID: pool.identityPoolId,
    COGNITO_DEVELOPER_PROVIDER: pool.developerProviderName!,
    AWS_ENDPOINT_URL_COGNITO_IDENTITY: emu.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_CONFIG_FILE: join(root, 'no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(root, 'no-such-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** Spawns `node --import tsx ...args` in the package's root with exactly `env`, stdout and stderr piped. */
export function spawnTsx(args: readonly string[], env: Record<string, string>): NodeProcess {
  return spawn(process.execPath, ['--import', dropWarning, '--import', 'tsx', ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** An emulator with one pool named `name` as the example app wants it: its developer provider, guests, Facebook links. */
export function startExampleEmulator(name: string): Promise<RunningEmulator> {
  return startEmulator({
    seed: [
      {
        name,
        developerProviderName: 'login.demo.app',
        allowUnauthenticatedIdentities: true,
        supportedLoginProviders: { 'graph.facebook.com': 'demo-app-id' },
      },
    ],
  });
}

/** The example app's environment (JSON logs at warn, guests allowed) on the emulator, without its Redis. */
export function exampleAppEnv(
  emu: RunningEmulator,
  secrets: { readonly sessionSecret: string; readonly cacheKey: string },
): Record<string, string> {
  return {
    ...inheritedEnv(),
    PORT: '0',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'warn',
    SESSION_SECRET: secrets.sessionSecret,
    CACHE_ENCRYPTION_KEYS: `k1:${secrets.cacheKey}`,
    ...emulatorEnv(emu),
    COGNITO_ALLOW_GUESTS: 'true',
  };
}

export interface ExampleInstance {
  readonly proc: NodeProcess;
  readonly url: string;
  /** What it printed on stdout. */
  stdout(): string;
  /** What it printed on stdout and stderr, as it came. */
  output(): string;
}

/** Instances of examples/express-app/server.ts, each on `env()` and its overrides; `stop()` ends every one. */
export class ExampleApps {
  readonly #procs: NodeProcess[] = [];

  constructor(
    private readonly env: () => Record<string, string>,
    /** How long a start may take to its banner (or a failed start to its exit). */
    private readonly limitMs: number,
  ) {}

  #spawn(overrides: Record<string, string>): NodeProcess {
    const proc = spawnTsx(['examples/express-app/server.ts'], { ...this.env(), ...overrides });
    this.#procs.push(proc);
    return proc;
  }

  /** Starts an instance; resolves once it prints its URL. */
  start(overrides: Record<string, string> = {}): Promise<ExampleInstance> {
    const proc = this.#spawn(overrides);
    let stdout = '';
    let output = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no banner within ${this.limitMs} ms: ${output}`));
      }, this.limitMs);
      proc.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        output += d;
        const url = /Cognito identity broker demo: (http:\/\/\S+?)\/\s/.exec(stdout)?.[1];
        if (url === undefined) return;
        clearTimeout(timer);
        resolve({ proc, url, stdout: () => stdout, output: () => output });
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the instance exited (${String(code)}): ${output}`));
      });
    });
  }

  /** Runs an instance that must fail to start: its exit code and stderr (killed after the limit). */
  async failedStart(overrides: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    const proc = this.#spawn(overrides);
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    proc.stdout.resume();
    const timer = setTimeout(() => proc.kill('SIGKILL'), this.limitMs);
    const [code] = (await once(proc, 'close')) as [number | null];
    clearTimeout(timer);
    return { code, stderr: err };
  }

  /** SIGTERM to every instance still running (SIGKILL after 10 s); resolves once all have exited. */
  async stop(): Promise<void> {
    for (const proc of this.#procs) {
      if (proc.exitCode !== null || proc.signalCode !== null) continue;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

/** A browser's cookie jar of one cookie, the session's, on the app at `base` (or at what it returns when called). */
export class Browser {
  cookie = '';
  readonly #base: () => string;

  constructor(base: string | (() => string)) {
    this.#base = typeof base === 'string' ? () => base : base;
  }

  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(`${this.#base()}${path}`, {
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

  /** Sends, asserts the status (200 unless told), and parses the JSON body. */
  async json<T>(method: string, path: string, body?: unknown, status = 200): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await res.text();
    assert.equal(res.status, status, `${method} ${path}: ${text}`);
    return JSON.parse(text) as T;
  }
}

/** Asserts that the example app at `url` is ready in fleet mode: shared tier, sessions connected, keys that open. */
export async function assertFleetReady(url: string): Promise<void> {
  const res = await fetch(`${url}/readyz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    status: 'ready',
    fleet: { state: 'shared', sessions: 'connected', keys: 'ok' },
  });
}

/** Every key of the Redis (or cluster node) at `url` and every value under it, as text: `[key, ...values]` per key. */
export async function dumpRedis(url: string): Promise<string[][]> {
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
        else if (type === 'stream') out.push([key, JSON.stringify(await client.xRange(key, '-', '+'))]);
        else out.push([key, `a ${type} this test does not read`]);
      }
    }
    return out;
  } finally {
    await client.close();
  }
}

/** Asserts that `entries` (from dumpRedis) hold a key starting with `prefix`. */
export function assertHasKey(entries: readonly string[][], prefix: string, what: string): void {
  assert.ok(
    entries.some(([key]) => key?.startsWith(prefix) === true),
    what,
  );
}

/** Asserts that no key or value of `entries` (from dumpRedis) holds any of `names` in clear. */
export function assertNoneNamed(entries: readonly string[][], names: readonly string[]): void {
  for (const name of names) {
    const holders = entries.filter((texts) => texts.some((text) => text.includes(name)));
    assert.deepEqual(holders, [], `${name} in clear in Redis`);
  }
}
