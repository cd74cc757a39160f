// A real redis-server (Debian's package) for the fleet tests: started on a free loopback port with
// persistence off, in a temporary folder, and stopped after. Never a mock of Redis.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Generous: a busy 2-core machine. */
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

/** The redis-server binary, or `undefined` when it is not installed. */
export function redisServerBinary(): string | undefined {
  for (const candidate of ['redis-server', '/usr/bin/redis-server', '/usr/sbin/redis-server']) {
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

/**
 * Why the fleet suite cannot run here, or `undefined` when it can. CI (`CI=true`) installs
 * redis-server and must run the suite: there, a missing binary is a failure, not a skip.
 */
export function redisSkipReason(): string | undefined {
  if (redisServerBinary() !== undefined) return undefined;
  if (process.env.CI === 'true')
    throw new Error('redis-server is not installed (CI installs it: apt-get install redis-server)');
  return 'redis-server is not installed (apt-get install redis-server)';
}

/** A running redis-server. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** SIGSTOP: the socket stays open but nothing answers (a paused or overloaded server). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Stops the server (SIGKILL: nothing saved, connections drop). Resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (persistence is off). */
  restart(): Promise<void>;
  /** Stops it for good and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
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

/** Resolves once something accepts TCP connections on 127.0.0.1:port and answers PING. */
async function waitReady(port: number, child: ChildProcess, deadline: number): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('redis-server exited at start');
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      const done = (v: boolean): void => {
        socket.destroy();
        resolve(v);
      };
      socket.setTimeout(500, () => {
        done(false);
      });
      socket.once('error', () => {
        done(false);
      });
      socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.once('data', (d) => {
        done(d.toString('utf8').startsWith('+PONG'));
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
}

/**
 * Starts redis-server on a free loopback port, no persistence (`save ""`, `appendonly no`), in a
 * temporary folder. Register `server.stop` with the test's `after`.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const binary = redisServerBinary();
  if (binary === undefined) throw new Error('redis-server is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'cib-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      binary,
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
        '--protected-mode',
        'yes',
        // DEBUG SLEEP from the test's own connection plays a slow server.
        '--enable-debug-command',
        'local',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child = proc;
    try {
      await waitReady(port, proc, Date.now() + START_TIMEOUT_MS);
    } catch (err) {
      proc.kill('SIGKILL');
      await exited(proc);
      throw new Error(`${(err as Error).message}; stderr: ${stderr}`, { cause: err });
    }
  };

  // The free port may be taken between the probe and the start: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }

  const kill = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    const timer = setTimeout(() => undefined, STOP_TIMEOUT_MS);
    await exited(proc);
    clearTimeout(timer);
  };

  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
