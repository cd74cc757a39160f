// Fleet mode's Redis side of the example app: the sessions' and the broker tier's node-redis clients
// (redis-clients.ts: one node or a cluster); the sessions sealed in Redis; and the watch on the
// shared tier's rejected entries (instances with different CACHE_ENCRYPTION_KEYS).
import { RedisStore } from 'connect-redis';
import type { Store } from 'express-session';
import type { Logger } from 'pino';
import type { FleetStats } from '../../src/broker/fleet.js';
import { redisFleet, type BrokerFleet } from '../../src/fleet/index.js';
import { redisBearerTokenStore, type BearerTokenStore } from './bearer-tokens.js';
import type { FleetConfig } from './config.js';
import type { FleetHealth } from './health.js';
import {
  connectRedis,
  newRedisConnection,
  REDIS_COMMAND_MS,
  sessionsReady,
  watchSessionsConnection,
  type RedisConnection,
} from './redis-clients.js';
import { createSealer, sealedSessions } from './sealing.js';

export { REDIS_COMMAND_MS, REDIS_CONNECT_MS, redisStartFailure } from './redis-clients.js';

/** Where the example keeps its own keys in Redis (the broker's shared tier has its own prefix, `cib`). */
export const SESSION_PREFIX = 'cib-demo:sess:';
export const BEARER_PREFIX = 'cib-demo:bearer:';
/** How long `/readyz` reports `keys: 'mismatch'` after the last rejected shared entry. */
const MISMATCH_REPORT_MS = 5 * 60_000;
const KEY_CHECK_MS = 1000;

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
  readonly sessions: RedisConnection;
  readonly fleet: BrokerFleet;
  /** connect-redis over {@link sessions}, each session sealed. */
  readonly sessionStore: Store;
  readonly bearerTokens: BearerTokenStore;
  /** `/readyz`'s `fleet`, once the broker over {@link fleet} exists. */
  health(stats: () => FleetStats | undefined): () => FleetHealth;
  close(): Promise<void>;
}

export async function startFleetParts(config: FleetConfig, sessionSecret: string, logger: Logger): Promise<FleetParts> {
  const sessions = newRedisConnection(config.redis, true);
  const tierClient = newRedisConnection(config.redis, false);
  // Until the listeners below (and the tier's) are on: an 'error' event without one ends the process.
  sessions.on('error', () => undefined);
  tierClient.on('error', () => undefined);
  await connectRedis(sessions, config.redis, config.redisUrlShown);
  try {
    await connectRedis(tierClient, config.redis, config.redisUrlShown);
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
        sessions: sessionsReady(sessions) ? 'connected' : 'disconnected',
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
