// Fleet mode's Redis side of the example app: the sessions' and the broker tier's node-redis clients,
// connected with a start-up failure that says what went wrong (a refused password at once, a host
// that does not resolve, or no answer in time); the sessions sealed in Redis; and the watch on the
// shared tier's rejected entries (instances with different CACHE_ENCRYPTION_KEYS).
import { RedisStore } from 'connect-redis';
import type { Store } from 'express-session';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import type { FleetStats } from '../../src/broker/fleet.js';
import { redisFleet, type BrokerFleet } from '../../src/fleet/index.js';
import { redisBearerTokenStore, type BearerTokenStore } from './bearer-tokens.js';
import { StartupError, type FleetConfig } from './config.js';
import type { FleetHealth } from './health.js';
import { createSealer, sealedSessions } from './sealing.js';

/** Longest wait for Redis at start. */
export const REDIS_CONNECT_MS = 5000;
/** Longest wait for one session or bearer-token command. */
export const REDIS_COMMAND_MS = 1000;
/** Where the example keeps its own keys in Redis (the broker's shared tier has its own prefix, `cib`). */
export const SESSION_PREFIX = 'cib-demo:sess:';
export const BEARER_PREFIX = 'cib-demo:bearer:';
/** How long `/readyz` reports `keys: 'mismatch'` after the last rejected shared entry. */
const MISMATCH_REPORT_MS = 5 * 60_000;
const KEY_CHECK_MS = 1000;

function newRedisClient(url: string, forSessions: boolean) {
  return createClient({
    url,
    // Back off to one attempt every 2 s while Redis is away; node-redis reconnects by itself.
    socket: {
      connectTimeout: REDIS_CONNECT_MS,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
    },
    // Session lookups fail at once while Redis is away, or after REDIS_COMMAND_MS when it hangs,
    // rather than queueing requests until it is back. The fleet tier bounds its own commands.
    ...(forSessions ? { disableOfflineQueue: true, commandOptions: { timeout: REDIS_COMMAND_MS } } : {}),
  });
}
type RedisClient = ReturnType<typeof newRedisClient>;

/**
 * The start-up failure an error of node-redis means at once, or undefined for one worth waiting out
 * (Redis not up yet: ECONNREFUSED, a reset). Messages name Redis by its masked URL, never the password.
 */
export function redisStartFailure(err: unknown, shown: string): StartupError | undefined {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  const reply = /^(WRONGPASS|NOAUTH|NOPERM)\b/.exec(text)?.[1] ?? (/^ERR AUTH\b/.test(text) ? 'ERR AUTH' : undefined);
  if (reply !== undefined) {
    return new StartupError(
      `Redis at ${shown} refused the connection's credentials (${reply})`,
      "Fix the user and password in REDIS_URL (redis://user:password@host:port) to the server's",
      1,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new StartupError(
      `the host of REDIS_URL (${shown}) does not resolve (${code})`,
      'Fix the host name in REDIS_URL, or the DNS',
      1,
    );
  }
  return undefined;
}

/**
 * Connects (and sends one PING, which a server that wants a password refuses) within
 * {@link REDIS_CONNECT_MS}, or fails the start with one line: a refused password or a host that does
 * not resolve at once, a Redis that does not answer (with its last error code) after the wait.
 */
async function connectRedis(client: RedisClient, fleet: FleetConfig): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let lastCode: string | undefined;
  let onError: ((err: unknown) => void) | undefined;
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await client.ping();
      })(),
      new Promise<never>((_resolve, reject) => {
        onError = (err: unknown) => {
          const failure = redisStartFailure(err, fleet.redisUrlShown);
          if (failure !== undefined) reject(failure);
          const code = (err as { code?: unknown } | null)?.code;
          if (typeof code === 'string') lastCode = code;
        };
        client.on('error', onError);
        timer = setTimeout(() => {
          reject(
            new StartupError(
              `Redis at ${fleet.redisUrlShown} did not answer within ${REDIS_CONNECT_MS / 1000} s${lastCode === undefined ? '' : ` (${lastCode})`}`,
              'Start it (or fix REDIS_URL) and try again',
              1,
            ),
          );
        }, REDIS_CONNECT_MS);
      }),
    ]);
  } catch (err) {
    client.destroy();
    throw err instanceof StartupError ? err : (redisStartFailure(err, fleet.redisUrlShown) ?? err);
  } finally {
    clearTimeout(timer);
    if (onError !== undefined) client.off('error', onError);
  }
}

/** One warning when the sessions' connection is lost, one line when it is back: never one per retry. */
function watchSessionsConnection(client: RedisClient, logger: Logger, shown: string): void {
  let up = true;
  client.on('error', (err: unknown) => {
    if (!up) return;
    up = false;
    const code = (err as { code?: unknown } | null)?.code;
    logger.warn(
      { redis: shown, code: typeof code === 'string' ? code : undefined },
      'sessions: lost the Redis connection; session and bearer-token requests answer 503 until it is back',
    );
  });
  client.on('ready', () => {
    if (up) return;
    up = true;
    logger.info({ redis: shown }, 'sessions: Redis connection back');
  });
}

/**
 * Watches the values in Redis this instance's keys cannot open (another instance seals with a key
 * this one lacks, or another key under the same id): the shared tier's rejected entries, loaded from
 * Cognito again (a fleet whose instances disagree on CACHE_ENCRYPTION_KEYS pays for every user
 * twice), and sessions that read as none (the user seems logged out on this instance). `rejected`
 * counts both. The first rejection is one warning log line; `keys()` is `mismatch` for
 * {@link MISMATCH_REPORT_MS} after the latest, for `/readyz`. Every instance of a mismatched pair
 * reports it (each rejects the other's entries), so it is reported, not made a readiness failure: a
 * balancer would take both out.
 */
export function watchRejectedEntries(
  rejected: () => number,
  logger: Logger,
  now: () => number = Date.now,
): { keys(): 'ok' | 'mismatch'; stop(): void } {
  let seen = rejected();
  let lastAt: number | undefined;
  let warned = false;
  const check = (): void => {
    const count = rejected();
    if (count <= seen) return;
    seen = count;
    lastAt = now();
    if (warned) return;
    warned = true;
    logger.warn(
      { rejected: count },
      "fleet: a value in Redis (a shared cache entry or a session) does not open with this instance's CACHE_ENCRYPTION_KEYS: cache entries are loaded from Cognito again, sessions read as logged out. Give every instance the same CACHE_ENCRYPTION_KEYS (and CACHE_ENCRYPTION_KEY_ID)",
    );
  };
  const timer = setInterval(check, KEY_CHECK_MS);
  timer.unref();
  return {
    keys() {
      check();
      return lastAt !== undefined && now() - lastAt < MISMATCH_REPORT_MS ? 'mismatch' : 'ok';
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** Fleet mode's Redis side: the sessions' client, the fleet tier's client, and the tier. */
export interface FleetParts {
  readonly sessions: RedisClient;
  readonly fleet: BrokerFleet;
  /** connect-redis over {@link sessions}, each session sealed. */
  readonly sessionStore: Store;
  readonly bearerTokens: BearerTokenStore;
  /** `/readyz`'s `fleet`, once the broker over {@link fleet} exists. */
  health(stats: () => FleetStats | undefined): () => FleetHealth;
  close(): Promise<void>;
}

export async function startFleetParts(config: FleetConfig, sessionSecret: string, logger: Logger): Promise<FleetParts> {
  const sessions = newRedisClient(config.redisUrl, true);
  const tierClient = newRedisClient(config.redisUrl, false);
  // Until the listeners below (and the tier's) are on: an 'error' event without one ends the process.
  sessions.on('error', () => undefined);
  tierClient.on('error', () => undefined);
  await connectRedis(sessions, config);
  try {
    await connectRedis(tierClient, config);
  } catch (err) {
    sessions.destroy();
    throw err;
  }
  watchSessionsConnection(sessions, logger, config.redisUrlShown);
  const fleet = redisFleet({
    client: tierClient,
    encryptionKeys: config.encryptionKeys,
    ...(config.currentKeyId === undefined ? {} : { currentKeyId: config.currentKeyId }),
  });
  const sealer = createSealer(config.encryptionKeys, config.currentKeyId, sessionSecret);
  let watch: ReturnType<typeof watchRejectedEntries> | undefined;
  let closed: Promise<void> | undefined;
  return {
    sessions,
    fleet,
    sessionStore: new RedisStore({ client: sessions, prefix: SESSION_PREFIX, serializer: sealedSessions(sealer) }),
    bearerTokens: redisBearerTokenStore(sessions, BEARER_PREFIX, sealer, 3600, REDIS_COMMAND_MS),
    health(stats) {
      const keys = (watch ??= watchRejectedEntries(() => (stats()?.entriesRejected ?? 0) + sealer.rejected, logger));
      return () => ({
        state: stats()?.state ?? 'degraded',
        sessions: sessions.isReady ? 'connected' : 'disconnected',
        keys: keys.keys(),
      });
    },
    close() {
      closed ??= (async () => {
        watch?.stop();
        await fleet.close();
        // close() lets commands under way finish (each is bounded); destroy() if it fails.
        await Promise.all(
          [sessions, tierClient]
            .filter((c) => c.isOpen)
            .map((c) =>
              c.close().catch(() => {
                c.destroy();
              }),
            ),
        );
      })();
      return closed;
    },
  };
}
