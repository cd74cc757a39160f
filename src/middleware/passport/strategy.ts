import type { Request } from 'express';
import passport from 'passport';

/** Options of {@link BearerStrategy}. */
export interface BearerStrategyOptions<User> {
  /**
   * Resolves a bearer token to the app's user, or null/false when the token is unknown, expired or
   * revoked. Throw (reject) only for infrastructure faults: those become `error()`, not a 401.
   */
  readonly verify: (
    token: string,
    req: Request,
  ) => Promise<User | null | false | undefined> | User | null | false | undefined;
  /**
   * What to do when the request has no `Authorization: Bearer` header: `'fail'` (401, the default)
   * or `'pass'`, which leaves `req.user` as the session set it, so one route serves cookie and
   * bearer clients.
   */
  readonly whenMissing?: 'fail' | 'pass';
  /** The `realm` of the challenge. Default `"aws"`. */
  readonly realm?: string;
  /** The strategy's name for `passport.use()` / `passport.authenticate()`. Default `"bearer"`. */
  readonly name?: string;
}

/** RFC 6750 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 4096;

/**
 * A passport strategy for mobile and other non-browser clients that send
 * `Authorization: Bearer <token>` (RFC 6750). Each `authenticate()` ends in exactly one outcome:
 * `success(user)` for a token `verify` accepts; `fail(challenge, 401)` for a missing (unless
 * `whenMissing: 'pass'`), malformed or refused token; `error(err)` when `verify` throws; `pass()`
 * when the header is missing and `whenMissing` is `'pass'`. The token never appears in a challenge
 * or an error.
 */
// Plain (not #private) members: passport runs each request on `Object.create(strategy)`, which
// cannot see the original instance's private slots.
export class BearerStrategy<User = Express.User> extends passport.Strategy {
  /** The strategy's name. */
  override readonly name: string;
  private readonly verifyToken: BearerStrategyOptions<User>['verify'];
  private readonly whenMissing: 'fail' | 'pass';
  private readonly realm: string;

  /** @throws TypeError when `verify` is missing or an option is invalid. */
  constructor(options: BearerStrategyOptions<User>) {
    super();
    if (typeof options !== 'object' || typeof options.verify !== 'function') {
      throw new TypeError('BearerStrategy needs a verify(token, req) function');
    }
    const whenMissing: unknown = options.whenMissing ?? 'fail';
    if (whenMissing !== 'fail' && whenMissing !== 'pass') throw new TypeError("whenMissing must be 'fail' or 'pass'");
    const realm = options.realm ?? 'aws';
    if (!/^[\w .-]{1,64}$/.test(realm))
      throw new TypeError('realm must be 1–64 word characters, spaces, dots or dashes');
    this.name = options.name ?? 'bearer';
    this.verifyToken = options.verify;
    this.whenMissing = whenMissing;
    this.realm = realm;
  }

  private challenge(error?: string): string {
    return error === undefined ? `Bearer realm="${this.realm}"` : `Bearer realm="${this.realm}", error="${error}"`;
  }

  /** Runs the strategy for one request (called by passport). */
  override authenticate(req: Request): void {
    const header = req.headers.authorization;
    if (header === undefined || header.length === 0) {
      if (this.whenMissing === 'pass') this.pass();
      else this.fail(this.challenge(), 401);
      return;
    }
    const match = /^Bearer +(\S+)\s*$/i.exec(header);
    const token = match?.[1] ?? '';
    if (token.length === 0) {
      if (!/^Bearer\b/i.test(header) && this.whenMissing === 'pass') this.pass();
      else this.fail(this.challenge('invalid_request'), 401);
      return;
    }
    if (token.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(token)) {
      this.fail(this.challenge('invalid_token'), 401);
      return;
    }
    let settled: Promise<User | null | false | undefined>;
    try {
      settled = Promise.resolve(this.verifyToken(token, req));
    } catch (err) {
      settled = Promise.reject(err instanceof Error ? err : new Error('verify failed'));
    }
    settled.then(
      (user) => {
        if (user === null || user === false || user === undefined) this.fail(this.challenge('invalid_token'), 401);
        else this.success(user);
      },
      (err: unknown) => {
        this.error(err instanceof Error ? err : new Error('verify failed'));
      },
    );
  }
}
