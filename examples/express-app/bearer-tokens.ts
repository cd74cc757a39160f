import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** Opaque bearer tokens the example app issues to mobile clients (`POST /api/tokens`). */
export interface BearerTokenStore {
  /** Issues a new token for the user. */
  issue(userId: string): { token: string; expiresIn: number };
  /** The user id the token was issued to, or null when unknown or expired. */
  resolve(token: string): string | null;
  /** Revokes a token. */
  revoke(token: string): void;
}

/**
 * An in-memory, bounded token store. A real app would use its own session tokens or a signed JWT;
 * this is just enough for the mobile-client example.
 */
export function bearerTokenStore(ttlSeconds = 3600): BearerTokenStore {
  const tokens = new LRUCache<string, string>({ max: 10_000, ttl: ttlSeconds * 1000 });
  return {
    issue(userId) {
      const token = randomBytes(32).toString('base64url');
      tokens.set(token, userId);
      return { token, expiresIn: ttlSeconds };
    },
    resolve(token) {
      return tokens.get(token) ?? null;
    },
    revoke(token) {
      tokens.delete(token);
    },
  };
}
