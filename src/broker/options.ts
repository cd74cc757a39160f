import type { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { Logger } from 'pino';
import {
  resolveClassicFlowOptions,
  type ClassicFlowOptions,
  type ResolvedClassicFlowOptions,
  type StsSendClient,
} from './classic-flow-options.js';
import { systemClock, type Clock } from './clock.js';
import { FLEET_BIND, type BrokerFleet } from './fleet.js';
import { resolveQuotaOptions, type QuotaOptions, type ResolvedQuotaOptions } from './quota/options.js';

/** The part of a `CognitoIdentityClient` the broker uses: `send(command, { abortSignal })`. */
export type CognitoSendClient = Pick<CognitoIdentityClient, 'send'>;

/** Principal tags for a user's token: tag key → value (Cognito allows up to 50). */
export type PrincipalTags = Readonly<Record<string, string>>;

/** Bounds of the broker's in-process caches. */
export interface BrokerCacheOptions {
  /**
   * The most entries each cache holds (the token cache and the credentials cache each hold up to
   * `max`); the least recently used entry is evicted beyond it. Integer ≥ 1. Default `10_000`.
   */
  readonly max?: number;
}

/** Options of `createBroker()`. Validated once, at construction; a bad value is a `TypeError`. */
export interface BrokerOptions {
  /**
   * The identity pool, `REGION:GUID` (e.g. `us-east-1:0f0e…`). The region is derived from it.
   * Required.
   */
  readonly identityPoolId: string;
  /**
   * The pool's developer provider name (`DeveloperProviderName`, e.g. `login.example.app`): the key
   * of the app's user ids in `Logins`. 1–128 characters of `[\w._-]`. Required.
   */
  readonly developerProviderName: string;
  /**
   * Lifetime asked for each OpenID token (`TokenDuration`), seconds. Integer in [1, 86400], and more
   * than twice `skewGraceSeconds`. Default `900` (Cognito's default).
   */
  readonly tokenDurationSeconds?: number;
  /**
   * Clock-skew grace, seconds: a token is served only while `now < exp − grace` and credentials only
   * while `now < Expiration − grace`, so a local clock off from Cognito's by up to this much never
   * hands out anything Cognito or AWS would reject as expired. Beyond that, two extra bounds keep a
   * slow local clock safe: a token also stops at `send time + (exp − iat) − grace`, and credentials
   * stop earlier by the offset measured from the latest token's `iat` when Cognito's clock is ahead.
   * An offset larger than the grace is logged once as a warning. Integer ≥ 0 and less than half of
   * `tokenDurationSeconds`. Default `300` (the service's advice).
   */
  readonly skewGraceSeconds?: number;
  /**
   * How long before an entry stops being served (`exp − grace`) it is refreshed in the background,
   * seconds. While the refresh runs, callers keep getting the still-valid entry without waiting.
   * The refresh never starts before half of the entry's servable life has passed, so short-lived
   * tokens are not refreshed on every request. `0` turns refresh-ahead off (callers then wait for a
   * new token once the old one stops being served). Integer ≥ 0. Default `60`.
   */
  readonly refreshAheadSeconds?: number;
  /** Cache bounds. Default `{ max: 10_000 }`. */
  readonly cache?: BrokerCacheOptions;
  /**
   * The Cognito Identity client. Default: a `CognitoIdentityClient` for the pool's region with
   * `retryMode: 'standard'` and `maxAttempts`, built on the first upstream call (never at
   * construction) and never touching global SDK configuration.
   */
  readonly client?: CognitoSendClient;
  /**
   * Attempts per upstream call (the first try and retries) of the **default** client. Integer in
   * [1, 10]. Default `3`. Giving it together with `client` is a `TypeError`: configure your own
   * client's retries instead.
   */
  readonly maxAttempts?: number;
  /**
   * Time limit for one upstream call, retries included, milliseconds. The SDK call is aborted through
   * its `abortSignal` and the caller gets `ERR_COGNITO_TIMEOUT`. Integer in [1, 600000].
   * Default `5000`.
   */
  readonly timeoutMs?: number;
  /** The clock for every expiry decision, epoch milliseconds. Default: `Date.now()`. */
  readonly clock?: Clock;
  /**
   * A pino logger. The broker logs through `logger.child({ component: 'cognito-broker' })` and never
   * writes a token, secret, provider token or `Logins` map. Default: a silent pino logger.
   */
  readonly logger?: Logger;
  /**
   * The OpenTelemetry MeterProvider the broker's metrics go to (names in the README). Default: the
   * global one of `@opentelemetry/api`, read at the broker's first Cognito call, so an app that starts
   * the OpenTelemetry SDK before serving needs nothing here. No-op until a provider is registered.
   */
  readonly meterProvider?: MeterProvider;
  /**
   * The OpenTelemetry TracerProvider for the broker's spans (one per Cognito call, child of the active
   * span). Default: the global one of `@opentelemetry/api`. No-op until a provider is registered.
   */
  readonly tracerProvider?: TracerProvider;
  /**
   * Principal tags to put in a user's token (`PrincipalTags`), or `undefined` for none. Called on
   * every token and credentials request; tokens and credentials for different tags are cached apart
   * (credentials are loaded with a token carrying the same tags). Default: no tags.
   *
   * Must be synchronous: a returned Promise (an `async` function) is refused with `BrokerError`
   * `ERR_MISCONFIGURED` (500, logged at error level) on every call that needs the tags, rather than
   * silently dropping them. Resolve tags ahead of time (for example at login) if they need I/O.
   */
  readonly principalTags?: (userId: string) => PrincipalTags | undefined;
  /**
   * The IAM role for authenticated credentials (`CustomRoleArn`), when the pool's role mapping allows
   * choosing one. Default: the pool's role.
   */
  readonly customRoleArn?: string;
  /**
   * The key of Cognito's own tokens in a `Logins` map. Default `cognito-identity.amazonaws.com`, and
   * `cognito-identity.cn-north-1.amazonaws.com.cn` for pools in `cn-*` regions.
   */
  readonly loginsKey?: string;
  /**
   * The quota governor: a token bucket per Cognito operation at the account's documented quotas
   * (GetOpenIdTokenForDeveloperIdentity 50 rps, GetCredentialsForIdentity 200, GetId 25…), priorities
   * inside them and a per-user budget; see {@link QuotaOptions}. `false` turns it off (the broker then
   * sends whatever the load asks and learns the quota from Cognito's throttling). Default: on, with
   * the defaults of `QuotaOptions`.
   *
   * The quota is per AWS account and region: with several instances of the app, give each its share
   * (`operations: { GetOpenIdTokenForDeveloperIdentity: 50 / instances }`) or a shared `store`.
   */
  readonly quota?: QuotaOptions | false;
  /**
   * The shared tier of a fleet of instances (`redisFleet()` of `cognito-identity-broker/fleet`):
   * entries loaded by one instance are served by all, one load per entry fleet-wide, changes
   * reach every instance, and the quota buckets (unless `quota.store` is given) and per-user
   * budgets are shared. Default: none (everything per process).
   */
  readonly fleet?: BrokerFleet;
  /**
   * Defaults of the classic flow (`getScopedCredentials`): the role and the duration. Default: the
   * pool's authenticated role, 3600 s.
   */
  readonly classicFlow?: ClassicFlowOptions;
  /**
   * The STS client of the classic flow. Default: an `STSClient` for the pool's region with
   * `retryMode: 'standard'` and `maxAttempts` (its endpoint from `AWS_ENDPOINT_URL_STS` when set),
   * built on the first scoped call. Its own credentials are never used: AssumeRoleWithWebIdentity
   * is authorised by the user's OpenID token.
   */
  readonly stsClient?: StsSendClient;
}

/** {@link BrokerOptions} after validation, with every default filled in. Frozen. */
export interface ResolvedBrokerOptions {
  readonly identityPoolId: string;
  /** The region part of `identityPoolId`. */
  readonly region: string;
  readonly developerProviderName: string;
  readonly tokenDurationSeconds: number;
  readonly skewGraceSeconds: number;
  readonly refreshAheadSeconds: number;
  readonly cacheMax: number;
  /** `undefined` means "build the default client on first use". */
  readonly client: CognitoSendClient | undefined;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly meterProvider: MeterProvider | undefined;
  readonly tracerProvider: TracerProvider | undefined;
  readonly principalTags: ((userId: string) => PrincipalTags | undefined) | undefined;
  readonly customRoleArn: string | undefined;
  readonly loginsKey: string;
  /** `undefined` when the quota is not governed. */
  readonly quota: ResolvedQuotaOptions | undefined;
  /** The quota store was given by the app (not replaced by the fleet's). */
  readonly quotaStoreGiven: boolean;
  readonly fleet: BrokerFleet | undefined;
  readonly classicFlow: ResolvedClassicFlowOptions;
  /** `undefined` means "build the default STS client on first use". */
  readonly stsClient: StsSendClient | undefined;
}

/** Cognito's logins key for its own tokens, by region. */
export function defaultLoginsKey(region: string): string {
  return region.startsWith('cn-') ? 'cognito-identity.cn-north-1.amazonaws.com.cn' : 'cognito-identity.amazonaws.com';
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'identityPoolId',
  'developerProviderName',
  'tokenDurationSeconds',
  'skewGraceSeconds',
  'refreshAheadSeconds',
  'cache',
  'client',
  'maxAttempts',
  'timeoutMs',
  'clock',
  'logger',
  'meterProvider',
  'tracerProvider',
  'principalTags',
  'customRoleArn',
  'loginsKey',
  'quota',
  'fleet',
  'classicFlow',
  'stsClient',
]);

// Bounded input (≤ 55 characters, checked first), so the nested quantifier cannot backtrack badly.
// eslint-disable-next-line security/detect-unsafe-regex
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const POOL_GUID = /^[0-9a-f-]{1,50}$/;
const DEVELOPER_PROVIDER = /^[\w.-]{1,128}$/;
const LOGINS_KEY = /^[\w./:-]{1,128}$/;

function fail(message: string): never {
  throw new TypeError(`createBroker: ${message}`);
}

function integerOption(value: unknown, name: string, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    fail(`${name} must be an integer ${range}`);
  }
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/**
 * Validates {@link BrokerOptions} once and fills in the defaults.
 * @throws TypeError naming the first bad option (also for unknown option names, to catch typos).
 */
export function resolveBrokerOptions(options: BrokerOptions): ResolvedBrokerOptions {
  if (!isObject(options)) fail('options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) fail(`unknown option ${JSON.stringify(key)}`);
  }

  const poolId: unknown = options.identityPoolId;
  if (typeof poolId !== 'string' || poolId.length > 55) {
    fail('identityPoolId must be a string REGION:GUID (e.g. us-east-1:1a2b3c4d-…)');
  }
  const [region = '', guid = '', ...rest] = poolId.split(':');
  if (rest.length > 0 || !REGION.test(region) || !POOL_GUID.test(guid)) {
    fail('identityPoolId must be REGION:GUID (e.g. us-east-1:1a2b3c4d-…)');
  }

  const provider: unknown = options.developerProviderName;
  if (typeof provider !== 'string' || !DEVELOPER_PROVIDER.test(provider)) {
    fail('developerProviderName must be 1–128 characters of letters, digits, "_", "." or "-"');
  }

  const tokenDurationSeconds = integerOption(options.tokenDurationSeconds, 'tokenDurationSeconds', 900, 1, 86_400);
  const skewGraceSeconds = integerOption(options.skewGraceSeconds, 'skewGraceSeconds', 300, 0, 86_400);
  if (skewGraceSeconds * 2 >= tokenDurationSeconds) {
    fail(
      `skewGraceSeconds (${skewGraceSeconds}) must be less than half of tokenDurationSeconds ` +
        `(${tokenDurationSeconds}); lower the grace or ask for longer tokens`,
    );
  }
  const refreshAheadSeconds = integerOption(
    options.refreshAheadSeconds,
    'refreshAheadSeconds',
    60,
    0,
    Number.MAX_SAFE_INTEGER,
  );

  const cache: unknown = options.cache;
  if (cache !== undefined && !isObject(cache)) fail('cache must be an object like { max: 10000 }');
  const cacheMax = integerOption(cache?.max, 'cache.max', 10_000, 1, 100_000_000);

  const client: unknown = options.client;
  if (client !== undefined && (!isObject(client) || typeof client.send !== 'function')) {
    fail('client must have a send(command, options) method (a CognitoIdentityClient)');
  }
  if (client !== undefined && options.maxAttempts !== undefined) {
    fail('maxAttempts applies only to the default client; configure retries on your own client');
  }
  const maxAttempts = integerOption(options.maxAttempts, 'maxAttempts', 3, 1, 10);
  const timeoutMs = integerOption(options.timeoutMs, 'timeoutMs', 5000, 1, 600_000);

  const clock: unknown = options.clock ?? systemClock;
  if (!isObject(clock) || typeof clock.now !== 'function') fail('clock must have a now() method');

  const logger: unknown = options.logger;
  if (logger !== undefined && (!isObject(logger) || typeof logger.child !== 'function')) {
    fail('logger must be a pino logger');
  }

  const meterProvider: unknown = options.meterProvider;
  if (meterProvider !== undefined && (!isObject(meterProvider) || typeof meterProvider.getMeter !== 'function')) {
    fail('meterProvider must be an OpenTelemetry MeterProvider (with getMeter())');
  }
  const tracerProvider: unknown = options.tracerProvider;
  if (tracerProvider !== undefined && (!isObject(tracerProvider) || typeof tracerProvider.getTracer !== 'function')) {
    fail('tracerProvider must be an OpenTelemetry TracerProvider (with getTracer())');
  }

  const principalTags: unknown = options.principalTags;
  if (principalTags !== undefined && typeof principalTags !== 'function') {
    fail('principalTags must be a function (userId) => Record<string, string> | undefined');
  }

  const customRoleArn: unknown = options.customRoleArn;
  if (
    customRoleArn !== undefined &&
    (typeof customRoleArn !== 'string' ||
      customRoleArn.length < 20 ||
      customRoleArn.length > 2048 ||
      !customRoleArn.startsWith('arn:'))
  ) {
    fail('customRoleArn must be an IAM role ARN (arn:aws:iam::123456789012:role/…)');
  }

  const loginsKey: unknown = options.loginsKey ?? defaultLoginsKey(region);
  if (typeof loginsKey !== 'string' || !LOGINS_KEY.test(loginsKey)) {
    fail('loginsKey must be a provider name like cognito-identity.amazonaws.com');
  }
  if (loginsKey === provider) fail('loginsKey must differ from developerProviderName');

  const quota = resolveQuotaOptions(options.quota, cacheMax);
  const fleet: unknown = options.fleet;
  if (fleet !== undefined && (!isObject(fleet) || typeof (fleet as Partial<BrokerFleet>)[FLEET_BIND] !== 'function')) {
    fail('fleet must come from redisFleet() of cognito-identity-broker/fleet');
  }

  const classicFlow = resolveClassicFlowOptions(options.classicFlow, options.stsClient, skewGraceSeconds);

  return Object.freeze({
    identityPoolId: poolId,
    region,
    developerProviderName: provider,
    tokenDurationSeconds,
    skewGraceSeconds,
    refreshAheadSeconds,
    cacheMax,
    client: options.client,
    maxAttempts,
    timeoutMs,
    clock: options.clock ?? systemClock,
    logger: options.logger,
    meterProvider: options.meterProvider,
    tracerProvider: options.tracerProvider,
    principalTags: options.principalTags,
    customRoleArn: options.customRoleArn,
    loginsKey,
    quota,
    quotaStoreGiven: isObject(options.quota) && options.quota.store !== undefined,
    fleet: options.fleet,
    classicFlow,
    stsClient: options.stsClient,
  });
}
