// A local Redis Cluster from Debian's redis-server (7.x) for the fleet tests and `npm run start:fleet --
// --cluster`: every node on a free loopback port (the port P and its cluster bus port P + 10000 both
// free), persistence off, all in one temporary folder that `stop` removes. It talks to the nodes with
// a small RESP client of its own (one short connection per command, each bounded in time), so a
// paused or killed node never holds up the launcher.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Generous: a busy 2-core machine. */
const START_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 3_000;
const SETTLE_TIMEOUT_MS = 30_000;
/** Small, so a failover takes a few seconds; the tests pause nodes for longer than this. */
const NODE_TIMEOUT_MS = 1_000;
const BUS_OFFSET = 10_000;
const SLOTS = 16_384;

export interface RedisClusterNode {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** SIGSTOP: the sockets stay open but nothing answers. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** SIGKILL (nothing saved); resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface RedisCluster {
  /** Masters first, then replicas, as created. */
  readonly nodes: readonly RedisClusterNode[];
  /** For node-redis `createCluster({ rootNodes })`. */
  readonly rootNodes: readonly { url: string }[];
  /** Comma-separated node URLs, for `REDIS_CLUSTER_NODES`. */
  readonly seedUrls: string;
  /** The node serving `slot` as master now. */
  masterOf(slot: number): Promise<RedisClusterNode>;
  /** Moves `slots` with their keys to the master `to` (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE). */
  migrate(slots: readonly number[], to: RedisClusterNode): Promise<void>;
  /** Kills a master; resolves with its promoted replica once every slot is served again. */
  failover(master: RedisClusterNode): Promise<RedisClusterNode>;
  /** Stops every node and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** The redis-server and redis-cli binaries, or `undefined` when either is missing. */
export function redisClusterBinaries(): { server: string; cli: string } | undefined {
  const find = (names: string[]): string | undefined =>
    names.find((n) => spawnSync(n, ['--version'], { encoding: 'utf8' }).status === 0);
  const server = find(['redis-server', '/usr/bin/redis-server', '/usr/sbin/redis-server']);
  const cli = find(['redis-cli', '/usr/bin/redis-cli']);
  return server !== undefined && cli !== undefined ? { server, cli } : undefined;
}

// ---- A minimal RESP client: one command per connection ----

type Reply = string | number | null | Reply[];

function encode(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(''), 'utf8');
}

/** One reply from `at`, with where it ends; `undefined` while incomplete. */
function parse(buf: Buffer, at: number): [Reply | Error, number] | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (buf[at]) {
    case 0x2b: // +
      return [line, next];
    case 0x2d: // -
      return [new Error(line), next];
    case 0x3a: // :
      return [Number(line), next];
    case 0x24: {
      // $
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return undefined;
      return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case 0x2a: {
      // *
      const n = Number(line);
      if (n < 0) return [null, next];
      const items: Reply[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, p);
        if (r === undefined) return undefined;
        items.push(r[0] instanceof Error ? r[0].message : r[0]);
        p = r[1];
      }
      return [items, p];
    }
    default:
      throw new Error(`unexpected RESP reply type ${String(buf[at])}`);
  }
}

/** Sends one command to 127.0.0.1:port; rejects on a Redis error, a closed socket or the timeout. */
export function redisCommand(port: number, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined, value?: Reply): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    socket.setTimeout(timeoutMs, () => {
      finish(new Error(`redis ${args[0] ?? ''} on port ${port}: no answer in ${timeoutMs} ms`));
    });
    socket.once('error', (err) => {
      finish(err);
    });
    socket.once('close', () => {
      finish(new Error(`redis ${args[0] ?? ''} on port ${port}: connection closed`));
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      try {
        const r = parse(buf, 0);
        if (r === undefined) return;
        if (r[0] instanceof Error) finish(r[0]);
        else finish(undefined, r[0]);
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.connect(port, '127.0.0.1', () => socket.write(encode(args)));
  });
}

async function text(port: number, args: readonly string[]): Promise<string> {
  const r = await redisCommand(port, args);
  if (typeof r !== 'string') throw new Error(`redis ${args.join(' ')}: not a text reply`);
  return r;
}

// ---- Ports and processes ----

function listenable(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(undefined);
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const got = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => {
        resolve(got);
      });
    });
  });
}

/** A loopback port P with P + 10000 (the cluster bus) free too. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await listenable(0);
    if (port === undefined || port + BUS_OFFSET > 65_535) continue;
    if ((await listenable(port + BUS_OFFSET)) !== undefined) return port;
  }
  throw new Error('no free loopback port pair (P and P + 10000) found');
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true; throws `what` (with the last error) past the deadline. */
async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err instanceof Error ? err : new Error(String(err));
    }
    if (Date.now() > deadline)
      throw new Error(`redis cluster: ${what} not reached in ${timeoutMs} ms${last ? `: ${last.message}` : ''}`);
    await sleep(100);
  }
}

class Node implements RedisClusterNode {
  readonly url: string;
  id = '';
  dead = false;
  paused = false;
  stderr = '';
  constructor(
    readonly port: number,
    readonly proc: ChildProcess,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < 4000) this.stderr += d;
    });
  }
  get usable(): boolean {
    return !this.dead && !this.paused;
  }
  pause(): void {
    if (this.dead) return;
    this.paused = true;
    this.proc.kill('SIGSTOP');
  }
  resume(): void {
    if (this.dead) return;
    this.paused = false;
    this.proc.kill('SIGCONT');
  }
  async kill(): Promise<void> {
    this.dead = true;
    this.proc.kill('SIGCONT');
    this.proc.kill('SIGKILL');
    await exited(this.proc);
  }
}

async function launchNode(binary: string, dir: string): Promise<Node> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePortPair();
    const proc = spawn(
      binary,
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        String(NODE_TIMEOUT_MS),
        // A replica may always take over, however long its master was away (tests pause masters).
        '--cluster-replica-validity-factor',
        '0',
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
        '--enable-debug-command',
        'local',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const node = new Node(port, proc);
    try {
      await until(`node ${port} answering`, START_TIMEOUT_MS, async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error('redis-server exited at start');
        return (await redisCommand(port, ['PING'], 500)) === 'PONG';
      });
      node.id = await text(port, ['CLUSTER', 'MYID']);
      return node;
    } catch (err) {
      await node.kill();
      // The free port may be taken between the probe and the start: try another.
      if (attempt >= 4) throw new Error(`${(err as Error).message}; stderr: ${node.stderr}`, { cause: err });
    }
  }
}

function runCli(cli: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), START_TIMEOUT_MS);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`redis-cli ${args.slice(0, 2).join(' ')} failed (${String(code)}): ${out.slice(-2000)}`));
    });
  });
}

// ---- The cluster ----

/** `[start, end, masterPort]` ranges from a node's CLUSTER SLOTS. */
async function slotRanges(port: number): Promise<[number, number, number][]> {
  const reply = await redisCommand(port, ['CLUSTER', 'SLOTS']);
  if (!Array.isArray(reply)) throw new Error('CLUSTER SLOTS: not an array');
  return reply.map((r) => {
    const [start, end, master] = r as [number, number, [string, number, string]];
    return [start, end, master[1]];
  });
}

/** The master port serving `slot` in `port`'s view, or undefined. */
async function ownerIn(port: number, slot: number): Promise<number | undefined> {
  return (await slotRanges(port)).find(([s, e]) => slot >= s && slot <= e)?.[2];
}

async function isMaster(node: Node): Promise<boolean> {
  const role = await redisCommand(node.port, ['ROLE']);
  return Array.isArray(role) && role[0] === 'master';
}

/** Every usable node says cluster_state:ok and covers all slots with usable masters. */
async function settled(nodes: readonly Node[]): Promise<boolean> {
  const live = new Set(nodes.filter((n) => !n.dead).map((n) => n.port));
  for (const n of nodes.filter((x) => x.usable)) {
    if (!(await text(n.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) return false;
    let covered = 0;
    for (const [s, e, master] of await slotRanges(n.port)) {
      if (!live.has(master)) return false;
      covered += e - s + 1;
    }
    if (covered !== SLOTS) return false;
  }
  return true;
}

export async function startRedisCluster(options: { masters?: number; replicas?: number } = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(masters) || masters < 3) throw new Error('a Redis Cluster needs at least 3 masters');
  if (!Number.isInteger(replicas) || replicas < 0) throw new Error('replicas must be an integer ≥ 0');
  const bins = redisClusterBinaries();
  if (bins === undefined) throw new Error('redis-server and redis-cli are not installed');
  const dir = mkdtempSync(join(tmpdir(), 'cib-redis-cluster-'));
  let all: Node[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(all.map((n) => n.kill()));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < masters * (1 + replicas); i++) all.push(await launchNode(bins.server, dir));
    await runCli(bins.cli, [
      '--cluster',
      'create',
      ...all.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    const nodes = all;
    await until('every node agreeing, replicas in sync', SETTLE_TIMEOUT_MS, async () => {
      if (!(await settled(nodes))) return false;
      for (const n of nodes) {
        const info = await text(n.port, ['CLUSTER', 'INFO']);
        if (!info.includes(`cluster_known_nodes:${nodes.length}`)) return false;
        const repl = await text(n.port, ['INFO', 'replication']);
        if (repl.includes('role:slave') && !repl.includes('master_link_status:up')) return false;
      }
      return true;
    });
    // Masters first, then replicas, each in the order created.
    const roles = await Promise.all(all.map(isMaster));
    all = [...all.filter((_, i) => roles[i]), ...all.filter((_, i) => !roles[i])];
  } catch (err) {
    await stop();
    throw err;
  }

  const nodes: readonly Node[] = all;
  const byPort = (port: number): Node => {
    const n = nodes.find((x) => x.port === port);
    if (n === undefined) throw new Error(`redis cluster: no node on port ${port}`);
    return n;
  };
  const own = (node: RedisClusterNode): Node => {
    const n = nodes.find((x) => x === node);
    if (n === undefined) throw new Error('redis cluster: not a node of this cluster');
    return n;
  };
  const checkSlot = (slot: number): void => {
    if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) throw new Error(`not a slot: ${slot}`);
  };

  const masterOf = async (slot: number): Promise<Node> => {
    checkSlot(slot);
    // The master that itself says it serves the slot; else what the first usable node believes.
    for (const n of nodes.filter((x) => x.usable)) {
      if (!(await isMaster(n))) continue;
      if ((await ownerIn(n.port, slot)) === n.port) return n;
    }
    const first = nodes.find((x) => x.usable);
    const port = first && (await ownerIn(first.port, slot));
    if (port === undefined) throw new Error(`redis cluster: slot ${slot} is not served`);
    return byPort(port);
  };

  const migrate = async (slots: readonly number[], target: RedisClusterNode): Promise<void> => {
    const to = own(target);
    if (!to.usable || !(await isMaster(to))) throw new Error(`redis cluster: node ${to.port} is not a live master`);
    for (const slot of slots) {
      const from = await masterOf(slot);
      if (from === to) continue;
      const s = String(slot);
      await redisCommand(to.port, ['CLUSTER', 'SETSLOT', s, 'IMPORTING', from.id]);
      await redisCommand(from.port, ['CLUSTER', 'SETSLOT', s, 'MIGRATING', to.id]);
      for (;;) {
        const keys = await redisCommand(from.port, ['CLUSTER', 'GETKEYSINSLOT', s, '100']);
        if (!Array.isArray(keys) || keys.length === 0) break;
        const names = keys.map(String);
        await redisCommand(from.port, [
          'MIGRATE',
          '127.0.0.1',
          String(to.port),
          '',
          '0',
          '10000',
          'REPLACE',
          'KEYS',
          ...names,
        ]);
      }
      // The new owner first (it bumps its epoch), then the old, then every other master.
      await redisCommand(to.port, ['CLUSTER', 'SETSLOT', s, 'NODE', to.id]);
      await redisCommand(from.port, ['CLUSTER', 'SETSLOT', s, 'NODE', to.id]);
      for (const n of nodes) {
        if (n === to || n === from || !n.usable || !(await isMaster(n))) continue;
        await redisCommand(n.port, ['CLUSTER', 'SETSLOT', s, 'NODE', to.id]);
      }
    }
    await until('every node seeing the moved slots', SETTLE_TIMEOUT_MS, async () => {
      for (const n of nodes.filter((x) => x.usable))
        for (const slot of slots) if ((await ownerIn(n.port, slot)) !== to.port) return false;
      return true;
    });
  };

  const failover = async (target: RedisClusterNode): Promise<RedisClusterNode> => {
    const master = own(target);
    if (!master.usable || !(await isMaster(master)))
      throw new Error(`redis cluster: node ${master.port} is not a live master`);
    const view = await text(master.port, ['CLUSTER', 'NODES']);
    const replicaPorts = view
      .split('\n')
      .map((line) => line.split(' '))
      .filter((f) => f[2]?.includes('slave') === true && f[3] === master.id)
      .map((f) => Number(/:(\d+)@/.exec(f[1] ?? '')?.[1]));
    const candidates = nodes.filter((n) => replicaPorts.includes(n.port) && n.usable);
    if (candidates.length === 0) throw new Error(`redis cluster: master ${master.port} has no live replica`);
    await master.kill();
    let promoted: Node | undefined;
    await until('a replica promoted and every slot served', SETTLE_TIMEOUT_MS, async () => {
      for (const c of candidates) if (await isMaster(c)) promoted = c;
      return promoted !== undefined && (await settled(nodes));
    });
    if (promoted === undefined) throw new Error('redis cluster: no replica promoted');
    return promoted;
  };

  return {
    nodes,
    rootNodes: nodes.map((n) => ({ url: n.url })),
    seedUrls: nodes.map((n) => n.url).join(','),
    masterOf,
    migrate,
    failover,
    stop,
  };
}
