import { createHash } from 'node:crypto';
import type { BrokerContext } from './context.js';
import type { StsSendClient } from './classic-flow-options.js';
import { ClassicFlow } from './classic-flow.js';
import { defaultCognitoClient } from './default-client.js';
import { Entries } from './entries.js';
import { encodeCredentials, encodeToken } from './entries.js';
import { FLEET_BIND, type FleetBinding, type FleetLoad } from './fleet.js';
import { tokenKey } from './keys.js';
import { IdentityChanges } from './identity-changes.js';
import { dropEverything, dropStored, invalidate } from './invalidation.js';
import { brokerLogger } from './log.js';
import { credentialProvider, freshCredentialsBody, getCredentials, loadCredentials } from './operations/credentials.js';
import { getGuestCredentials, upgradeGuest } from './operations/guest.js';
import { linkLogin, unlinkDeveloperUser, unlinkLogin } from './operations/logins.js';
import { describeIdentity, lookupIdentity, lookupUsers } from './operations/lookup.js';
import { mergeUsers } from './operations/merge.js';
import { preflight } from './operations/preflight.js';
import {
  freshScopedCredentialsBody,
  getScopedCredentials,
  loadScoped,
  scopedCredentialProvider,
} from './operations/scoped-credentials.js';
import { ScopeCap } from './scope-cap.js';
import { loadToken, tokenFor } from './operations/tokens.js';
import {
  resolveBrokerOptions,
  type BrokerOptions,
  type CognitoSendClient,
  type ResolvedBrokerOptions,
} from './options.js';
import { Governor } from './quota/governor.js';
import { RefreshingCache, type CacheEntryTimes } from './refreshing-cache.js';
import { encodeScoped, sharedScoped } from './scoped-entries.js';
import { defaultStsClient } from './sts-client.js';
import { Telemetry } from './telemetry.js';
import type { TelemetrySource } from './telemetry-observables.js';
import type { Broker, BrokerStats } from './types.js';
import { Upstream } from './upstream.js';

/**
 * Creates the developer-authenticated identity broker. Validates `options` once and does no I/O: the
 * default Cognito client is built on the first upstream call.
 *
 * Every upstream failure becomes a `BrokerError` (see `BrokerErrorCode` for the codes); every wait can
 * be cut short by `UserCallOptions.signal`, which rejects with the signal's reason.
 *
 * @example
 * ```ts
 * const broker = createBroker({
 *   identityPoolId: 'us-east-1:0f0e0d0c-1111-2222-3333-444455556666',
 *   developerProviderName: 'login.example.app',
 *   logger, // a pino logger created with `redact: redactPaths`
 * });
 * const { identityId, token } = await broker.getToken(user.id);
 * ```
 * @throws TypeError when an option is invalid (the message names it).
 */
export function createBroker(options: BrokerOptions): Broker {
  const o = resolveBrokerOptions(options);
  const log = brokerLogger(o.logger);
  const telemetry = new Telemetry({
    meterProvider: o.meterProvider,
    tracerProvider: o.tracerProvider,
    region: o.region,
  });
  let client: CognitoSendClient | undefined = o.client;
  let stsClient: StsSendClient | undefined = o.stsClient;
  // The loaders and the fleet's callbacks run only after construction, when `ctx` is complete.
  // eslint-disable-next-line prefer-const -- assigned once below; read by callbacks made before it
  let ctx: BrokerContext;
  const identityChanges = new IdentityChanges();
  const fleet: FleetBinding | undefined = o.fleet?.[FLEET_BIND]({
    namespace: fleetNamespace(o),
    log,
    clock: o.clock,
    // A credentials load may wait for a token load: two calls' timeouts, and a margin.
    loadMs: 2 * o.timeoutMs + (o.quota?.maxWaitMs ?? 0) + 1000,
    waitMs: o.timeoutMs,
    maxUsers: o.cacheMax,
    invalidateLocal: (userIds, identityIds) => {
      invalidate(ctx, 'fleet', userIds, identityIds, false);
    },
    dropAll: () => {
      dropEverything(ctx);
    },
    dropStored: () => {
      dropStored(ctx);
    },
  });
  const quota =
    o.quota === undefined || fleet === undefined || o.quotaStoreGiven
      ? o.quota
      : { ...o.quota, store: fleet.quotaStore };
  const governor = quota === undefined ? undefined : new Governor(quota);
  // A fleet's instance may serve every first load from the shared tier, with no Cognito call to
  // start its instruments: start them at its first shared load.
  const viaFleet = <V extends CacheEntryTimes>(binding: FleetBinding, request: FleetLoad<V>): Promise<V> => {
    telemetry.start();
    return binding.load(request);
  };
  const clientOptions = {
    region: o.region,
    maxAttempts: o.maxAttempts,
    timeoutMs: o.timeoutMs,
    // Every SDK retry takes its own token; a user's own client is governed once per call.
    ...(governor === undefined ? {} : { beforeRetry: (signal: AbortSignal) => governor.retry(signal) }),
  };
  const upstream = new Upstream({
    telemetry,
    client: () => {
      client ??= defaultCognitoClient(clientOptions);
      return client;
    },
    timeoutMs: o.timeoutMs,
    identityPoolId: o.identityPoolId,
    log,
    governor,
  });
  ctx = {
    options: o,
    log,
    upstream,
    entries: new Entries(o, log),
    tokens: new RefreshingCache({
      telemetry: { name: 'token', telemetry },
      max: o.cacheMax,
      clock: o.clock,
      load: (key, context, signal, stale) =>
        fleet === undefined
          ? identityChanges.current(() => loadToken(ctx, context, signal, stale))
          : viaFleet(fleet, {
              kind: 'token',
              key,
              userId: context.userId,
              identityId: undefined,
              accept: (value) => acceptShared(o, value, stale),
              encode: encodeToken,
              decode: (text) => ctx.entries.sharedToken(text),
              identityOf: (value) => value.identityId,
              load: () => identityChanges.current(() => loadToken(ctx, context, signal, stale)),
              signal,
            }),
    }),
    credentials: new RefreshingCache({
      telemetry: { name: 'credentials', telemetry },
      max: o.cacheMax,
      clock: o.clock,
      load: (key, context, signal, stale) =>
        fleet === undefined
          ? loadCredentials(ctx, context, signal, stale)
          : viaFleet(fleet, {
              kind: 'credentials',
              key,
              userId: context.userId,
              identityId: context.identityId,
              ...(context.userId === undefined ? {} : { companionTokenKey: tokenKey(context.userId, context.tags) }),
              accept: (value) => acceptShared(o, value, stale),
              encode: encodeCredentials,
              decode: (text) => ctx.entries.sharedCredentials(text),
              load: () => loadCredentials(ctx, context, signal, stale),
              signal,
            }),
    }),
    // The classic flow's entries, shared in a fleet like the tokens: the user is known before the
    // load, the identity only from its answer (changes naming it, read after the answer, then guard
    // the store).
    scoped: new RefreshingCache({
      telemetry: { name: 'scoped', telemetry },
      max: o.cacheMax,
      clock: o.clock,
      // A load whose answer names an identity changed while it ran (a merge of another user of that
      // identity) is loaded again, as a token load is.
      load: (key, context, signal, stale) =>
        fleet === undefined
          ? identityChanges.current(() => loadScoped(ctx, context, signal, stale))
          : viaFleet(fleet, {
              kind: 'scoped',
              key,
              userId: context.userId,
              identityId: undefined,
              accept: (value) => acceptShared(o, value, stale),
              encode: encodeScoped,
              decode: (text) => sharedScoped(ctx, text),
              identityOf: (value) => value.identityId,
              load: () => identityChanges.current(() => loadScoped(ctx, context, signal, stale)),
              signal,
            }),
    }),
    scopeCap: new ScopeCap(o.classicFlow.maxScopesPerUser, o.cacheMax),
    classic: new ClassicFlow({
      sts: () => {
        stsClient ??= defaultStsClient(clientOptions);
        return stsClient;
      },
      roleArn: o.classicFlow.roleArn,
      identityPoolId: o.identityPoolId,
    }),
    upgrading: new Map(),
    identityChanges,
    fleet,
  };

  // Read only when the app's metric reader collects; held weakly, so a dropped broker is collected.
  telemetry.observe(ctx, telemetrySource);

  const broker: Broker = {
    identityPoolId: o.identityPoolId,
    region: o.region,
    loginsKey: o.loginsKey,
    getToken: async (userId, callOptions) => ctx.entries.publicToken(await tokenFor(ctx, userId, callOptions?.signal)),
    getCredentials: (userId, callOptions) => getCredentials(ctx, userId, callOptions),
    freshCredentialsBody: (userId) => freshCredentialsBody(ctx, userId),
    credentialProvider: (userId) => credentialProvider(ctx, userId),
    getScopedCredentials: (userId, scope, callOptions) => getScopedCredentials(ctx, userId, scope, callOptions),
    freshScopedCredentialsBody: (userId, scope) => freshScopedCredentialsBody(ctx, userId, scope),
    scopedCredentialProvider: (userId, scope) => scopedCredentialProvider(ctx, userId, scope),
    linkLogin: (userId, provider, providerToken) => linkLogin(ctx, userId, provider, providerToken),
    unlinkLogin: (userId, provider) => unlinkLogin(ctx, userId, provider),
    unlinkDeveloperUser: (userId) => unlinkDeveloperUser(ctx, userId),
    mergeUsers: (userId, sourceUserId) => mergeUsers(ctx, userId, sourceUserId),
    lookupIdentity: (userId) => lookupIdentity(ctx, userId),
    lookupUsers: (identityId, lookupOptions) => lookupUsers(ctx, identityId, lookupOptions),
    describeIdentity: (userId) => describeIdentity(ctx, userId),
    getGuestCredentials: (guestIdentityId) => getGuestCredentials(ctx, guestIdentityId),
    upgradeGuest: (userId, guestIdentityId) => upgradeGuest(ctx, userId, guestIdentityId),
    forgetUser(userId) {
      if (typeof userId !== 'string') return;
      invalidate(ctx, 'forgetUser', [userId], []);
    },
    preflight: (preflightOptions) => preflight(ctx, preflightOptions),
    stats(): BrokerStats {
      return {
        tokens: ctx.tokens.stats(),
        credentials: ctx.credentials.stats(),
        scoped: ctx.scoped.stats(),
        ...upstream.stats(),
        ...(governor?.stats() ?? { quotaRefused: {}, userBudgetRefused: {} }),
        ...(fleet === undefined ? {} : { fleet: fleet.stats() }),
      };
    },
  };
  return Object.freeze(broker);
}

/**
 * Whether an entry another instance loaded may be served: while valid, and, when this load refreshes
 * a still-valid entry, only if it is not itself due for refresh (another instance refreshed it).
 */
function acceptShared(
  o: ResolvedBrokerOptions,
  value: { readonly validUntil: number; readonly refreshAt: number },
  stale: { readonly validUntil: number } | undefined,
): boolean {
  const now = o.clock.now();
  if (now >= value.validUntil) return false;
  return stale === undefined || now >= stale.validUntil || now < value.refreshAt;
}

/** A short hash of every option that shapes a cached entry: differently configured brokers share nothing. */
function fleetNamespace(o: ResolvedBrokerOptions): string {
  const shape = [
    // The format of the shared entries and scripts: instances of another format share nothing.
    'fleet-1',
    o.identityPoolId,
    o.developerProviderName,
    o.tokenDurationSeconds,
    o.skewGraceSeconds,
    o.customRoleArn ?? '',
    o.loginsKey,
    // A scope's hash names the default role as '': brokers with different defaults share no entry.
    // Only when set, so that brokers without one keep the namespace they had before it was added.
    ...(o.classicFlow.roleArn === undefined ? [] : [o.classicFlow.roleArn]),
  ];
  return createHash('sha256').update(JSON.stringify(shape)).digest('base64url').slice(0, 12);
}

/** What the broker's observable instruments read from its context (module-level: captures nothing). */
function telemetrySource(ctx: BrokerContext): TelemetrySource {
  return {
    caches: { token: ctx.tokens, credentials: ctx.credentials, scoped: ctx.scoped },
    inFlight: () => ctx.upstream.stats().inFlight,
    clockOffsetMs: () => ctx.entries.clockOffsetMs,
    fleet: () => ctx.fleet?.stats(),
  };
}
