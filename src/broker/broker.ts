import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  DescribeIdentityCommand,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
  GetOpenIdTokenForDeveloperIdentityCommand,
  LookupDeveloperIdentityCommand,
  MergeDeveloperIdentitiesCommand,
  UnlinkDeveloperIdentityCommand,
  UnlinkIdentityCommand,
  type GetCredentialsForIdentityResponse,
  type GetOpenIdTokenForDeveloperIdentityResponse,
  type IdentityDescription as CognitoIdentityDescription,
} from '@aws-sdk/client-cognito-identity';
import { BrokerError, isBrokerError, type BrokerErrorCode } from '../errors.js';
import { abortable } from './abort.js';
import { defaultCognitoClient } from './default-client.js';
import { toBrokerError, upstreamErrorName, validationMember, type UpstreamErrorContext } from './error-mapping.js';
import { readJwtTimes } from './jwt.js';
import { brokerLogger } from './log.js';
import { resolveBrokerOptions, type BrokerOptions, type CognitoSendClient, type PrincipalTags } from './options.js';
import {
  packCredentials,
  packString,
  registerCredentialsBodyReader,
  unpackCredentials,
  unpackString,
} from './packed.js';
import { RefreshingCache, type CacheEntryTimes } from './refreshing-cache.js';
import type {
  AwsCredentialIdentityProvider,
  Broker,
  BrokerStats,
  IdentityCredentials,
  IdentityDescription,
  IdentityToken,
  UserCallOptions,
} from './types.js';

/** A cached OpenID token of one developer user (with one set of principal tags). */
interface TokenEntry extends CacheEntryTimes {
  readonly userId: string;
  readonly identityId: string;
  /** The OpenID token, off the JS heap (see packed.ts): read it with `unpackString`. */
  readonly token: ArrayBuffer;
  /** Epoch ms, from the JWT's `exp` when readable, else send time + duration. */
  readonly expiresAt: number;
}

interface TokenContext {
  readonly userId: string;
  readonly tags: PrincipalTags | undefined;
}

/** Cached credentials of one identity (and role). */
interface CredentialsEntry extends CacheEntryTimes {
  readonly identityId: string;
  readonly guest: boolean;
  /** The credentials as the JSON body the credentials route sends, off the JS heap (see packed.ts). */
  readonly body: ArrayBuffer;
  /** Epoch ms, Cognito's `Expiration`. */
  readonly expiration: number;
}

interface CredentialsContext {
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

const OP = Object.freeze({
  token: 'GetOpenIdTokenForDeveloperIdentity',
  credentials: 'GetCredentialsForIdentity',
  getId: 'GetId',
  describe: 'DescribeIdentity',
  lookup: 'LookupDeveloperIdentity',
  merge: 'MergeDeveloperIdentities',
  unlinkDeveloper: 'UnlinkDeveloperIdentity',
  unlink: 'UnlinkIdentity',
});

/** Share of an entry's servable life over which refresh points are spread (see `refreshPoint`). */
const REFRESH_SPREAD = 0.1;
const IDENTITY_ID = /^[\w-]+:[0-9a-f-]+$/;
const PROVIDER_NAME = /^[\w.:/-]{1,128}$/;
/** Errors after which a user's identity is resolved again once (merged away, deleted, token refused). */
const RE_RESOLVE: ReadonlySet<BrokerErrorCode> = new Set<BrokerErrorCode>([
  'ERR_IDENTITY_DISABLED',
  'ERR_NOT_FOUND',
  'ERR_COGNITO_REJECTED',
]);

function badRequest(message: string): BrokerError {
  return new BrokerError('ERR_BAD_REQUEST', message);
}

function checkUserId(userId: unknown, what = 'user id'): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 1024) {
    throw badRequest(`The ${what} must be a string of 1–1024 characters`);
  }
}

function checkIdentityId(identityId: unknown): asserts identityId is string {
  if (typeof identityId !== 'string' || identityId.length > 55 || !IDENTITY_ID.test(identityId)) {
    throw badRequest('The identity id is not valid');
  }
}

function identityChanged(): BrokerError {
  return new BrokerError('ERR_IDENTITY_DISABLED', 'The identity of the user changed', {
    cause: new Error('the user now resolves to another identity (merged)'),
  });
}

function incomplete(operation: string): BrokerError {
  return new BrokerError('ERR_COGNITO_UNAVAILABLE', 'The identity service returned an incomplete response', {
    cause: new Error(`${operation} response is missing fields`),
    retryable: true,
  });
}

/**
 * Creates the developer-authenticated identity broker. Validates `options` once and does no I/O: the
 * default Cognito client is built on the first upstream call.
 *
 * Every upstream failure becomes a `BrokerError` (see `toBrokerError` for the codes); every wait can
 * be cut short by `UserCallOptions.signal`, which rejects with the signal's reason.
 *
 * @throws TypeError when an option is invalid (the message names it).
 */
export function createBroker(options: BrokerOptions): Broker {
  const o = resolveBrokerOptions(options);
  const log = brokerLogger(o.logger);
  const { clock } = o;
  const graceMs = o.skewGraceSeconds * 1000;
  const durationMs = o.tokenDurationSeconds * 1000;
  const refreshAheadMs = o.refreshAheadSeconds * 1000;

  let client: CognitoSendClient | undefined = o.client;
  const cognito = (): CognitoSendClient => {
    client ??= defaultCognitoClient({ region: o.region, maxAttempts: o.maxAttempts, timeoutMs: o.timeoutMs });
    return client;
  };

  const upstreamCalls: Record<string, number> = {};
  const upstreamErrors: Record<string, number> = {};
  let inFlight = 0;
  let skewWarned = false;
  /** Cognito's clock minus ours, ms, from the latest token's `iat` (0 until a token was seen). */
  let clockOffsetMs = 0;
  /** Guest identity ids with an upgrade running in this process (running ones only: bounded by concurrency). */
  const upgrading = new Set<string>();

  /**
   * One upstream call with the per-call timeout, counters and log lines. `cancel` aborts it when its
   * cache entry is dropped; that rejection is the signal's reason, not a BrokerError.
   */
  async function upstream<T>(
    context: UpstreamErrorContext,
    send: (abortSignal: AbortSignal) => Promise<T>,
    cancel?: AbortSignal,
  ): Promise<T> {
    const { operation } = context;
    upstreamCalls[operation] = (upstreamCalls[operation] ?? 0) + 1;
    inFlight += 1;
    const controller = new AbortController();
    // Made only when the timer fires: a DOMException captures a stack trace, ~50 µs on every call.
    let timeoutReason: DOMException | undefined;
    const timer = setTimeout(() => {
      timeoutReason = new DOMException(`${operation} timed out`, 'TimeoutError');
      controller.abort(timeoutReason);
    }, o.timeoutMs);
    const onCancel = (): void => {
      controller.abort(cancel?.reason);
    };
    if (cancel?.aborted === true) onCancel();
    else cancel?.addEventListener('abort', onCancel, { once: true });
    const started = performance.now();
    try {
      const out = await abortable(send(controller.signal), controller.signal);
      log.debug({ operation, durationMs: Math.round(performance.now() - started) }, 'cognito call');
      return out;
    } catch (err) {
      const elapsedMs = Math.round(performance.now() - started);
      const timedOut = timeoutReason !== undefined && controller.signal.reason === timeoutReason;
      if (controller.signal.aborted && !timedOut) {
        log.debug({ operation, durationMs: elapsedMs }, 'cognito call cancelled');
        throw err;
      }
      upstreamErrors[operation] = (upstreamErrors[operation] ?? 0) + 1;
      const mapped = timedOut
        ? new BrokerError('ERR_COGNITO_TIMEOUT', 'The identity service did not answer in time', {
            cause: err,
            retryable: true,
          })
        : toBrokerError(err, context);
      const fields = {
        operation,
        durationMs: elapsedMs,
        code: mapped.code,
        errorName: upstreamErrorName(mapped),
        retryable: mapped.retryable,
      };
      if (mapped.code === 'ERR_MISCONFIGURED') {
        const cause = mapped.cause as { message?: unknown } | undefined;
        const member = validationMember(typeof cause?.message === 'string' ? cause.message : '');
        log.error(
          { ...fields, ...(member === '' ? {} : { member }), identityPoolId: o.identityPoolId },
          'cognito broker misconfigured: check identityPoolId, developerProviderName, roles and AWS credentials',
        );
      } else {
        log.warn(fields, 'cognito call failed');
      }
      throw mapped;
    } finally {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
      inFlight -= 1;
    }
  }

  /**
   * Refresh point of an entry obtained at `start` and servable until `validUntil`: at random in the
   * last tenth of its life before the refresh-ahead point (never before half its life). Entries loaded
   * together (at start-up, after a deploy) would otherwise all refresh at the same moment, every hour:
   * a burst of CPU in this process and of calls against Cognito's 50 rps quota.
   */
  function refreshPoint(start: number, validUntil: number): number {
    if (refreshAheadMs === 0) return validUntil;
    const floor = start + Math.floor((validUntil - start) / 2);
    const latest = Math.min(validUntil, Math.max(validUntil - refreshAheadMs, floor));
    const earliest = Math.max(floor, latest - Math.floor((validUntil - start) * REFRESH_SPREAD));
    return earliest + Math.floor(Math.random() * (latest - earliest));
  }

  function clockTooFar(what: string): BrokerError {
    log.error(
      { operation: what, skewGraceSeconds: o.skewGraceSeconds },
      'cognito broker misconfigured: local clock is too far off',
    );
    return new BrokerError('ERR_MISCONFIGURED', 'The identity service is misconfigured', {
      cause: new Error(`a fresh ${what} is already past its validity on the local clock`),
    });
  }

  function tokenEntry(userId: string, out: GetOpenIdTokenForDeveloperIdentityResponse, sentAt: number): TokenEntry {
    if (out.IdentityId === undefined || out.Token === undefined) throw incomplete(OP.token);
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
    if (iat !== undefined) clockOffsetMs = iat * 1000 - sentAt;
    if (iat !== undefined && !skewWarned) {
      // iat has whole-second resolution: allow one second on top of the grace.
      const offsetMs = clockOffsetMs;
      if (Math.abs(offsetMs) > graceMs + 1000) {
        skewWarned = true;
        log.warn(
          { offsetSeconds: Math.round(offsetMs / 1000), skewGraceSeconds: o.skewGraceSeconds },
          'clock skew exceeds grace: local clock differs from Cognito by more than skewGraceSeconds',
        );
      }
    }
    if (validUntil <= clock.now()) throw clockTooFar('token');
    return Object.freeze({
      userId,
      identityId: out.IdentityId,
      token: packString(out.Token),
      expiresAt,
      validUntil,
      refreshAt: refreshPoint(sentAt, validUntil),
    });
  }

  /** The user's principal tags now. `quiet`: a refusal is not logged (the caller falls back to a path that logs it). */
  function tagsFor(userId: string, quiet = false): PrincipalTags | undefined {
    if (o.principalTags === undefined) return undefined;
    let tags: PrincipalTags | undefined;
    try {
      tags = o.principalTags(userId);
    } catch (err) {
      throw new BrokerError('ERR_INTERNAL', 'principalTags failed', { cause: err });
    }
    // An async function's Promise has no own keys: it would silently mean "no tags". Refuse it.
    if (typeof (tags as { then?: unknown } | undefined)?.then === 'function') {
      // No unhandled rejection from the refused Promise.
      Promise.resolve(tags).catch(() => undefined);
      if (!quiet)
        log.error(
          { operation: 'principalTags' },
          'cognito broker misconfigured: principalTags returned a Promise; it must return the tags synchronously',
        );
      throw new BrokerError('ERR_MISCONFIGURED', 'The identity service is misconfigured', {
        cause: new TypeError('principalTags must return the tags (or undefined), not a Promise'),
      });
    }
    return tags === undefined || Object.keys(tags).length === 0 ? undefined : tags;
  }

  function tagsHash(tags: PrincipalTags | undefined): string {
    if (tags === undefined) return '';
    const sorted = Object.keys(tags)
      .sort()
      .map((k) => [k, tags[k]]);
    return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url');
  }

  // Keys are per broker, so the pool, provider and role (the same for every entry) are not in them.
  // The common key is the id itself, sharing the string the entry holds: one string fewer per cached
  // user. Every other key is the JSON of a tuple, which starts with '[', and an id that starts with
  // '[' always takes the tuple form: ids containing separators, quotes, unicode or any length cannot
  // collide.
  const tokenKey = (userId: string, tags: PrincipalTags | undefined): string =>
    tags === undefined && !userId.startsWith('[') ? userId : JSON.stringify([userId, tagsHash(tags)]);
  // With the tag hash: credentials carry the token's principal tags as session tags.
  const credentialsKey = (identityId: string, guest: boolean, tags: PrincipalTags | undefined): string =>
    !guest && tags === undefined && !identityId.startsWith('[')
      ? identityId
      : JSON.stringify([identityId, guest, tagsHash(tags)]);

  function tokenInput(
    userId: string,
    tags: PrincipalTags | undefined,
    extra: { IdentityId?: string; Logins?: Record<string, string> } = {},
  ) {
    return {
      IdentityPoolId: o.identityPoolId,
      Logins: { [o.developerProviderName]: userId, ...extra.Logins },
      TokenDuration: o.tokenDurationSeconds,
      ...(extra.IdentityId === undefined ? {} : { IdentityId: extra.IdentityId }),
      ...(tags === undefined ? {} : { PrincipalTags: { ...tags } }),
    };
  }

  const tokens = new RefreshingCache<TokenEntry, TokenContext>({
    max: o.cacheMax,
    clock,
    load: async (_key, { userId, tags }, signal) => {
      const sentAt = clock.now();
      const out = await upstream(
        { operation: OP.token },
        (abortSignal) =>
          cognito().send(new GetOpenIdTokenForDeveloperIdentityCommand(tokenInput(userId, tags)), { abortSignal }),
        signal,
      );
      return tokenEntry(userId, out, sentAt);
    },
  });

  const credentials = new RefreshingCache<CredentialsEntry, CredentialsContext>({
    max: o.cacheMax,
    clock,
    load: async (_key, ctx, signal) => {
      // A valid token is needed only now, when credentials are loaded: cached credentials outlive
      // tokens, and serving them must not cost a GetOpenIdTokenForDeveloperIdentity call.
      let token: string | undefined;
      if (ctx.userId !== undefined) {
        const t =
          ctx.token !== undefined && clock.now() < ctx.token.validUntil
            ? ctx.token
            : await tokenFor(ctx.userId, signal, { tags: ctx.tags });
        if (t.identityId !== ctx.identityId) throw identityChanged();
        token = unpackString(t.token);
      }
      const sentAt = clock.now();
      let out: GetCredentialsForIdentityResponse;
      try {
        out = await upstream(
          { operation: OP.credentials, clientInput: ctx.clientInput },
          (abortSignal) =>
            cognito().send(
              new GetCredentialsForIdentityCommand({
                IdentityId: ctx.identityId,
                ...(token === undefined ? {} : { Logins: { [o.loginsKey]: token } }),
                ...(ctx.guest || o.customRoleArn === undefined ? {} : { CustomRoleArn: o.customRoleArn }),
              }),
              { abortSignal },
            ),
          signal,
        );
      } catch (err) {
        // Also in a background refresh: forget the user's token so the next read re-resolves.
        if (ctx.userId !== undefined && isBrokerError(err) && RE_RESOLVE.has(err.code)) {
          dropUserIdentity(ctx.userId, ctx.identityId, false);
        }
        throw err;
      }
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
      const validUntil = expiration - Math.max(0, clockOffsetMs) - graceMs;
      if (validUntil <= clock.now()) throw clockTooFar('credentials');
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
        refreshAt: refreshPoint(sentAt, validUntil),
      });
    },
  });

  /**
   * Drops every cache entry of the given users and identities, including loads in progress (their
   * waiters read again). Identities of the users' cached tokens are dropped too.
   */
  function invalidate(
    operation: string,
    userIds: readonly string[],
    identityIds: readonly (string | undefined)[],
  ): void {
    const users = new Set(userIds);
    const ids = new Set(identityIds.filter((id): id is string => id !== undefined));
    const tokenEntries = tokens.entries();
    for (const [, value] of tokenEntries) {
      if (value !== undefined && users.has(value.userId)) ids.add(value.identityId);
    }
    let droppedTokens = 0;
    for (const [key, value, loading] of tokenEntries) {
      if (
        (value !== undefined && (users.has(value.userId) || ids.has(value.identityId))) ||
        (loading !== undefined && users.has(loading.userId))
      ) {
        tokens.delete(key);
        droppedTokens += 1;
      }
    }
    let droppedCredentials = 0;
    for (const [key, value, loading] of credentials.entries()) {
      if (
        (value !== undefined && ids.has(value.identityId)) ||
        (loading !== undefined && ids.has(loading.identityId))
      ) {
        credentials.delete(key);
        droppedCredentials += 1;
      }
    }
    log.debug({ operation, tokens: droppedTokens, credentials: droppedCredentials }, 'cache entries dropped');
  }

  /**
   * Drops the user's token entries for `identityId` (and, with `credentialsToo`, that identity's
   * cached credentials) after Cognito refused it. Loads in progress are left alone, so concurrent
   * re-resolutions do not cancel each other.
   */
  function dropUserIdentity(userId: string, identityId: string, credentialsToo: boolean): void {
    for (const [key, value] of tokens.entries()) {
      if (value !== undefined && value.userId === userId && value.identityId === identityId) tokens.delete(key);
    }
    if (!credentialsToo) return;
    for (const [key, value] of credentials.entries()) {
      if (value !== undefined && !value.guest && value.identityId === identityId) credentials.delete(key);
    }
  }

  /** UnlinkDeveloperIdentity of `userId` from `identityId` (this broker's pool and provider). */
  async function unlinkDeveloper(identityId: string, userId: string): Promise<void> {
    await upstream({ operation: OP.unlinkDeveloper }, (abortSignal) =>
      cognito().send(
        new UnlinkDeveloperIdentityCommand({
          IdentityId: identityId,
          IdentityPoolId: o.identityPoolId,
          DeveloperProviderName: o.developerProviderName,
          DeveloperUserIdentifier: userId,
        }),
        { abortSignal },
      ),
    );
  }

  /** The user's token, with `tagged.tags` when given, else with the user's principal tags now. */
  async function tokenFor(
    userId: string,
    signal?: AbortSignal,
    tagged?: { readonly tags: PrincipalTags | undefined },
  ): Promise<TokenEntry> {
    checkUserId(userId);
    const tags = tagged === undefined ? tagsFor(userId) : tagged.tags;
    const started = performance.now();
    const { value, hit } = await tokens.get(tokenKey(userId, tags), { userId, tags }, signal);
    // Guarded: the fields object would be built on every read even with debug off (hot path).
    if (log.isLevelEnabled('debug')) {
      log.debug(
        { operation: 'getToken', cache: hit ? 'hit' : 'miss', durationMs: Math.round(performance.now() - started) },
        'token served',
      );
    }
    return value;
  }

  /** Runs `fn` with the user's token; if Cognito says the identity is gone, re-resolves once. */
  async function withIdentity<T>(
    operation: string,
    userId: string,
    fn: (token: TokenEntry) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const token = await tokenFor(userId, signal);
    try {
      return await fn(token);
    } catch (err) {
      if (!isBrokerError(err) || !RE_RESOLVE.has(err.code)) throw err;
      log.info({ operation, code: err.code }, 'identity re-resolved');
      dropUserIdentity(userId, token.identityId, true);
      return fn(await tokenFor(userId, signal));
    }
  }

  const publicToken = (t: TokenEntry): IdentityToken =>
    Object.freeze({
      identityId: t.identityId,
      token: unpackString(t.token),
      expiresAt: t.expiresAt,
      identityPoolId: o.identityPoolId,
      loginsKey: o.loginsKey,
    });

  const publicCredentials = (c: CredentialsEntry): IdentityCredentials => unpackCredentials(c.body, c.expiration);

  /** DescribeIdentity as Cognito answers it: `Logins` includes the developer provider. */
  async function describeRaw(
    identityId: string,
    clientInput = false,
  ): Promise<{ identityId: string; allLogins: readonly string[]; out: CognitoIdentityDescription }> {
    const out = await upstream({ operation: OP.describe, clientInput }, (abortSignal) =>
      cognito().send(new DescribeIdentityCommand({ IdentityId: identityId }), { abortSignal }),
    );
    return { identityId: out.IdentityId ?? identityId, allLogins: [...(out.Logins ?? [])], out };
  }

  /** The public description: the developer provider is the broker's business, not a linked login. */
  async function describe(identityId: string): Promise<IdentityDescription> {
    const { identityId: id, allLogins, out } = await describeRaw(identityId);
    return Object.freeze({
      identityId: id,
      logins: Object.freeze(allLogins.filter((p) => p !== o.developerProviderName)),
      ...(out.CreationDate instanceof Date ? { creationDate: out.CreationDate.getTime() } : {}),
      ...(out.LastModifiedDate instanceof Date ? { lastModifiedDate: out.LastModifiedDate.getTime() } : {}),
    });
  }

  function checkProvider(provider: unknown): asserts provider is string {
    if (typeof provider !== 'string' || !PROVIDER_NAME.test(provider))
      throw badRequest('The provider name is not valid');
    if (provider === o.loginsKey || provider === o.developerProviderName) {
      throw badRequest('The provider cannot be linked or unlinked here');
    }
  }

  async function lookupIdentity(userId: string, useCache = true): Promise<string | null> {
    checkUserId(userId);
    if (useCache) {
      const cached = tokens.peekValid(tokenKey(userId, tagsFor(userId)));
      if (cached !== undefined) return cached.identityId;
    }
    try {
      const out = await upstream({ operation: OP.lookup }, (abortSignal) =>
        cognito().send(
          new LookupDeveloperIdentityCommand({
            IdentityPoolId: o.identityPoolId,
            DeveloperUserIdentifier: userId,
            MaxResults: 1,
          }),
          { abortSignal },
        ),
      );
      return out.IdentityId ?? null;
    } catch (err) {
      if (isBrokerError(err) && err.code === 'ERR_NOT_FOUND') return null;
      throw err;
    }
  }

  async function getCredentials(userId: string, options?: UserCallOptions): Promise<IdentityCredentials> {
    checkUserId(userId);
    const signal = options?.signal;
    const started = performance.now();
    for (let attempt = 0; ; attempt += 1) {
      // The identity id from any token entry of the user, even one past its validity: credentials
      // are keyed by identity and usually outlive the token.
      const tags = tagsFor(userId);
      const known = tokens.peek(tokenKey(userId, tags)) ?? (await tokenFor(userId, signal, { tags }));
      const identityId = known.identityId;
      try {
        const read = await credentials.get(
          credentialsKey(identityId, false, tags),
          { identityId, userId, guest: false, clientInput: false, tags, token: known },
          signal,
        );
        if (log.isLevelEnabled('debug')) {
          log.debug(
            {
              operation: 'getCredentials',
              cache: read.hit ? 'hit' : 'miss',
              durationMs: Math.round(performance.now() - started),
            },
            'credentials served',
          );
        }
        return publicCredentials(read.value);
      } catch (err) {
        if (attempt > 0 || !isBrokerError(err) || !RE_RESOLVE.has(err.code)) throw err;
        log.info({ operation: 'getCredentials', code: err.code }, 'identity re-resolved');
        dropUserIdentity(userId, identityId, true);
      }
    }
  }

  /**
   * The credentials route's fast path (see packed.ts): the cached body of the user's credentials
   * when they are fresh, synchronously; `undefined` whenever `getCredentials` would do more (no
   * entry, a refresh due, a load running, an invalid user id, failing `principalTags`).
   */
  function credentialsBodyNow(userId: string): Buffer | undefined {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 1024) return undefined;
    let tags: PrincipalTags | undefined;
    if (o.principalTags !== undefined) {
      try {
        tags = tagsFor(userId, true);
      } catch {
        return undefined;
      }
    }
    const known = tokens.peek(tokenKey(userId, tags));
    if (known === undefined) return undefined;
    const value = credentials.getFresh(credentialsKey(known.identityId, false, tags));
    if (value === undefined) return undefined;
    if (log.isLevelEnabled('debug'))
      log.debug({ operation: 'getCredentials', cache: 'hit', durationMs: 0 }, 'credentials served');
    return Buffer.from(value.body);
  }

  /**
   * After linking `userId` to a guest identity: its developer users must be exactly [userId]. Another
   * instance of the broker may have linked another user between our guest check and our link (the
   * per-process guard cannot see that); then this user's link is undone and the upgrade fails with
   * ERR_CONFLICT, so that no identity is ever shared by two users.
   */
  async function checkSoleUser(userId: string, identityId: string): Promise<void> {
    const out = await upstream({ operation: OP.lookup }, (abortSignal) =>
      cognito().send(
        new LookupDeveloperIdentityCommand({
          IdentityPoolId: o.identityPoolId,
          IdentityId: identityId,
          MaxResults: 60,
        }),
        {
          abortSignal,
        },
      ),
    );
    const users = out.DeveloperUserIdentifierList ?? [];
    if (users.length === 1 && users[0] === userId && (out.NextToken === undefined || out.NextToken === '')) return;
    log.warn(
      { operation: 'upgradeGuest', developerUsers: users.length },
      'guest identity upgraded concurrently: link undone',
    );
    try {
      await unlinkDeveloper(identityId, userId);
    } finally {
      invalidate('upgradeGuest', [userId], [identityId]);
    }
    throw new BrokerError('ERR_CONFLICT', 'The guest identity was upgraded by another request');
  }

  const broker: Broker = {
    identityPoolId: o.identityPoolId,
    region: o.region,
    loginsKey: o.loginsKey,

    async getToken(userId, options) {
      return publicToken(await tokenFor(userId, options?.signal));
    },

    getCredentials,

    credentialProvider(userId): AwsCredentialIdentityProvider {
      checkUserId(userId);
      return async () => {
        const c = await getCredentials(userId);
        return {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          sessionToken: c.sessionToken,
          expiration: new Date(c.expiration),
        };
      };
    },

    async linkLogin(userId, provider, providerToken) {
      checkProvider(provider);
      if (typeof providerToken !== 'string' || providerToken.length === 0 || providerToken.length > 50_000) {
        throw badRequest('The provider token is not valid');
      }
      return withIdentity('linkLogin', userId, async (token) => {
        const tags = tagsFor(userId);
        const sentAt = clock.now();
        const out = await upstream({ operation: OP.token, providerToken: true }, (abortSignal) =>
          cognito().send(
            new GetOpenIdTokenForDeveloperIdentityCommand(
              tokenInput(userId, tags, { IdentityId: token.identityId, Logins: { [provider]: providerToken } }),
            ),
            { abortSignal },
          ),
        );
        invalidate('linkLogin', [userId], [token.identityId, out.IdentityId]);
        // The link answers with a fresh token for the identity as it is now: keep it.
        tokens.set(tokenKey(userId, tags), tokenEntry(userId, out, sentAt));
        return describe(out.IdentityId ?? token.identityId);
      });
    },

    async unlinkLogin(userId, provider) {
      checkProvider(provider);
      return withIdentity('unlinkLogin', userId, async (token) => {
        await upstream({ operation: OP.unlink, clientInput: true }, (abortSignal) =>
          cognito().send(
            new UnlinkIdentityCommand({
              IdentityId: token.identityId,
              Logins: { [o.loginsKey]: unpackString(token.token) },
              LoginsToRemove: [provider],
            }),
            { abortSignal },
          ),
        );
        invalidate('unlinkLogin', [userId], [token.identityId]);
        return describe(token.identityId);
      });
    },

    async unlinkDeveloperUser(userId) {
      // A fresh lookup, not the cache: unlinking the wrong identity would be worse than one call.
      const identityId = await lookupIdentity(userId, false);
      if (identityId !== null) {
        await unlinkDeveloper(identityId, userId);
      }
      invalidate('unlinkDeveloperUser', [userId], [identityId ?? undefined]);
    },

    async mergeUsers(userId, sourceUserId) {
      checkUserId(userId);
      checkUserId(sourceUserId, 'source user id');
      if (userId === sourceUserId) throw badRequest('A user cannot be merged into itself');
      // Makes sure the destination has an identity (usually a cache hit) and names it for invalidation.
      const destination = await tokenFor(userId);
      // Cognito moves every login of the source identity, other users' included: their cache entries
      // point at that identity, so name it even when the source user is not cached (one lookup).
      let source: { identityId: string } | undefined = tokens.peek(tokenKey(sourceUserId, tagsFor(sourceUserId)));
      if (source === undefined) {
        const found = await lookupIdentity(sourceUserId, false);
        if (found !== null) source = { identityId: found };
      }
      const merge = () =>
        upstream({ operation: OP.merge, clientInput: true }, (abortSignal) =>
          cognito().send(
            new MergeDeveloperIdentitiesCommand({
              SourceUserIdentifier: sourceUserId,
              DestinationUserIdentifier: userId,
              DeveloperProviderName: o.developerProviderName,
              IdentityPoolId: o.identityPoolId,
            }),
            { abortSignal },
          ),
        );
      let out: Awaited<ReturnType<typeof merge>>;
      try {
        out = await merge();
      } catch (err) {
        // The destination exists (resolved above), so ResourceNotFound means the source user never
        // had an identity: Cognito can only merge registered users. Register it, then merge.
        if (!isBrokerError(err) || err.code !== 'ERR_NOT_FOUND') throw err;
        source = await tokenFor(sourceUserId);
        out = await merge();
      }
      invalidate('mergeUsers', [userId, sourceUserId], [destination.identityId, source?.identityId, out.IdentityId]);
      return { identityId: out.IdentityId ?? destination.identityId };
    },

    lookupIdentity: (userId) => lookupIdentity(userId),

    async lookupUsers(identityId, options = {}) {
      checkIdentityId(identityId);
      const { maxResults, nextToken } = options;
      if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 60)) {
        throw badRequest('maxResults must be an integer in [1, 60]');
      }
      if (
        nextToken !== undefined &&
        (typeof nextToken !== 'string' || nextToken.length === 0 || nextToken.length > 100_000)
      ) {
        throw badRequest('nextToken is not valid');
      }
      const out = await upstream({ operation: OP.lookup, clientInput: true }, (abortSignal) =>
        cognito().send(
          new LookupDeveloperIdentityCommand({
            IdentityPoolId: o.identityPoolId,
            IdentityId: identityId,
            MaxResults: maxResults ?? 60,
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
          { abortSignal },
        ),
      );
      const userIds = [...(out.DeveloperUserIdentifierList ?? [])];
      return out.NextToken === undefined || out.NextToken === '' ? { userIds } : { userIds, nextToken: out.NextToken };
    },

    async describeIdentity(userId) {
      return withIdentity('describeIdentity', userId, (token) => describe(token.identityId));
    },

    async getGuestCredentials(guestIdentityId) {
      let identityId = guestIdentityId;
      if (identityId === undefined) {
        const out = await upstream({ operation: OP.getId }, (abortSignal) =>
          cognito().send(new GetIdCommand({ IdentityPoolId: o.identityPoolId }), { abortSignal }),
        );
        if (out.IdentityId === undefined) throw incomplete(OP.getId);
        identityId = out.IdentityId;
      } else {
        checkIdentityId(identityId);
      }
      const read = await credentials.get(credentialsKey(identityId, true, undefined), {
        identityId,
        userId: undefined,
        guest: true,
        clientInput: guestIdentityId !== undefined,
        tags: undefined,
      });
      log.debug({ operation: 'getGuestCredentials', cache: read.hit ? 'hit' : 'miss' }, 'credentials served');
      return publicCredentials(read.value);
    },

    async upgradeGuest(userId, guestIdentityId) {
      checkUserId(userId);
      checkIdentityId(guestIdentityId);
      // One upgrade of a guest at a time in this process: the guest check and the link below are two
      // calls, and two users passing the check together would both be linked to the one identity.
      if (upgrading.has(guestIdentityId)) {
        throw new BrokerError('ERR_CONFLICT', 'The guest identity is being upgraded by another request');
      }
      upgrading.add(guestIdentityId);
      try {
        if ((await lookupIdentity(userId)) !== null) return publicToken(await tokenFor(userId));
        // Only a real guest may be upgraded: linking a user to an identity that already has logins would
        // hand that identity to whoever sent its id.
        const guest = await describeRaw(guestIdentityId, true);
        if (guest.allLogins.length > 0) {
          throw new BrokerError('ERR_FORBIDDEN', 'The identity is not a guest identity');
        }
        const tags = tagsFor(userId);
        const sentAt = clock.now();
        let out: GetOpenIdTokenForDeveloperIdentityResponse;
        try {
          out = await upstream({ operation: OP.token, clientInput: true }, (abortSignal) =>
            cognito().send(
              new GetOpenIdTokenForDeveloperIdentityCommand(tokenInput(userId, tags, { IdentityId: guestIdentityId })),
              { abortSignal },
            ),
          );
        } catch (err) {
          // The user got an identity meanwhile (another request): keep it, leave the guest alone.
          if (isBrokerError(err) && upstreamErrorName(err) === 'DeveloperUserAlreadyRegisteredException') {
            return publicToken(await tokenFor(userId));
          }
          throw err;
        }
        invalidate('upgradeGuest', [userId], [guestIdentityId, out.IdentityId]);
        await checkSoleUser(userId, out.IdentityId ?? guestIdentityId);
        const entry = tokenEntry(userId, out, sentAt);
        tokens.set(tokenKey(userId, tags), entry);
        return publicToken(entry);
      } finally {
        upgrading.delete(guestIdentityId);
      }
    },

    forgetUser(userId) {
      if (typeof userId !== 'string') return;
      invalidate('forgetUser', [userId], []);
    },

    stats(): BrokerStats {
      return {
        tokens: tokens.stats(),
        credentials: credentials.stats(),
        upstreamCalls: { ...upstreamCalls },
        upstreamErrors: { ...upstreamErrors },
        inFlight,
      };
    },
  };
  registerCredentialsBodyReader(broker, credentialsBodyNow);
  return Object.freeze(broker);
}
