import { isIPv6 } from 'node:net';
import type { Request, RequestHandler } from 'express';
import type { Clock } from '../../src/index.js';
import { createRateLimiter, type RateLimitOptions } from '../../src/middleware/index.js';

/** Limits on the password logins (`POST /login`, `POST /api/tokens`) of the example app. */
export interface LoginRateLimitOptions {
  /**
   * Every login attempt, by client address (`req.ip`, so set Express's `trust proxy` behind a
   * reverse proxy, else every client shares the proxy's address). IPv6 addresses count by /64, the
   * block one subscriber usually holds. Default `{ max: 30, windowSeconds: 60 }`.
   */
  readonly perAddress?: RateLimitOptions;
  /**
   * Failed attempts by username (password guessing, from however many addresses). At the limit
   * the username is refused (429) until the window ends, even with the right password: otherwise
   * the guesser would learn when a guess is right. Default `{ max: 10, windowSeconds: 900 }`.
   */
  readonly failuresPerUsername?: RateLimitOptions;
}

/** The two steps around a password check, from {@link loginRateLimits}. */
export interface LoginRateLimits {
  /**
   * Before the password check: counts the attempt for the client address and refuses the request
   * (429 `ERR_RATE_LIMITED`, `Retry-After`) when the address or the username is over its limit.
   */
  readonly beforeLogin: RequestHandler;
  /** After a wrong password (or an unknown username): counts a failure for the username. */
  failed(username: unknown): void;
}

/** Longest username kept as a key: bounds the memory of the per-username windows. */
const MAX_USERNAME_KEY = 128;

function usernameKey(username: unknown): string | undefined {
  if (typeof username !== 'string') return undefined;
  const key = username.trim().toLowerCase();
  return key === '' ? undefined : key.slice(0, MAX_USERNAME_KEY);
}

/** The key of a client address: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64. */
export function addressKey(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'unknown';
  if (ip.startsWith('::ffff:') && ip.includes('.')) return ip.slice(7);
  if (!isIPv6(ip)) return ip;
  const [head = '', tail] = (ip.split('%')[0] ?? '').split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Rate limits for password logins: all attempts per client address, failed attempts per username,
 * each in a bounded in-memory window, per process (in fleet mode each instance counts on its own). Over a limit:
 * 429 `ERR_RATE_LIMITED` as problem+json with `Retry-After`.
 * @example
 * ```ts
 * const limits = loginRateLimits();
 * app.post('/login', express.json(), limits.beforeLogin, passport.authenticate('local'), …);
 * // in the strategy's verify callback, on a wrong password: limits.failed(username)
 * ```
 * @throws TypeError on invalid options.
 */
export function loginRateLimits(options: LoginRateLimitOptions & { readonly clock?: Clock } = {}): LoginRateLimits {
  const withClock = (o: RateLimitOptions | undefined, max: number, windowSeconds: number): RateLimitOptions => ({
    max,
    windowSeconds,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...o,
  });
  const limiter = (name: string, o: RateLimitOptions) => {
    try {
      return createRateLimiter(o);
    } catch (err) {
      throw new TypeError(`loginRateLimit.${name}: ${(err as Error).message}`.replace(': rateLimit.', '.'), {
        cause: err,
      });
    }
  };
  const perAddress = limiter('perAddress', withClock(options.perAddress, 30, 60));
  const perUsername = limiter('failuresPerUsername', withClock(options.failuresPerUsername, 10, 900));
  return {
    beforeLogin(req: Request, _res, next) {
      try {
        perAddress.consume(addressKey(req.ip));
        const key = usernameKey((req.body as { username?: unknown } | undefined)?.username);
        if (key !== undefined) perUsername.check(key);
      } catch (err) {
        next(err);
        return;
      }
      next();
    },
    failed(username) {
      const key = usernameKey(username);
      if (key === undefined) return;
      try {
        perUsername.consume(key);
      } catch {
        // Concurrent failures past the limit: this one is answered 401 anyway, the next gets 429.
      }
    },
  };
}
