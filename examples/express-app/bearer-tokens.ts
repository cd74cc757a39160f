import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Sealer } from './sealing.js';

/** Opaque bearer tokens the example app issues to mobile clients (`POST /api/tokens`). */
export interface BearerTokenStore {
  /** Issues a new token for the user. */
  issue(userId: string): Promise<{ token: string; expiresIn: number }>;
  /** The user id the token was issued to, or null when unknown or expired. */
  resolve(token: string): Promise<string | null>;
  /** Revokes a token. */
  revoke(token: string): Promise<void>;
}

/**
 * An in-memory, bounded token store (one process). A real app would use its own session tokens or
 * a signed JWT; this is just enough for the mobile-client example.
 */
export function bearerTokenStore(ttlSeconds = 3600): BearerTokenStore {
  const tokens = new LRUCache<string, string>({ max: 10_000, ttl: ttlSeconds * 1000 });
  return {
    issue(userId) {
      const token = randomBytes(32).toString('base64url');
      tokens.set(token, userId);
      return Promise.resolve({ token, expiresIn: ttlSeconds });
    },
    resolve(token) {
      return Promise.resolve(tokens.get(token) ?? null);
    },
    revoke(token) {
      tokens.delete(token);
      return Promise.resolve();
    },
  };
}

/** The commands of a node-redis client that {@link redisBearerTokenStore} sends. */
export interface BearerRedis {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { expiration: { type: 'EX'; value: number } }): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

/**
 * The fleet's token store: every instance knows every token. Redis holds neither the token nor its
 * user in clear: the key is a keyed hash of the token (`sealer.name`, an HMAC: a reader of Redis can
 * neither use it nor test guesses against it), the value the user id sealed for that key. The key
 * expires with the token.
 */
export function redisBearerTokenStore(
  redis: BearerRedis,
  prefix: string,
  sealer: Sealer,
  ttlSeconds = 3600,
  timeoutMs = 1000,
): BearerTokenStore {
  const key = (token: string): string => `${prefix}${sealer.name(token)}`;
  return {
    async issue(userId) {
      const token = randomBytes(32).toString('base64url');
      const name = key(token);
      const sealed = sealer.seal(userId, name);
      await bounded(redis.set(name, sealed, { expiration: { type: 'EX', value: ttlSeconds } }), timeoutMs);
      return { token, expiresIn: ttlSeconds };
    },
    async resolve(token) {
      const name = key(token);
      const sealed = await bounded(redis.get(name), timeoutMs);
      return sealed === null ? null : (sealer.open(sealed, name) ?? null);
    },
    async revoke(token) {
      await bounded(redis.del(key(token)), timeoutMs);
    },
  };
}

/**
 * `reply`, or a rejection after `ms`: node-redis waits for ever for the reply to a command already
 * sent to a server that stopped answering (paused, overloaded).
 */
function bounded<T>(reply: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no answer from Redis within ${ms} ms`));
    }, ms);
    reply.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error('Redis command failed'));
      },
    );
  });
}
