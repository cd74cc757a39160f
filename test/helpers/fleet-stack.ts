// Several brokers (instances of one app) over one real Redis and one emulator, each broker with its
// own Redis connection and SDK client, as separate processes would have. The Redis is a single
// redis-server, or a 3-master Redis Cluster with one replica each when FLEET_REDIS=cluster (the
// fleet suite runs on both: `npm run test:fleet`, `npm run test:fleet:cluster`).
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { createClient, createCluster } from 'redis';
import { createBroker, type Broker, type BrokerOptions } from '../../src/index.js';
import { redisFleet, type BrokerFleet, type FleetRedisClient, type RedisFleetOptions } from '../../src/fleet/index.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import type { EmulatorOptions } from '../../src/emulator/types.js';
import { emulatorClient } from './emulator-sdk.js';
import { redisSkipReason, startRedisServer, type RedisServer } from './redis-server.js';
import { redisClusterSkipReason, redisCommand, startRedisCluster, type RedisCluster } from './redis-cluster.js';

export const FLEET_PROVIDER = 'login.fleet.app';
export const FLEET_KEY = randomBytes(32).toString('base64');

/** Which Redis the fleet suite runs on: env FLEET_REDIS=cluster, else a single redis-server. */
export const FLEET_REDIS: 'single' | 'cluster' = process.env.FLEET_REDIS === 'cluster' ? 'cluster' : 'single';

/** Why the fleet suite cannot run here (no redis-server, or no redis-cli for a cluster), or `undefined`. */
export function fleetSkipReason(): string | undefined {
  return FLEET_REDIS === 'cluster' ? redisClusterSkipReason() : redisSkipReason();
}

/**
 * The skip reason of a test that needs the one redis-server itself (`what` it does to it): under
 * FLEET_REDIS=cluster it runs in the single-node run only.
 */
export function singleNodeOnly(what: string): string | undefined {
  if (FLEET_REDIS === 'cluster') return `single node only (${what}): runs under FLEET_REDIS=single`;
  return redisSkipReason();
}

/**
 * In a test that needs the one redis-server itself (`what` it does to it): under FLEET_REDIS=cluster,
 * marks the test skipped and returns true (the test returns at once).
 */
export function skipOnCluster(t: TestContext, what: string): boolean {
  if (FLEET_REDIS !== 'cluster') return false;
  t.skip(`single node only (${what}): runs under FLEET_REDIS=single`);
  return true;
}

const SOCKET = { connectTimeout: 5000, reconnectStrategy: () => 100 };

function newClient(url: string) {
  return createClient({ url, socket: SOCKET });
}
function newCluster(cluster: RedisCluster) {
  return createCluster({ rootNodes: [...cluster.rootNodes], defaults: { socket: SOCKET } });
}
export type RedisClient = ReturnType<typeof newClient>;
export type RedisClusterClient = ReturnType<typeof newCluster>;
/** A connection of either kind: what `redisFleet({ client })` takes. */
export type FleetConnection = RedisClient | RedisClusterClient;

/**
 * The connection as `redisFleet` types it. Both kinds fit its structural `FleetRedisClient` today;
 * should node-redis type one differently (a cluster's methods are generic over its modules and RESP
 * version), the cast for the type checker belongs here, once.
 */
export function asFleetClient(connection: FleetConnection): FleetRedisClient {
  return connection;
}

/** One instance: its broker, its fleet tier and its Redis connection. */
export interface FleetInstance {
  readonly broker: Broker;
  readonly fleet: BrokerFleet;
  readonly redis: FleetConnection;
}

/** Lines seen since a watch began; `stop` ends it. */
export interface Watch {
  readonly lines: string[];
  stop(): void;
}

export interface FleetStack {
  readonly mode: 'single' | 'cluster';
  /** The one redis-server (kill, restart): single node only, throws under FLEET_REDIS=cluster. */
  readonly redisServer: RedisServer;
  /** The cluster (migrate, failover, nodes): under FLEET_REDIS=cluster only, else throws. */
  readonly cluster: RedisCluster;
  readonly emu: RunningEmulator;
  readonly poolId: string;
  /** The one server's connection of the test's own (raw keys, CONFIG, FLUSHALL): single node only. */
  readonly admin: RedisClient;
  /** A connection of the test's own in either mode (a cluster client routes each key to its node). */
  readonly client: FleetConnection;
  /** A new connection of the stack's kind (the test destroys it, or gives it to an instance). */
  connect(): Promise<FleetConnection>;
  /** Every key of every master matching `pattern`. */
  keys(pattern: string): Promise<string[]>;
  /** Every key of every master with its type and whole value, as one text. */
  dump(): Promise<string>;
  /** A round trip to every master: what was sent before has been handled (and reached MONITOR). */
  pingAll(): Promise<void>;
  /** Every command every master receives from now on (MONITOR). */
  monitor(): Promise<Watch>;
  /**
   * Every channel message from now on: a pattern subscription; on a cluster also the SPUBLISH
   * commands the masters receive (sharded messages reach no pattern subscriber).
   */
  listen(): Promise<Watch>;
  /** SIGSTOP every Redis process: nothing answers, connections stay open. */
  pauseRedis(): void;
  /** SIGCONT after {@link pauseRedis}. */
  resumeRedis(): void;
  /** FLUSHALL on every master. */
  flushRedis(): Promise<void>;
  /** DEBUG SLEEP `seconds` on every master at once; resolves when they answer again. */
  slowRedis(seconds: number): Promise<void>;
  /** Starts one more instance. */
  instance(options?: Partial<BrokerOptions>, fleetOptions?: Partial<RedisFleetOptions>): Promise<FleetInstance>;
  /** Emulator calls by operation since the start (or the last reset). */
  calls(): Record<string, number>;
  stop(): Promise<void>;
}

/** Every key of the server with its type and whole value, as one text. */
export async function dumpRedis(admin: RedisClient): Promise<string> {
  const out: string[] = [];
  for (const key of await admin.keys('*')) {
    const type = await admin.type(key);
    let value: unknown;
    if (type === 'string') value = await admin.get(key);
    else if (type === 'hash') value = await admin.hGetAll(key);
    else if (type === 'list') value = await admin.lRange(key, 0, -1);
    else value = `(${type})`;
    out.push(`${key} ${type} ${JSON.stringify(value)}`);
  }
  return out.join('\n');
}

/** Connects a node-redis client to `url`, bounded in time; its errors are left to the fleet tier. */
export async function connectRedis(url: string): Promise<RedisClient> {
  const client = newClient(url);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Connects a node-redis cluster client to `cluster`; its errors are left to the fleet tier. */
export async function connectCluster(cluster: RedisCluster): Promise<RedisClusterClient> {
  const client = newCluster(cluster);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The URLs of the cluster's masters now (nodes that answer ROLE as master). */
async function masterUrls(cluster: RedisCluster): Promise<string[]> {
  const roles = await Promise.all(
    cluster.nodes.map(async (n) => {
      const role = await redisCommand(n.port, ['ROLE'], 1000).catch(() => undefined);
      return Array.isArray(role) && role[0] === 'master' ? n.url : undefined;
    }),
  );
  return roles.filter((u): u is string => u !== undefined);
}

export async function startFleetStack(emulatorOptions: Partial<EmulatorOptions> = {}): Promise<FleetStack> {
  const mode = FLEET_REDIS;
  const server = mode === 'single' ? await startRedisServer() : undefined;
  let cluster: RedisCluster | undefined;
  try {
    if (mode === 'cluster') cluster = await startRedisCluster();
  } catch (err) {
    await server?.stop();
    throw err;
  }
  const emu = await startEmulator({
    seed: [{ name: 'fleet', developerProviderName: FLEET_PROVIDER, allowUnauthenticatedIdentities: true }],
    ...emulatorOptions,
  });
  const poolId = emu.pools[0]?.identityPoolId ?? '';
  const connect = (): Promise<FleetConnection> =>
    cluster !== undefined ? connectCluster(cluster) : connectRedis(server?.url ?? '');
  const admin = server !== undefined ? await connectRedis(server.url) : undefined;
  const client = admin ?? (await connect());
  const instances: FleetInstance[] = [];
  const sdks: ReturnType<typeof emulatorClient>[] = [];
  const own: RedisClient[] = [];

  const urls = async (): Promise<string[]> => (server !== undefined ? [server.url] : masterUrls(cluster!));
  /** A plain connection to every master now (the admin on a single node), closed at stop. */
  const byUrl = new Map<string, RedisClient>();
  const masters = async (): Promise<RedisClient[]> => {
    if (admin !== undefined) return [admin];
    return Promise.all(
      (await urls()).map(async (url) => {
        let c = byUrl.get(url);
        if (c === undefined) {
          c = await connectRedis(url);
          byUrl.set(url, c);
          own.push(c);
        }
        return c;
      }),
    );
  };
  /** Connections of their own to every master (the first `count`), each started with `start`. */
  const watch = async (
    start: (c: RedisClient, push: (line: string) => void) => Promise<void>,
    count?: number,
  ): Promise<Watch> => {
    const lines: string[] = [];
    const conns = await Promise.all(
      (await urls()).slice(0, count).map(async (url) => {
        const c = await connectRedis(url);
        own.push(c);
        await start(c, (line) => lines.push(line));
        return c;
      }),
    );
    return {
      lines,
      stop() {
        for (const c of conns) c.destroy();
      },
    };
  };
  const monitor = () =>
    watch((c, push) =>
      c.monitor((line) => {
        push(line);
      }),
    );
  const processes = () => (server !== undefined ? [server] : cluster!.nodes);

  return {
    mode,
    get redisServer(): RedisServer {
      if (server === undefined) throw new Error('stack.redisServer: single node only (FLEET_REDIS=cluster)');
      return server;
    },
    get cluster(): RedisCluster {
      if (cluster === undefined) throw new Error('stack.cluster: under FLEET_REDIS=cluster only');
      return cluster;
    },
    emu,
    poolId,
    get admin(): RedisClient {
      if (admin === undefined) throw new Error('stack.admin: single node only (FLEET_REDIS=cluster): use stack.client');
      return admin;
    },
    client,
    connect,
    async keys(pattern) {
      return (await Promise.all((await masters()).map((m) => m.keys(pattern)))).flat();
    },
    async dump() {
      return (await Promise.all((await masters()).map(dumpRedis))).filter((d) => d !== '').join('\n');
    },
    async pingAll() {
      await Promise.all((await masters()).map((m) => m.ping()));
    },
    monitor,
    async listen() {
      // A classic PUBLISH reaches every node of a cluster: one subscriber hears it once.
      const classic = await watch(
        (c, push) =>
          c.pSubscribe('*', (message, channel) => {
            push(`${channel} ${message}`);
          }),
        1,
      );
      if (mode === 'single') return classic;
      const seen = await monitor();
      return {
        get lines() {
          return [...classic.lines, ...seen.lines.filter((l) => /"spublish"/i.test(l))];
        },
        stop: () => {
          classic.stop();
          seen.stop();
        },
      };
    },
    pauseRedis() {
      for (const p of processes()) p.pause();
    },
    resumeRedis() {
      for (const p of processes()) p.resume();
    },
    async flushRedis() {
      await Promise.all((await masters()).map((m) => m.flushAll()));
    },
    async slowRedis(seconds) {
      await Promise.all((await masters()).map((m) => m.sendCommand(['DEBUG', 'SLEEP', String(seconds)])));
    },
    async instance(options = {}, fleetOptions = {}) {
      const redis = await connect();
      const fleet = redisFleet({ client: asFleetClient(redis), encryptionKeys: { k1: FLEET_KEY }, ...fleetOptions });
      const sdk = emulatorClient(emu);
      sdks.push(sdk);
      const broker = createBroker({
        identityPoolId: poolId,
        developerProviderName: FLEET_PROVIDER,
        client: sdk,
        fleet,
        ...options,
      });
      const instance = { broker, fleet, redis };
      instances.push(instance);
      return instance;
    },
    calls: () => emu.counters(),
    async stop() {
      for (const i of instances) {
        await i.fleet.close();
        i.redis.destroy();
      }
      for (const sdk of sdks) sdk.destroy();
      for (const c of own) c.destroy();
      client.destroy();
      await emu.stop();
      await server?.stop();
      await cluster?.stop();
    },
  };
}
