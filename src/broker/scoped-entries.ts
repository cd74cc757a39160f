import type { AssumeRoleWithWebIdentityResponse } from '@aws-sdk/client-sts';
import { BrokerError } from '../errors.js';
import type { Logger } from 'pino';
import { incomplete, type Entries } from './entries.js';
import { tagsHash } from './keys.js';
import { packCredentials, packString, unpackString } from './offheap.js';
import type { PrincipalTags, ResolvedBrokerOptions } from './options.js';
import type { CacheEntryTimes } from './refreshing-cache.js';
import { scopeHash, type Scope } from './scope.js';
import { ASSUME_ROLE_WEB_IDENTITY } from './sts-errors.js';

/** Scoped-down credentials of one user for one scope (the classic flow's cache entry). */
export interface ScopedEntry extends CacheEntryTimes {
  readonly userId: string;
  readonly identityId: string;
  /** The credentials as the JSON body a route sends (`CredentialsResponse`), off the JS heap. */
  readonly body: ArrayBuffer;
  /** Epoch ms, STS's `Expiration`. */
  readonly expiration: number;
}

/** What a scoped load needs. */
export interface ScopedContext {
  readonly userId: string;
  /** The principal tags of the token the credentials are for (in the key too). */
  readonly tags: PrincipalTags | undefined;
  readonly scope: Scope;
  /** {@link scopeHash} of the scope as given (the default role as `''`): what logs may name. */
  readonly scopeHash: string;
}

/**
 * The scoped cache's key: the user, the tags' hash and the scope's hash. A tuple (it starts with
 * `["s"`): no user id can make it collide with another key, and it never holds the policy text.
 */
export function scopedKey(userId: string, tags: PrincipalTags | undefined, hash: string): string {
  return JSON.stringify(['s', userId, tagsHash(tags), hash]);
}

/** The hash of a scope as the caller gave it (the default role stays `''`: it is one per broker). */
export function givenScopeHash(scope: Scope): string {
  return scopeHash(scope, scope.roleArn ?? '');
}

/** What {@link scopedEntry} reads of the broker (not the whole context: context.ts imports this file). */
export interface ScopedEntryContext {
  readonly options: Pick<ResolvedBrokerOptions, 'clock' | 'skewGraceSeconds'>;
  readonly entries: Pick<Entries, 'clockOffsetMs' | 'refreshPoint'>;
  readonly log: Logger;
}

/**
 * The entry of an AssumeRoleWithWebIdentity answer to a request sent at `sentAt`, timed as the
 * credentials cache's (entries.ts): served until `Expiration` less the grace and the measured offset
 * of the service's clock, refreshed ahead at a spread point.
 * @throws BrokerError `ERR_COGNITO_UNAVAILABLE` on an incomplete answer, `ERR_MISCONFIGURED` when
 *   the fresh credentials are already past their validity on the local clock.
 */
export function scopedEntry(
  ctx: ScopedEntryContext,
  c: ScopedContext,
  identityId: string,
  out: AssumeRoleWithWebIdentityResponse,
  sentAt: number,
): ScopedEntry {
  const k = out.Credentials;
  if (
    k?.AccessKeyId === undefined ||
    k.SecretAccessKey === undefined ||
    k.SessionToken === undefined ||
    !(k.Expiration instanceof Date)
  ) {
    throw incomplete(ASSUME_ROLE_WEB_IDENTITY);
  }
  const o = ctx.options;
  const expiration = k.Expiration.getTime();
  const validUntil = expiration - Math.max(0, ctx.entries.clockOffsetMs) - o.skewGraceSeconds * 1000;
  if (validUntil <= o.clock.now()) {
    ctx.log.error(
      { operation: ASSUME_ROLE_WEB_IDENTITY, skewGraceSeconds: o.skewGraceSeconds },
      'cognito broker misconfigured: local clock is too far off',
    );
    throw new BrokerError('ERR_MISCONFIGURED', 'The identity service is misconfigured', {
      cause: new Error('fresh scoped credentials are already past their validity on the local clock'),
    });
  }
  return Object.freeze({
    userId: c.userId,
    identityId,
    body: packCredentials({
      identityId,
      accessKeyId: k.AccessKeyId,
      secretAccessKey: k.SecretAccessKey,
      sessionToken: k.SessionToken,
      expiration,
    }),
    expiration,
    validUntil,
    refreshAt: ctx.entries.refreshPoint(sentAt, validUntil),
  });
}

// For the fleet's shared tier (the `scoped` entry kind, sealed like the others): the plaintext.

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A scoped entry as a fleet's plaintext. */
export function encodeScoped(e: ScopedEntry): string {
  return JSON.stringify({
    u: e.userId,
    i: e.identityId,
    b: unpackString(e.body),
    x: e.expiration,
    v: e.validUntil,
    r: e.refreshAt,
  });
}

/** The scoped entry of {@link encodeScoped}'s plaintext, or `undefined`. */
export function decodeScoped(text: string): ScopedEntry | undefined {
  let o: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    o = v as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (
    typeof o.u !== 'string' ||
    typeof o.i !== 'string' ||
    typeof o.b !== 'string' ||
    !isFiniteNumber(o.x) ||
    !isFiniteNumber(o.v) ||
    !isFiniteNumber(o.r)
  ) {
    return undefined;
  }
  return Object.freeze({
    userId: o.u,
    identityId: o.i,
    body: packString(o.b),
    expiration: o.x,
    validUntil: o.v,
    refreshAt: Math.min(o.r, o.v),
  });
}

/**
 * A scoped entry another instance loaded, served on this instance's clock: no later than its
 * `Expiration` less this instance's grace and measured offset (as `Entries.sharedCredentials`).
 */
export function sharedScoped(ctx: ScopedEntryContext, text: string): ScopedEntry | undefined {
  const e = decodeScoped(text);
  if (e === undefined) return undefined;
  const validUntil = Math.min(
    e.validUntil,
    e.expiration - Math.max(0, ctx.entries.clockOffsetMs) - ctx.options.skewGraceSeconds * 1000,
  );
  return validUntil === e.validUntil
    ? e
    : Object.freeze({ ...e, validUntil, refreshAt: Math.min(e.refreshAt, validUntil) });
}
