import type {
  GetCredentialsForIdentityResponse,
  GetOpenIdTokenForDeveloperIdentityResponse,
} from '@aws-sdk/client-cognito-identity';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import { readJwtTimes } from './jwt.js';
import { packCredentials, packString, unpackCredentials, unpackString } from './offheap.js';
import type { PrincipalTags, ResolvedBrokerOptions } from './options.js';
import type { CacheEntryTimes } from './refreshing-cache.js';
import type { IdentityCredentials, IdentityToken } from './types.js';
import { OP } from './upstream.js';

/** A cached OpenID token of one developer user (with one set of principal tags). */
export interface TokenEntry extends CacheEntryTimes {
  readonly userId: string;
  readonly identityId: string;
  /** The OpenID token, off the JS heap (see offheap.ts): read it with `unpackString`. */
  readonly token: ArrayBuffer;
  /** Epoch ms, from the JWT's `exp` when readable, else send time + duration. */
  readonly expiresAt: number;
}

/** What a token load needs. */
export interface TokenContext {
  readonly userId: string;
  readonly tags: PrincipalTags | undefined;
  /** The load serves a background refresh (of credentials that are still valid): quota priority `refresh`. */
  readonly background?: boolean;
}

/** Cached credentials of one identity (and role). */
export interface CredentialsEntry extends CacheEntryTimes {
  readonly identityId: string;
  readonly guest: boolean;
  /** The credentials as the JSON body the credentials route sends, off the JS heap (see offheap.ts). */
  readonly body: ArrayBuffer;
  /** Epoch ms, Cognito's `Expiration`. */
  readonly expiration: number;
}

/** What a credentials load needs. */
export interface CredentialsContext {
  readonly identityId: string;
  /** The user whose token goes in the `Logins` map; `undefined` for guests. */
  readonly userId: string | undefined;
  readonly guest: boolean;
  /** The identity id came from the end user (a guest id). */
  readonly clientInput: boolean;
  /** The principal tags the credentials are for (in the key too): the load uses a token with these. */
  readonly tags: PrincipalTags | undefined;
  /** The caller's token for the identity, used by the load while still valid (it may be evicted meanwhile). */
  readonly token?: TokenEntry;
}

/** Share of an entry's servable life over which refresh points are spread (see `refreshPoint`). */
const REFRESH_SPREAD = 0.1;

/** Cognito answered without a field the broker needs: retryable, as a flaky upstream. */
export function incomplete(operation: string): BrokerError {
  return new BrokerError('ERR_COGNITO_UNAVAILABLE', 'The identity service returned an incomplete response', {
    cause: new Error(`${operation} response is missing fields`),
    retryable: true,
  });
}

/**
 * Turns Cognito's answers into cache entries: how long each is served (expiry, skew grace, the
 * clock offset measured from tokens) and when it is refreshed. Holds the offset of Cognito's clock
 * from ours, measured from the latest token's `iat`.
 */
export class Entries {
  readonly #o: ResolvedBrokerOptions;
  readonly #log: Logger;
  readonly #graceMs: number;
  readonly #durationMs: number;
  readonly #refreshAheadMs: number;
  /** Cognito's clock minus ours, ms, from the latest token's `iat` (0 until a token was seen). */
  #clockOffsetMs = 0;
  #skewWarned = false;

  constructor(options: ResolvedBrokerOptions, log: Logger) {
    this.#o = options;
    this.#log = log;
    this.#graceMs = options.skewGraceSeconds * 1000;
    this.#durationMs = options.tokenDurationSeconds * 1000;
    this.#refreshAheadMs = options.refreshAheadSeconds * 1000;
  }

  /** Cognito's clock minus ours, ms (0 until a token with `iat` was seen). */
  get clockOffsetMs(): number {
    return this.#clockOffsetMs;
  }

  /**
   * Refresh point of an entry obtained at `start` and servable until `validUntil`: at random in the
   * last tenth of its life before the refresh-ahead point (never before half its life). Entries loaded
   * together (at start-up, after a deploy) would otherwise all refresh at the same moment, every hour:
   * a burst of CPU in this process and of calls against Cognito's 50 rps quota.
   */
  refreshPoint(start: number, validUntil: number): number {
    if (this.#refreshAheadMs === 0) return validUntil;
    const floor = start + Math.floor((validUntil - start) / 2);
    const latest = Math.min(validUntil, Math.max(validUntil - this.#refreshAheadMs, floor));
    const earliest = Math.max(floor, latest - Math.floor((validUntil - start) * REFRESH_SPREAD));
    return earliest + Math.floor(Math.random() * (latest - earliest));
  }

  /**
   * The entry of a GetOpenIdTokenForDeveloperIdentity answer to a request sent at `sentAt`.
   * @throws BrokerError `ERR_COGNITO_UNAVAILABLE` on an incomplete answer, `ERR_MISCONFIGURED` when
   *   the fresh token is already past its validity on the local clock.
   */
  token(userId: string, out: GetOpenIdTokenForDeveloperIdentityResponse, sentAt: number): TokenEntry {
    if (out.IdentityId === undefined || out.Token === undefined) throw incomplete(OP.token);
    const graceMs = this.#graceMs;
    const durationMs = this.#durationMs;
    const { exp, iat } = readJwtTimes(out.Token);
    let expiresAt = sentAt + durationMs;
    let validUntil = expiresAt - graceMs;
    if (exp !== undefined) {
      expiresAt = exp * 1000;
      // Also bound the life by the local send time plus the token's own lifetime: safe even when the
      // local clock is slow by more than the grace.
      const lifetimeMs = iat === undefined ? durationMs : Math.min(durationMs, (exp - iat) * 1000);
      validUntil = Math.min(expiresAt, sentAt + lifetimeMs) - graceMs;
    }
    if (iat !== undefined) this.#measureOffset(iat * 1000 - sentAt);
    if (validUntil <= this.#o.clock.now()) throw this.#clockTooFar('token');
    return Object.freeze({
      userId,
      identityId: out.IdentityId,
      token: packString(out.Token),
      expiresAt,
      validUntil,
      refreshAt: this.refreshPoint(sentAt, validUntil),
    });
  }

  /**
   * The entry of a GetCredentialsForIdentity answer to a request sent at `sentAt`.
   * @throws BrokerError as {@link token}.
   */
  credentials(ctx: CredentialsContext, out: GetCredentialsForIdentityResponse, sentAt: number): CredentialsEntry {
    const c = out.Credentials;
    if (
      c?.AccessKeyId === undefined ||
      c.SecretKey === undefined ||
      c.SessionToken === undefined ||
      !(c.Expiration instanceof Date)
    ) {
      throw incomplete(OP.credentials);
    }
    const expiration = c.Expiration.getTime();
    // Expiration is on Cognito's clock: when that runs ahead of ours, stop serving earlier by the
    // measured offset, so even a skew beyond the grace never hands out expired credentials.
    const validUntil = expiration - Math.max(0, this.#clockOffsetMs) - this.#graceMs;
    if (validUntil <= this.#o.clock.now()) throw this.#clockTooFar('credentials');
    return Object.freeze({
      identityId: ctx.identityId,
      guest: ctx.guest,
      body: packCredentials({
        identityId: ctx.identityId,
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretKey,
        sessionToken: c.SessionToken,
        expiration,
      }),
      expiration,
      validUntil,
      refreshAt: this.refreshPoint(sentAt, validUntil),
    });
  }

  /**
   * A token entry another instance loaded, served on this instance's clock: its validity ends no
   * later than its `exp` less this instance's grace and measured offset (the loading instance's
   * clock may be ahead of this one's).
   */
  sharedToken(text: string): TokenEntry | undefined {
    const t = decodeToken(text);
    if (t === undefined) return undefined;
    const validUntil = Math.min(t.validUntil, t.expiresAt - Math.max(0, this.#clockOffsetMs) - this.#graceMs);
    return validUntil === t.validUntil
      ? t
      : Object.freeze({ ...t, validUntil, refreshAt: Math.min(t.refreshAt, validUntil) });
  }

  /** Credentials another instance loaded, served on this instance's clock (see {@link sharedToken}). */
  sharedCredentials(text: string): CredentialsEntry | undefined {
    const c = decodeCredentials(text);
    if (c === undefined) return undefined;
    const validUntil = Math.min(c.validUntil, c.expiration - Math.max(0, this.#clockOffsetMs) - this.#graceMs);
    return validUntil === c.validUntil
      ? c
      : Object.freeze({ ...c, validUntil, refreshAt: Math.min(c.refreshAt, validUntil) });
  }

  /** The token as the broker hands it out. */
  publicToken(t: TokenEntry): IdentityToken {
    return Object.freeze({
      identityId: t.identityId,
      token: unpackString(t.token),
      expiresAt: t.expiresAt,
      identityPoolId: this.#o.identityPoolId,
      loginsKey: this.#o.loginsKey,
    });
  }

  /** The credentials as the broker hands them out. */
  publicCredentials(c: CredentialsEntry): IdentityCredentials {
    return unpackCredentials(c.body, c.expiration);
  }

  #measureOffset(offsetMs: number): void {
    this.#clockOffsetMs = offsetMs;
    // iat has whole-second resolution: allow one second on top of the grace.
    if (this.#skewWarned || Math.abs(offsetMs) <= this.#graceMs + 1000) return;
    this.#skewWarned = true;
    this.#log.warn(
      { offsetSeconds: Math.round(offsetMs / 1000), skewGraceSeconds: this.#o.skewGraceSeconds },
      'clock skew exceeds grace: local clock differs from Cognito by more than skewGraceSeconds',
    );
  }

  #clockTooFar(what: string): BrokerError {
    this.#log.error(
      { operation: what, skewGraceSeconds: this.#o.skewGraceSeconds },
      'cognito broker misconfigured: local clock is too far off',
    );
    return new BrokerError('ERR_MISCONFIGURED', 'The identity service is misconfigured', {
      cause: new Error(`a fresh ${what} is already past its validity on the local clock`),
    });
  }
}

// The plaintext of entries in a fleet's shared tier (encrypted there): JSON of short fields.

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A token entry as the fleet's plaintext. */
export function encodeToken(t: TokenEntry): string {
  return JSON.stringify({
    u: t.userId,
    i: t.identityId,
    t: unpackString(t.token),
    e: t.expiresAt,
    v: t.validUntil,
    r: t.refreshAt,
  });
}

/** The token entry of {@link encodeToken}'s plaintext, or `undefined`. */
export function decodeToken(text: string): TokenEntry | undefined {
  const o = parseObject(text);
  if (
    o === undefined ||
    typeof o.u !== 'string' ||
    typeof o.i !== 'string' ||
    typeof o.t !== 'string' ||
    !isFiniteNumber(o.e) ||
    !isFiniteNumber(o.v) ||
    !isFiniteNumber(o.r)
  ) {
    return undefined;
  }
  return Object.freeze({
    userId: o.u,
    identityId: o.i,
    token: packString(o.t),
    expiresAt: o.e,
    validUntil: o.v,
    refreshAt: Math.min(o.r, o.v),
  });
}

/** A credentials entry as the fleet's plaintext. */
export function encodeCredentials(c: CredentialsEntry): string {
  return JSON.stringify({
    i: c.identityId,
    g: c.guest,
    b: unpackString(c.body),
    x: c.expiration,
    v: c.validUntil,
    r: c.refreshAt,
  });
}

/** The credentials entry of {@link encodeCredentials}'s plaintext, or `undefined`. */
export function decodeCredentials(text: string): CredentialsEntry | undefined {
  const o = parseObject(text);
  if (
    o === undefined ||
    typeof o.i !== 'string' ||
    typeof o.g !== 'boolean' ||
    typeof o.b !== 'string' ||
    !isFiniteNumber(o.x) ||
    !isFiniteNumber(o.v) ||
    !isFiniteNumber(o.r)
  ) {
    return undefined;
  }
  return Object.freeze({
    identityId: o.i,
    guest: o.g,
    body: packString(o.b),
    expiration: o.x,
    validUntil: o.v,
    refreshAt: Math.min(o.r, o.v),
  });
}
