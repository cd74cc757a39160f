import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { CacheStats, FleetStats } from './seam-types.js';

export type { CacheStats } from './seam-types.js';

/**
 * An OpenID token for a user's Cognito identity, as returned by
 * GetOpenIdTokenForDeveloperIdentity and cached by the broker.
 */
export interface IdentityToken {
  /** The Cognito identity id, `REGION:GUID`. */
  readonly identityId: string;
  /** The OpenID Connect token (a JWT). Secret: never log it. */
  readonly token: string;
  /** When the token expires, epoch milliseconds (from the JWT's `exp` when readable). */
  readonly expiresAt: number;
  /** The identity pool the identity belongs to. */
  readonly identityPoolId: string;
  /** The key under which the token goes in a `Logins` map (`cognito-identity.amazonaws.com`). */
  readonly loginsKey: string;
}

/** Temporary AWS credentials for a user's identity, from GetCredentialsForIdentity. */
export interface IdentityCredentials {
  readonly identityId: string;
  readonly accessKeyId: string;
  /** Secret: never log it. */
  readonly secretAccessKey: string;
  /** Secret: never log it. */
  readonly sessionToken: string;
  /** When the credentials expire, epoch milliseconds. */
  readonly expiration: number;
}

/**
 * Credentials on the wire: the body of `GET /credentials` and `POST /guest` (the field names of the
 * AWS SDK's `AwsCredentialIdentity`, plus the identity id), and the JSON that
 * {@link Broker.freshCredentialsBody} returns as UTF-8 bytes.
 */
export interface CredentialsResponse {
  readonly identityId: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** When the credentials expire, ISO 8601. */
  readonly expiration: string;
}

/** What {@link Broker.describeIdentity} returns. */
export interface IdentityDescription {
  readonly identityId: string;
  /** Provider names of the linked public logins (never their tokens). */
  readonly logins: readonly string[];
  /** Epoch milliseconds, when known. */
  readonly creationDate?: number;
  readonly lastModifiedDate?: number;
}

/**
 * The scope of classic-flow credentials (`Broker.getScopedCredentials`): what STS
 * AssumeRoleWithWebIdentity is asked for. Checked before any call (a bad one is `ERR_BAD_POLICY` for
 * the policy and its ARNs, `ERR_BAD_REQUEST` for the rest). Credentials are cached per user and per
 * scope (a hash of every field, never the policy text).
 */
export interface ScopedCredentialsOptions {
  /**
   * The IAM role to assume; its trust policy must allow the pool's tokens. Default:
   * `classicFlow.roleArn`, else the pool's authenticated role.
   */
  readonly roleArn?: string;
  /**
   * A session policy (an IAM policy document as JSON, at most 2,048 characters): the credentials
   * get the intersection of the role's permissions and this policy.
   */
  readonly policy?: string;
  /** Managed policy ARNs whose intersection with the role's permissions the credentials get (at most 10). */
  readonly policyArns?: readonly string[];
  /**
   * Lifetime of the credentials, seconds: an integer in [900, 43200], at most the role's maximum
   * session duration. Default `classicFlow.durationSeconds` (3600).
   */
  readonly durationSeconds?: number;
  /**
   * The role session name (2–64 characters of `[\w+=,.@-]`), seen in CloudTrail and in the
   * credentials' ARN. Default `cib-` and the identity's GUID.
   */
  readonly sessionName?: string;
}

/** Per-call options shared by the user operations. */
export interface UserCallOptions {
  /** Abort the call (and the wait for a shared upstream call) when this signal fires. */
  readonly signal?: AbortSignal;
}

/** Options of {@link Broker.preflight}. */
export interface PreflightOptions {
  /**
   * Also require that the pool allows unauthenticated (guest) identities and has an unauthenticated
   * role: set it when the app serves guests (the router's `allowGuests`). Default `false`.
   */
  readonly guests?: boolean;
  /**
   * Also require that the classic flow (`getScopedCredentials`) is usable: the pool allows it
   * (`AllowClassicFlow`) and has no role mappings. Default `false` (the result says either way).
   */
  readonly classicFlow?: boolean;
  /** Abort the check when this signal fires (it rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/** What {@link Broker.preflight} returns when the pool is usable: what it found (no secrets). */
export interface PreflightResult {
  readonly identityPoolId: string;
  /** The pool's `IdentityPoolName`. */
  readonly identityPoolName: string;
  readonly region: string;
  /** The pool's developer provider name (equal to the broker's). */
  readonly developerProviderName: string;
  readonly allowUnauthenticatedIdentities: boolean;
  /** The pool's role ARNs. */
  readonly roles: { readonly authenticated: string; readonly unauthenticated?: string };
  /**
   * Whether `getScopedCredentials` can work with the pool: it allows the classic flow
   * (`AllowClassicFlow`) and has no role mappings (STS refuses the classic flow on such pools);
   * `reason` says what is missing. The roles' trust policies are not checked (no call reads them).
   */
  readonly classicFlow: { readonly usable: boolean; readonly reason?: string };
}

/** What {@link Broker.stats} returns: counters since the broker was created. */
export interface BrokerStats {
  readonly tokens: CacheStats;
  readonly credentials: CacheStats;
  /** The classic flow's scoped credentials (`getScopedCredentials`). */
  readonly scoped: CacheStats;
  /** Upstream Cognito calls, by operation name (e.g. `GetOpenIdTokenForDeveloperIdentity`). */
  readonly upstreamCalls: Readonly<Record<string, number>>;
  /** Upstream calls that failed, by operation name. */
  readonly upstreamErrors: Readonly<Record<string, number>>;
  /** Upstream calls that failed because Cognito throttled them (after the SDK's retries), by operation. */
  readonly upstreamThrottles: Readonly<Record<string, number>>;
  /**
   * Attempts the quota governor refused for want of a token (`ERR_COGNITO_THROTTLED`, never sent to
   * Cognito), by operation: first attempts and SDK retries.
   */
  readonly quotaRefused: Readonly<Record<string, number>>;
  /** Calls refused because the user spent the per-user budget (`ERR_RATE_LIMITED`), by operation. */
  readonly userBudgetRefused: Readonly<Record<string, number>>;
  /** Upstream calls currently in flight. */
  readonly inFlight: number;
  /** The fleet's shared tier, when `BrokerOptions.fleet` is given. */
  readonly fleet?: FleetStats;
}

/** The developer-authenticated identity broker. Created by `createBroker()`. */
export interface Broker {
  /** The pool this broker serves. */
  readonly identityPoolId: string;
  /** The pool's region, derived from its id. */
  readonly region: string;
  /** The `Logins` key for Cognito's own tokens in this region. */
  readonly loginsKey: string;

  /**
   * The user's identity id and an OpenID token valid for at least the skew grace.
   * Cached, single-flight, refreshed ahead of expiry.
   * @throws BrokerError
   */
  getToken(userId: string, options?: UserCallOptions): Promise<IdentityToken>;

  /**
   * Temporary AWS credentials for the user's identity. Cached until `Expiration − grace`.
   * @throws BrokerError
   */
  getCredentials(userId: string, options?: UserCallOptions): Promise<IdentityCredentials>;

  /**
   * Optional fast path for HTTP servers: the user's cached credentials, synchronously, as the UTF-8
   * JSON of a {@link CredentialsResponse}, when they are fresh (cached, before their refresh point,
   * no load running); counted as a cache hit. `undefined` whenever {@link getCredentials} would do
   * more (no entry, a refresh due, a load running, an invalid user id, failing `principalTags`):
   * the caller then takes `getCredentials()`. Never throws, never calls Cognito.
   *
   * The bytes are the broker's own (no copy): send them as they are and never write to them.
   * A broker from `createBroker()` has it; another implementation of `Broker` may leave it out.
   */
  freshCredentialsBody?(userId: string): Uint8Array | undefined;

  /** An AWS SDK v3 credential provider that acts as the user, built on the same cache. */
  credentialProvider(userId: string): AwsCredentialIdentityProvider;

  /**
   * Scoped-down credentials for the user's identity through the classic flow: the user's OpenID
   * token (the cached one while valid), then STS `AssumeRoleWithWebIdentity` with the scope's role,
   * session policy, policy ARNs and duration (15 minutes to 12 hours). Cached per user and scope
   * until `Expiration − grace`, single-flight, refreshed ahead: one STS call per (user, scope) per
   * lifetime. The pool must allow the classic flow and have no role mappings (`preflight()` says).
   * @throws BrokerError `ERR_BAD_POLICY` (400) for a policy the broker or STS refuses,
   *   `ERR_BAD_REQUEST` for other bad arguments (both before any call), `ERR_MISCONFIGURED` when STS
   *   refuses the role (its trust policy, the pool's flag), and the codes of `getCredentials`.
   */
  getScopedCredentials(
    userId: string,
    scope?: ScopedCredentialsOptions,
    options?: UserCallOptions,
  ): Promise<IdentityCredentials>;

  /**
   * {@link freshCredentialsBody} for scoped credentials: the cached body for the user and scope when
   * fresh, else `undefined` (then take {@link getScopedCredentials}). Never throws, never calls out.
   */
  freshScopedCredentialsBody?(userId: string, scope?: ScopedCredentialsOptions): Uint8Array | undefined;

  /**
   * An AWS SDK v3 credential provider of the user's scoped credentials (a worker's 12-hour job, say),
   * on the same cache. @throws BrokerError at once for a bad user id or scope.
   */
  scopedCredentialProvider(userId: string, scope?: ScopedCredentialsOptions): AwsCredentialIdentityProvider;

  /**
   * Links a public-provider login (e.g. `graph.facebook.com`) to the user's identity.
   * @throws BrokerError `ERR_CONFLICT` when the login is linked to another identity,
   *   `ERR_LIMIT_EXCEEDED` at 20 logins, `ERR_PROVIDER_TOKEN_REJECTED` for a bad provider token.
   */
  linkLogin(userId: string, provider: string, providerToken: string): Promise<IdentityDescription>;

  /** Unlinks a public-provider login from the user's identity. @throws BrokerError */
  unlinkLogin(userId: string, provider: string): Promise<IdentityDescription>;

  /** Unlinks the developer user from its identity (the identity keeps its other logins). @throws BrokerError */
  unlinkDeveloperUser(userId: string): Promise<void>;

  /**
   * Merges `sourceUserId`'s identity into `userId`'s: the source developer user moves to the
   * destination identity and the source identity is disabled. A source user that never had an
   * identity is registered first, then merged. The caller must have proven that both users are the
   * same person. @throws BrokerError
   */
  mergeUsers(userId: string, sourceUserId: string): Promise<{ identityId: string }>;

  /** The identity of a developer user, or null when the user has none yet. @throws BrokerError */
  lookupIdentity(userId: string): Promise<string | null>;

  /** The developer user ids linked to an identity, paged. @throws BrokerError */
  lookupUsers(
    identityId: string,
    options?: { maxResults?: number; nextToken?: string },
  ): Promise<{ userIds: string[]; nextToken?: string }>;

  /** The user's identity id and linked logins. @throws BrokerError */
  describeIdentity(userId: string): Promise<IdentityDescription>;

  /**
   * A new guest (unauthenticated) identity, or the given one, with credentials.
   * Requires a pool that allows unauthenticated identities. @throws BrokerError
   */
  getGuestCredentials(guestIdentityId?: string): Promise<IdentityCredentials>;

  /**
   * Upgrades a guest identity at login: links the user to the guest identity, so the user keeps
   * the guest's identity id. When the user already has an identity, the guest is left alone and the
   * user's identity is returned. One upgrade of a guest identity runs at a time in a process (the same
   * user's concurrent calls share it); after
   * the link the identity must have this user as its only developer user (another instance may have
   * linked someone else meanwhile), else the link is undone. @throws BrokerError ERR_FORBIDDEN when the
   * identity is not a guest, ERR_CONFLICT (409) when another request upgrades it concurrently
   */
  upgradeGuest(userId: string, guestIdentityId: string): Promise<IdentityToken>;

  /**
   * Drops every cache entry of the user and of the user's identities, loads in progress included,
   * so that the next request for the user goes to Cognito. For an app that must stop serving a
   * user from the cache: account deletion, a ban. Not needed at logout (the router's `logout()`
   * step leaves the cache alone): AWS credentials already issued stay valid until their
   * `Expiration` whatever the broker drops, so dropping them buys no security and costs two Cognito
   * calls at the next login. Never calls Cognito, never throws.
   */
  forgetUser(userId: string): void;

  /**
   * Checks, once, that the broker can work with its pool: the SDK resolves the AWS credentials
   * (the broker's client signs DescribeIdentityPool with them), the pool exists in its region, its
   * developer provider name is `developerProviderName`, and it has an authenticated role (with
   * `guests`, also that it allows guests and has an unauthenticated role). Two Cognito calls
   * (DescribeIdentityPool, GetIdentityPoolRoles; the credentials need
   * `cognito-identity:DescribeIdentityPool` and `cognito-identity:GetIdentityPoolRoles`), nothing
   * cached: run it at startup, and cache its outcome where a readiness probe asks often.
   *
   * @example
   * ```ts
   * try {
   *   await broker.preflight({ guests: true });
   * } catch (err) {
   *   // err.message names what is wrong, e.g. 'identity pool … has no authenticated role: …'
   *   console.error(`cannot start: ${(err as Error).message}`);
   *   process.exit(1);
   * }
   * ```
   * @throws BrokerError `ERR_MISCONFIGURED` whose message names what is wrong (no credentials,
   *   credentials refused or not allowed, no such pool, another developer provider name, no role,
   *   guests not allowed); never a secret. A transient failure keeps its own code
   *   (`ERR_COGNITO_THROTTLED`, `ERR_COGNITO_UNAVAILABLE`, `ERR_COGNITO_TIMEOUT`): retry it.
   */
  preflight(options?: PreflightOptions): Promise<PreflightResult>;

  /** Counters for tests, benchmarks and metrics. */
  stats(): BrokerStats;
}

export type { AwsCredentialIdentity, AwsCredentialIdentityProvider };
