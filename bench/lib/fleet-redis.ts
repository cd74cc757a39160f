// The Redis a fleet figure runs on, of either kind: one redis-server, or a local Redis Cluster of 3
// masters with a replica each (scripts/redis-cluster.ts). The orchestrator starts and stops it; each
// app process connects to it (`connectFleetRedis`) with a node-redis client of the matching kind.
import { createClient, createCluster } from 'redis';
import { EntryCipher } from '../../src/fleet/cipher.js';
import { FleetKeys } from '../../src/fleet/keys.js';
import { startRedisCluster } from '../../scripts/redis-cluster.js';
import { startRedisServer } from '../../test/helpers/redis-server.js';

/** Which Redis the fleet runs on. */
export type RedisKind = 'single' | 'cluster';
export const REDIS_KINDS: readonly RedisKind[] = ['single', 'cluster'];

/** How an app process reaches the fleet's Redis (JSON in its config). */
export type FleetRedisConfig =
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'cluster'; readonly rootNodes: readonly string[] };

/** A running Redis of either kind. */
export interface FleetRedis {
  readonly kind: RedisKind;
  readonly config: FleetRedisConfig;
  /** What it is, for a figure's "how": "one redis-server" or "a Redis Cluster (3 masters, …)". */
  readonly described: string;
  /** SIGSTOP every Redis process. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Stops every Redis process and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

const MASTERS = 3;

export async function startFleetRedis(kind: RedisKind): Promise<FleetRedis> {
  if (kind === 'single') {
    const server = await startRedisServer();
    return {
      kind,
      config: { kind, url: server.url },
      described: 'one redis-server',
      pause: () => {
        server.pause();
      },
      resume: () => {
        server.resume();
      },
      stop: () => server.stop(),
    };
  }
  const cluster = await startRedisCluster({ masters: MASTERS, replicas: 1 });
  return {
    kind,
    config: { kind, rootNodes: cluster.rootNodes.map((n) => n.url) },
    described: `a Redis Cluster (${MASTERS} masters, one replica each)`,
    pause: () => {
      for (const n of cluster.nodes) n.pause();
    },
    resume: () => {
      for (const n of cluster.nodes) n.resume();
    },
    stop: () => cluster.stop(),
  };
}

/**
 * The kinds a run measures: env BENCH_FLEET_REDIS (`single`, `cluster`, or both comma-separated),
 * by default both, each figure on one then the other.
 * @throws Error naming the variable on a value that is neither.
 */
export function redisKindsFrom(value: string | undefined): RedisKind[] {
  const asked = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (asked.length === 0) return [...REDIS_KINDS];
  for (const k of asked)
    if (!REDIS_KINDS.includes(k as RedisKind))
      throw new Error(`BENCH_FLEET_REDIS: ${JSON.stringify(k)} is neither single nor cluster`);
  return REDIS_KINDS.filter((k) => asked.includes(k));
}

/** A figure's name on `kind`: the single node's as it always was, the cluster's marked so. */
export function figureOn(kind: RedisKind, figure: string): string {
  return kind === 'cluster' ? `${figure} (cluster)` : figure;
}

const SOCKET = { connectTimeout: 5000, reconnectStrategy: () => 100 };

function singleClient(url: string) {
  return createClient({ url, socket: SOCKET });
}
function clusterClient(rootNodes: readonly string[]) {
  return createCluster({ rootNodes: rootNodes.map((url) => ({ url })), defaults: { socket: SOCKET } });
}

/** One connection to one Redis node. */
export interface NodeConnection {
  ping(): Promise<string>;
  keys(pattern: string): Promise<string[]>;
}

/** An app process's connection to the fleet's Redis. */
export interface FleetRedisConnection {
  /** What `redisFleet({ client })` is given. */
  readonly client: ReturnType<typeof singleClient> | ReturnType<typeof clusterClient>;
  /**
   * The connection that serves `userId`'s keys, to time a PING on: on one server the one
   * connection; on a cluster the cluster client's own connection to the master of the user's slot
   * (`getNodeClientForKey` on the user's hash tag: the client its commands for that user go out on).
   * Resolved before the PING is timed, so the time is the round trip alone.
   */
  connectionFor(userId: string): Promise<NodeConnection>;
  destroy(): void;
}

/**
 * Connects to the fleet's Redis. `encryptionKeys` are the fleet's (as given to `redisFleet`): the
 * keys' names, hence a user's slot, derive from them.
 */
export async function connectFleetRedis(
  config: FleetRedisConfig,
  encryptionKeys: Readonly<Record<string, string>>,
): Promise<FleetRedisConnection> {
  if (config.kind === 'single') {
    const client = singleClient(config.url);
    client.on('error', () => undefined);
    await client.connect();
    return {
      client,
      connectionFor: () => Promise.resolve(client),
      destroy: () => {
        client.destroy();
      },
    };
  }
  const cluster = clusterClient(config.rootNodes);
  cluster.on('error', () => undefined);
  await cluster.connect();
  // The same names as the tier's (its prefix and namespace do not enter a user's hash tag).
  const keys = new FleetKeys('bench', 'bench', new EntryCipher(encryptionKeys, undefined).derive('key names'));
  return {
    client: cluster,
    connectionFor: (userId) => cluster.getNodeClientForKey(keys.userTag(userId)),
    destroy: () => {
      cluster.destroy();
    },
  };
}
