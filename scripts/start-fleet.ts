// `npm run start:fleet`: a local fleet of the example app, for trying fleet mode on one machine.
//
// Starts Debian's redis-server (a free loopback port, no persistence, in a temporary folder), one
// Cognito emulator in its own process (127.0.0.1, port 0, strict SigV4 with keys made for this run,
// the same demo pool as `npm start`'s embedded one), and N instances of examples/express-app/server.ts
// (default 3) on free ports in fleet mode, all with the same SESSION_SECRET and encryption key. It
// prints their URLs; Ctrl-C or SIGTERM stops the apps first, then the emulator and Redis, and removes
// the folder. Options: --instances N (1-9), --cluster (a local Redis Cluster instead of one node: 3
// masters and 3 replicas from scripts/redis-cluster.ts, the apps given REDIS_CLUSTER_NODES), --json
// (one JSON line with the URLs and pids once every process is up, for tests).
//
// The session secret and the encryption key are generated here because this fleet lives for one run
// on one machine: this script is the one place that does that. A real fleet gets them from its secret
// store, the same on every instance (the app itself refuses to start without them).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { redisCommand, startRedisCluster, type RedisCluster } from './redis-cluster.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
/** What `npm start` runs node with: the SDK's Node-version warning dropped, TypeScript through tsx. */
const NODE_ARGS = ['--import', join(root, 'scripts', 'drop-sdk-node-version-warning.mjs'), '--import', 'tsx'];
const SERVER = join(root, 'examples', 'express-app', 'server.ts');
const DEMO_POOL = 'express-app-demo';
const DEMO_PROVIDER = 'login.demo.app';
const LINK_PROVIDER = 'graph.facebook.com';
/** Generous: a busy 2-core machine starts three TypeScript apps at once. */
const START_TIMEOUT_MS = 90_000;
/** How long each process may take to stop after SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
const EMULATOR_KEY_ENV = 'START_FLEET_EMULATOR_KEY';

interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  /** Resolves with the first stdout line `match` accepts (earlier lines included), or rejects when the child exits. */
  waitLine(match: (line: string) => boolean, what: string, deadline: number): Promise<string>;
  /** From now on, an exit of the child stops the fleet. */
  supervise(): void;
  /** The first stdout lines (up to {@link KEPT_LINES}). */
  firstLines(): readonly string[];
}

/** How many of a child's first stdout lines are kept for {@link Child.waitLine}. */
const KEPT_LINES = 100;

const children: Child[] = [];
let stopping = false;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Runs a child in its own process group (Ctrl-C reaches only this script, which stops them in order),
 * its output relayed line by line with its name in front; `hide(line)` may keep a stdout line back.
 */
function launch(
  name: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  hide: (line: string) => boolean = () => false,
): Child {
  const proc = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      resolve();
    });
    proc.once('error', () => {
      resolve();
    });
  });
  const kept: string[] = [];
  const waiters = new Set<(line: string) => void>();
  createInterface({ input: proc.stdout, crlfDelay: Infinity }).on('line', (line) => {
    if (kept.length < KEPT_LINES) kept.push(line);
    for (const w of waiters) w(line);
    if (!hide(line)) process.stdout.write(`[${name}] ${line}\n`);
  });
  createInterface({ input: proc.stderr, crlfDelay: Infinity }).on('line', (line) => {
    process.stderr.write(`[${name}] ${line}\n`);
  });
  let supervised = false;
  void exited.then(() => {
    if (supervised && !stopping) {
      process.stderr.write(
        `start-fleet: ${name} exited (${String(proc.exitCode ?? proc.signalCode)}); stopping the fleet\n`,
      );
      void stopAll(1);
    }
  });
  const child: Child = {
    name,
    proc,
    exited,
    waitLine(match, what, deadline) {
      const early = kept.find(match);
      if (early !== undefined) return Promise.resolve(early);
      return new Promise<string>((resolve, reject) => {
        const waiter = (line: string): void => {
          if (!match(line)) return;
          done();
          resolve(line);
        };
        const timer = setTimeout(
          () => {
            done();
            reject(new Error(`${name} did not print ${what} in time`));
          },
          Math.max(0, deadline - Date.now()),
        );
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        waiters.add(waiter);
        void exited.then(() => {
          done();
          reject(new Error(`${name} exited before printing ${what}`));
        });
      });
    },
    supervise() {
      supervised = true;
    },
    firstLines: () => kept,
  };
  children.push(child);
  return child;
}

async function stopChild(child: Child): Promise<void> {
  const { proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGCONT');
  proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    child.exited,
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        proc.kill('SIGKILL');
        resolve();
      }, STOP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  await child.exited;
}

let tempDir: string | undefined;
let stopped: Promise<never> | undefined;
/** With --cluster: the local Redis Cluster (its nodes are the launcher's children, not {@link children}). */
let cluster: Promise<RedisCluster> | undefined;

/** Stops the apps first (they close their Redis connections), then the emulator and Redis. */
function stopAll(code: number): Promise<never> {
  stopping = true;
  stopped ??= (async () => {
    const apps = children.filter((c) => c.name.startsWith('app-'));
    await Promise.all(apps.map(stopChild));
    await Promise.all(children.filter((c) => !apps.includes(c)).map(stopChild));
    // A launch under way is waited for, so that none of its nodes outlives the script.
    await cluster?.then((c) => c.stop()).catch(() => undefined);
    if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
    process.exit(code);
  })();
  return stopped;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

function pong(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => {
      done(false);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.once('data', (d) => {
      done(d.toString('utf8').startsWith('+PONG'));
    });
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

function redisServerBinary(): string {
  for (const candidate of ['redis-server', '/usr/bin/redis-server', '/usr/sbin/redis-server']) {
    if (spawnSync(candidate, ['--version']).status === 0) return candidate;
  }
  throw new Error('redis-server is not installed (Debian, Ubuntu: sudo apt-get install redis-server)');
}

/** redis-server on a free loopback port, no persistence, in `dir`: its URL once it answers PING. */
async function startRedis(dir: string, deadline: number): Promise<{ url: string; child: Child }> {
  const binary = redisServerBinary();
  // The probed port may be taken before redis-server binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'];
    args.push('--dir', dir, '--daemonize', 'no', '--loglevel', 'warning', '--protected-mode', 'yes');
    // Its start-up lines (notices about this machine's kernel settings) stay back unless it fails.
    let up = false;
    const child = launch('redis', binary, args, baseEnv(), () => !up);
    for (;;) {
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) break;
      if (await pong(port)) {
        up = true;
        child.supervise();
        return { url: `redis://127.0.0.1:${port}`, child };
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} in time`);
      await new Promise((r) => setTimeout(r, 50));
    }
    children.splice(children.indexOf(child), 1);
    if (attempt >= 3) throw new Error(`redis-server did not start: ${child.firstLines().join(' / ')}`);
  }
}

/**
 * `--cluster`: a local Redis Cluster of 3 masters and 3 replicas (scripts/redis-cluster.ts, its own
 * temporary folder), its seed URLs for REDIS_CLUSTER_NODES and its nodes' pids (for --json).
 */
async function startCluster(): Promise<{ seeds: string; pids: number[] }> {
  cluster = startRedisCluster({ masters: 3, replicas: 1 });
  const started = await cluster;
  const pids = await Promise.all(
    started.nodes.map(async (node) => {
      const info = await redisCommand(node.port, ['INFO', 'server']);
      return Number(/process_id:(\d+)/.exec(String(info))?.[1]);
    }),
  );
  return { seeds: started.seedUrls, pids };
}

/** The environment of every child: this shell's, without any setting of the app or of AWS. */
function baseEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !/^(PORT|HOST|EMULATOR_|COGNITO_|SESSION_SECRET|REDIS_URL|REDIS_CLUSTER_NODES|CACHE_ENCRYPTION_|TRUST_PROXY|AWS_|NODE_TEST_CONTEXT|START_FLEET_)/.test(
          name,
        ),
    ),
  );
}

/** The `--emulator` role: the demo pool on 127.0.0.1, developer calls signed with the run's key only. */
async function runEmulator(): Promise<void> {
  const { startEmulator } = await import('../src/emulator/index.js');
  const [accessKeyId = '', secretAccessKey = ''] = (process.env[EMULATOR_KEY_ENV] ?? '').split(':');
  const emulator = await startEmulator({
    host: '127.0.0.1',
    port: 0,
    strictSigV4: [{ accessKeyId, secretAccessKey }],
    seed: [
      {
        name: DEMO_POOL,
        developerProviderName: DEMO_PROVIDER,
        allowUnauthenticatedIdentities: true,
        supportedLoginProviders: { [LINK_PROVIDER]: 'demo-app-id' },
      },
    ],
  });
  const stop = (): void => {
    void emulator.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  say(emulator.endpoint);
  for (const pool of emulator.pools) say(JSON.stringify(pool));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      emulator: { type: 'boolean', default: false },
    },
  });
  if (values.emulator) {
    await runEmulator();
    return;
  }
  if (!/^[1-9]$/.test(values.instances)) throw new Error('--instances must be an integer from 1 to 9');
  const instances = Number(values.instances);
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));
  const deadline = Date.now() + START_TIMEOUT_MS;
  const dir = mkdtempSync(join(tmpdir(), 'start-fleet-'));
  tempDir = dir;

  const redis = values.cluster ? await startCluster() : await startRedis(dir, deadline);

  // Made for this run (see the top of the file); never printed.
  const developerKey = {
    id: `AKIDFLEET${randomBytes(6).toString('hex').toUpperCase()}`,
    secret: randomBytes(30).toString('base64'),
  };
  // The emulator's endpoint and pool lines are read here and shown in the fleet's banner.
  const emulator = launch(
    'emulator',
    process.execPath,
    [...NODE_ARGS, SELF, '--emulator'],
    { ...baseEnv(), [EMULATOR_KEY_ENV]: `${developerKey.id}:${developerKey.secret}` },
    (line) => line.startsWith('http://') || line.startsWith('{'),
  );
  emulator.supervise();
  const endpoint = await emulator.waitLine((l) => l.startsWith('http://'), 'its endpoint', deadline);
  const poolLine = await emulator.waitLine((l) => l.startsWith('{'), 'its pool', deadline);
  const pool = JSON.parse(poolLine) as { identityPoolId: string };

  const appEnv: NodeJS.ProcessEnv = {
    ...baseEnv(),
    HOST: '127.0.0.1',
    PORT: '0',
    ...('seeds' in redis ? { REDIS_CLUSTER_NODES: redis.seeds } : { REDIS_URL: redis.url }),
    SESSION_SECRET: randomBytes(32).toString('base64url'),
    CACHE_ENCRYPTION_KEYS: `local:${randomBytes(32).toString('base64')}`,
    COGNITO_IDENTITY_POOL_ID: pool.identityPoolId,
    COGNITO_DEVELOPER_PROVIDER: DEMO_PROVIDER,
    COGNITO_ALLOW_GUESTS: 'true',
    COGNITO_LINK_PROVIDER: LINK_PROVIDER,
    AWS_ENDPOINT_URL_COGNITO_IDENTITY: endpoint,
    AWS_ACCESS_KEY_ID: developerKey.id,
    AWS_SECRET_ACCESS_KEY: developerKey.secret,
    // Nothing of this machine's AWS setup, and no instance-metadata lookup.
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const apps = Array.from({ length: instances }, (_, i) => {
    // The app's own banner (up to the blank line after its demo logins) gives way to the fleet's;
    // its request log lines pass.
    let inBanner = true;
    let seenLogins = false;
    const hide = (line: string): boolean => {
      if (!inBanner) return false;
      if (line.includes('Demo logins:')) seenLogins = true;
      else if (seenLogins && line === '') inBanner = false;
      return true;
    };
    const child = launch(`app-${i + 1}`, process.execPath, [...NODE_ARGS, SERVER], appEnv, hide);
    child.supervise();
    const url = child
      .waitLine((l) => l.includes('Cognito identity broker demo: http://'), 'its URL', deadline)
      .then((line) => /(http:\/\/\S+?)\/?$/.exec(line)?.[1] ?? '');
    return { child, url };
  });
  const urls = await Promise.all(apps.map((a) => a.url));

  if (values.json) {
    say(
      JSON.stringify({
        apps: apps.map((a, i) => ({ url: urls[i], pid: a.child.proc.pid })),
        emulator: { endpoint, pid: emulator.proc.pid },
        redis:
          'seeds' in redis ? { cluster: redis.seeds, pids: redis.pids } : { url: redis.url, pid: redis.child.proc.pid },
      }),
    );
    return;
  }
  say('');
  say(
    `  A local fleet: ${instances} instances of the example app over ${'seeds' in redis ? 'a Redis Cluster' : 'one Redis'} and one Cognito emulator`,
  );
  for (const url of urls) say(`    ${url}`);
  if ('seeds' in redis) {
    say(`  Redis Cluster: 3 masters and 3 replicas, no persistence: ${redis.seeds}`);
    say(`  Cognito emulator: ${endpoint} (pool ${pool.identityPoolId})`);
  } else {
    say(`  Redis: ${redis.url} (no persistence, in ${dir}) · emulator: ${endpoint} (pool ${pool.identityPoolId})`);
  }
  say('  Log in on one instance and call another: the session, the tokens and the credentials are shared.');
  say('  Demo logins: alice / alice-demo-pass, bob / bob-demo-pass, alice.work / alice-work-pass');
  say('  The session secret and the encryption key were generated for this run only.');
  say('  Ctrl-C stops everything.');
  say('');
}

main().catch((err: unknown) => {
  process.stderr.write(`start-fleet: ${err instanceof Error ? err.message : String(err)}\n`);
  void stopAll(1);
});
