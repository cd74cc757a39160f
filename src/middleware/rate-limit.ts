import { LRUCache } from 'lru-cache';
import type { Clock } from '../broker/index.js';
import { BrokerError } from '../errors.js';

/** Options of {@link createRateLimiter}. */
export interface RateLimitOptions {
  /** Requests allowed per user in each window. Default 10. */
  readonly max?: number;
  /** Length of the window, in seconds. Default 60. */
  readonly windowSeconds?: number;
  /** How many users are tracked at once (least recently seen are dropped first). Default 10 000. */
  readonly maxUsers?: number;
  /** Clock. Default `Date`. */
  readonly clock?: Clock;
}

/** A fixed-window, per-key, bounded in-memory limiter. */
export interface RateLimiter {
  /**
   * Counts one request for `key`.
   * @throws BrokerError `ERR_RATE_LIMITED` (429, with `retryAfterSeconds`) past the limit.
   */
  consume(key: string): void;
  /**
   * Refuses `key` when it already used its window's budget, without counting: for limits that
   * count only some outcomes (a login limiter checks a username before verifying the password and
   * calls `consume` on a failure only).
   * @throws BrokerError `ERR_RATE_LIMITED` (429, with `retryAfterSeconds`) at the limit.
   */
  check(key: string): void;
}

interface Window {
  count: number;
  resetAt: number;
}

function positiveInt(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`${name} must be a positive integer`);
  }
  return value;
}

/**
 * Creates a per-key fixed-window rate limiter held in a bounded LRU cache. One instance per
 * process; a fleet gets per-instance limits.
 * @throws TypeError on invalid options.
 */
export function createRateLimiter(options: RateLimitOptions = {}): RateLimiter {
  const max = positiveInt(options.max, 'rateLimit.max', 10);
  const windowMs = positiveInt(options.windowSeconds, 'rateLimit.windowSeconds', 60) * 1000;
  const maxUsers = positiveInt(options.maxUsers, 'rateLimit.maxUsers', 10_000);
  const clock = options.clock ?? Date;
  const windows = new LRUCache<string, Window>({ max: maxUsers });
  const refuse = (w: Window, now: number): BrokerError =>
    new BrokerError('ERR_RATE_LIMITED', 'Too many requests; try again later.', {
      retryable: true,
      retryAfterSeconds: Math.max(1, Math.ceil((w.resetAt - now) / 1000)),
    });
  return {
    consume(key: string): void {
      const now = clock.now();
      let w = windows.get(key);
      if (w === undefined || w.resetAt <= now) {
        w = { count: 0, resetAt: now + windowMs };
        windows.set(key, w);
      }
      w.count += 1;
      if (w.count > max) throw refuse(w, now);
    },
    check(key: string): void {
      const now = clock.now();
      const w = windows.get(key);
      if (w !== undefined && w.resetAt > now && w.count >= max) throw refuse(w, now);
    },
  };
}
