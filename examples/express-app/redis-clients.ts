// Fleet mode's node-redis connections of the example app: a single client (`REDIS_URL`) or a Redis
// Cluster client (`REDIS_CLUSTER_NODES`), connected with a start-up failure that says what went
// wrong (a refused password at once, a host that does not resolve, or no answer in time), and
// watched for the sessions' sake (one warning when lost, one line when back).
import type { Logger } from 'pino';
import { createClient, createCluster } from 'redis';
import type { RedisTarget } from './fleet-config.js';
import { StartupError } from './startup-error.js';

/** Longest wait for Redis at start. */
export const REDIS_CONNECT_MS = 5000;
/** Longest wait for one session or bearer-token command. */
export const REDIS_COMMAND_MS = 1000;
/** The slots of a Redis Cluster. */
const CLUSTER_SLOTS = 16_384;
/** How long a start waits before asking a cluster's seeds again when none answered. */
const SEED_RETRY_MS = 200;

/** Back off to one attempt every 2 s while Redis is away; node-redis reconnects by itself. */
function reconnectStrategy(retries: number): number {
  return Math.min(50 * 2 ** retries, 2000);
}

function newSingleClient(url: string, forSessions: boolean) {
  return createClient({
    url,
    socket: { connectTimeout: REDIS_CONNECT_MS, reconnectStrategy },
    // Session lookups fail at once while Redis is away, or after REDIS_COMMAND_MS when it hangs,
    // rather than queueing requests until it is back. The fleet tier bounds its own commands.
    ...(forSessions ? { disableOfflineQueue: true, commandOptions: { timeout: REDIS_COMMAND_MS } } : {}),
  });
}

/**
 * node-redis `createCluster` options for the seeds of `REDIS_CLUSTER_NODES` (checked by
 * fleet-config.ts: one scheme and one user and password for all). The seeds only serve to find the
 * cluster: node-redis connects to every node it discovers with `defaults` alone, so the TLS setting
 * (`rediss://`) and the credentials go there, not in the seeds' URLs (a password in a seed's URL
 * alone reaches the seed, and every other node answers NOAUTH).
 */
export function clusterOptions(seeds: readonly string[], forSessions: boolean) {
  const first = new URL(seeds[0] ?? '');
  const username = decodeURIComponent(first.username);
  const password = decodeURIComponent(first.password);
  const socket = { connectTimeout: REDIS_CONNECT_MS, reconnectStrategy };
  return {
    rootNodes: seeds.map((seed) => {
      const url = new URL(seed);
      return {
        socket: { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 6379 : Number(url.port) },
      };
    }),
    defaults: {
      ...(username === '' ? {} : { username }),
      ...(password === '' ? {} : { password }),
      socket: first.protocol === 'rediss:' ? { ...socket, tls: true as const } : socket,
      ...(forSessions ? { disableOfflineQueue: true } : {}),
    },
    ...(forSessions ? { commandOptions: { timeout: REDIS_COMMAND_MS } } : {}),
  };
}

function newClusterClient(seeds: readonly string[], forSessions: boolean) {
  return createCluster(clusterOptions(seeds, forSessions));
}

/** A node-redis connection of fleet mode: one node's client, or a cluster's. */
export type RedisConnection = ReturnType<typeof newSingleClient> | ReturnType<typeof newClusterClient>;

/** A new, unconnected client for `target`; `forSessions` bounds each command and queues none offline. */
export function newRedisConnection(target: RedisTarget, forSessions: boolean): RedisConnection {
  return target.mode === 'single'
    ? newSingleClient(target.url, forSessions)
    : newClusterClient(target.seeds, forSessions);
}

/** The variable that names `target`, for messages. */
function variableOf(target: RedisTarget): string {
  return target.mode === 'single' ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES';
}

/**
 * The start-up failure an error of node-redis means at once, or undefined for one worth waiting out
 * (Redis not up yet: ECONNREFUSED, a reset). Messages name Redis by its masked URL, never the password.
 */
export function redisStartFailure(err: unknown, shown: string, variable = 'REDIS_URL'): StartupError | undefined {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  const reply = /^(WRONGPASS|NOAUTH|NOPERM)\b/.exec(text)?.[1] ?? (/^ERR AUTH\b/.test(text) ? 'ERR AUTH' : undefined);
  if (reply !== undefined) {
    return new StartupError(
      `Redis at ${shown} refused the connection's credentials (${reply})`,
      `Fix the user and password in ${variable} (redis://user:password@host:port) to the server's`,
      1,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new StartupError(
      `the host of ${variable} (${shown}) does not resolve (${code})`,
      `Fix the host name in ${variable}, or the DNS`,
      1,
    );
  }
  return undefined;
}

/**
 * Connects (and sends one PING, which a server that wants a password refuses) within
 * {@link REDIS_CONNECT_MS}, or fails the start with one line: a refused password or a host that does
 * not resolve at once, a Redis that does not answer (with its last error code) after the wait. A
 * cluster client gives up at once when no seed answers: it is asked again until the wait is over.
 * Its nodes' errors count too (`node-error`: a node that refuses the credentials the seed took).
 */
export async function connectRedis(client: RedisConnection, target: RedisTarget, shown: string): Promise<void> {
  const variable = variableOf(target);
  let timer: NodeJS.Timeout | undefined;
  let lastCode: string | undefined;
  const deadline = Date.now() + REDIS_CONNECT_MS;
  const events = target.mode === 'single' ? ['error'] : ['error', 'node-error'];
  let onError: ((err: unknown) => void) | undefined;
  try {
    await Promise.race([
      (async () => {
        for (;;) {
          try {
            await client.connect();
            break;
          } catch (err) {
            if (
              target.mode === 'single' ||
              Date.now() >= deadline ||
              redisStartFailure(err, shown, variable) !== undefined
            ) {
              throw err;
            }
            await new Promise((resolve) => setTimeout(resolve, SEED_RETRY_MS));
          }
        }
        await client.ping();
      })(),
      new Promise<never>((_resolve, reject) => {
        onError = (err: unknown) => {
          const failure = redisStartFailure(err, shown, variable);
          if (failure !== undefined) reject(failure);
          const code = (err as { code?: unknown } | null)?.code;
          if (typeof code === 'string') lastCode = code;
        };
        for (const event of events) client.on(event, onError);
        timer = setTimeout(() => {
          reject(
            new StartupError(
              `Redis at ${shown} did not answer within ${REDIS_CONNECT_MS / 1000} s${lastCode === undefined ? '' : ` (${lastCode})`}`,
              `Start it (or fix ${variable}) and try again`,
              1,
            ),
          );
        }, REDIS_CONNECT_MS);
      }),
    ]);
  } catch (err) {
    client.destroy();
    throw err instanceof StartupError ? err : (redisStartFailure(err, shown, variable) ?? err);
  } finally {
    clearTimeout(timer);
    if (onError !== undefined) for (const event of events) client.off(event, onError);
  }
}

/**
 * Whether every command of the sessions can reach Redis now: the client is ready; for a cluster,
 * every slot has a master whose connection is ready too (a session in the slots of a lost master,
 * or of no master, would fail).
 */
export function sessionsReady(client: RedisConnection): boolean {
  if (!client.isReady) return false;
  if (!('slots' in client)) return true;
  const { slots } = client;
  // A plain loop: the slots a cluster does not serve are holes, which every() would skip.
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    if (slots[slot]?.master.client?.isReady !== true) return false;
  }
  return true;
}

/** One warning when the sessions' connection is lost, one line when it is back: never one per retry. */
export function watchSessionsConnection(client: RedisConnection, logger: Logger, shown: string): void {
  let up = true;
  const cluster = 'slots' in client;
  client.on(cluster ? 'node-error' : 'error', (err: unknown) => {
    if (!up) return;
    up = false;
    const code = (err as { code?: unknown } | null)?.code;
    logger.warn(
      { redis: shown, code: typeof code === 'string' ? code : undefined },
      'sessions: lost the Redis connection; session and bearer-token requests answer 503 until it is back',
    );
  });
  client.on(cluster ? 'node-ready' : 'ready', () => {
    if (up || !sessionsReady(client)) return;
    up = true;
    logger.info({ redis: shown }, 'sessions: Redis connection back');
  });
}
