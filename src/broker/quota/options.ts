import { performance } from 'node:perf_hooks';
import { InMemoryQuotaStore, type BucketShape, type QuotaStore } from './store.js';

/**
 * The account's rate quota of each Cognito operation, requests per second (per AWS account and
 * region, shared by every pool and every instance of the app), as Amazon documents them. The
 * developer control-plane operations (LookupDeveloperIdentity, MergeDeveloperIdentities,
 * UnlinkDeveloperIdentity) and DescribeIdentity/UnlinkIdentity have no published figure (Amazon
 * says the lookup family is meant for low volume): 10 is this package's choice, not Amazon's.
 * STS's AssumeRoleWithWebIdentity (the classic flow) has STS's own account quota, 600 rps by default:
 * give `quota.operations.AssumeRoleWithWebIdentity` if AWS raised it or several instances share it.
 */
export const DOCUMENTED_QUOTAS: Readonly<Record<string, number>> = Object.freeze({
  GetOpenIdTokenForDeveloperIdentity: 50,
  GetCredentialsForIdentity: 200,
  GetOpenIdToken: 200,
  GetId: 25,
  ListIdentities: 5,
  DeleteIdentities: 10,
  LookupDeveloperIdentity: 10,
  MergeDeveloperIdentities: 10,
  UnlinkDeveloperIdentity: 10,
  DescribeIdentity: 10,
  UnlinkIdentity: 10,
  // STS (the classic flow's `getScopedCredentials`): its own per-account quota, 600 requests per
  // second per region by default for its request-quota group (AssumeRoleWithWebIdentity among them).
  AssumeRoleWithWebIdentity: 600,
});

/**
 * One operation's bucket: a quota in requests per second (the bucket's rate and burst are derived
 * from it so that no one-second window ever holds more than the quota, see {@link bucketForQuota}),
 * or an explicit `{ rate, burst }`, or `false` for no governing of that operation.
 */
export type QuotaBucketOption = number | { readonly rate: number; readonly burst: number } | false;

/** The per-user budget: Cognito calls one user's requests may cause in any 60 seconds. */
export interface QuotaPerUserOptions {
  /** Integer in [2, 10000]. Default `30`. */
  readonly callsPerMinute?: number;
}

/**
 * Options of the quota governor (`BrokerOptions.quota`). Every Cognito attempt takes a token from
 * its operation's bucket (the SDK's retries too, with the default client); a call that gets none
 * within `maxWaitMs` fails fast with `ERR_COGNITO_THROTTLED` (503) and a `retryAfterSeconds`
 * computed from the bucket. Waiting calls are served by priority: refreshes of still-valid entries,
 * then account operations (link, unlink, merge; linking at most `accountShare` of the token
 * bucket), then first loads, then guests (at most `guestShare` of the credentials bucket). In
 * buckets with a burst of 4 or more, first loads and guests also leave a quarter of it to the
 * higher priorities, so that (with a shared store, across instances) a burst of first loads never
 * takes the last token a refresh needs. A refusal's `retryAfterSeconds` is the earliest time a retry
 * can be served (the wait for a token less `maxWaitMs`, at least 1).
 *
 * @example
 * ```ts
 * createBroker({
 *   identityPoolId, developerProviderName,
 *   // AWS raised this account's token quota to 100 rps; this app runs on 2 instances.
 *   quota: { operations: { GetOpenIdTokenForDeveloperIdentity: 50 }, perUser: { callsPerMinute: 30 } },
 * });
 * ```
 */
export interface QuotaOptions {
  /**
   * Buckets by operation name, over {@link DOCUMENTED_QUOTAS}: a number (requests per second of
   * your account's quota, if AWS raised it), `{ rate, burst }`, or `false` to leave the operation
   * ungoverned. Operations without a bucket are not governed.
   */
  readonly operations?: Readonly<Record<string, QuotaBucketOption>>;
  /**
   * Longest wait for a token, ms, before failing fast with `ERR_COGNITO_THROTTLED`; never longer
   * than what is left of the call's `timeoutMs`. Integer in [0, 60000]. Default `1000`.
   */
  readonly maxWaitMs?: number;
  /**
   * Most of GetOpenIdTokenForDeveloperIdentity's rate that account operations (linking) may use:
   * the bucket they share with every first load. In (0, 1]. Default `0.2`.
   */
  readonly accountShare?: number;
  /**
   * Most of GetCredentialsForIdentity's rate that guests (anonymous identities) may use: the bucket
   * they share with logged-in users (GetId is theirs alone). In (0, 1]. Default `0.25`.
   */
  readonly guestShare?: number;
  /**
   * Cognito calls one user may cause in any minute (first loads, account operations; background
   * refreshes and the SDK's retries are not counted), two thirds of them at once (at least one is left
   * to the refill: 2 a minute is 1 at once); past it, `ERR_RATE_LIMITED` (429) with
   * `retryAfterSeconds`. `false` turns it off. Default `{ callsPerMinute: 30 }` (20 of them at once).
   */
  readonly perUser?: QuotaPerUserOptions | false;
  /** Where the buckets live. Default: in this process ({@link InMemoryQuotaStore}). */
  readonly store?: QuotaStore;
  /**
   * The governor's time source, milliseconds, monotonic. Default `performance.now()`: the quota is
   * in real seconds whatever the broker's `clock` says.
   */
  readonly now?: () => number;
}

/** {@link QuotaOptions} after validation. */
export interface ResolvedQuotaOptions {
  readonly buckets: ReadonlyMap<string, BucketShape>;
  readonly maxWaitMs: number;
  readonly accountShare: number;
  readonly guestShare: number;
  /** The per-user bucket, or `undefined` when off. */
  readonly perUser: BucketShape | undefined;
  readonly store: QuotaStore;
  readonly now: () => number;
}

/** Share of a quota kept as burst: small, so that burst + rate stays under the quota. */
const BURST_SHARE = 0.04;
/** The rate stays this much under quota − burst, for the jitter between our send and Cognito's arrival. */
const RATE_MARGIN = 0.98;

/**
 * The bucket for a quota of `q` requests per second. A token bucket lets `burst + rate` through in
 * one second, and Cognito (like the emulator's `throttleRps`) counts a sliding one-second window:
 * so `burst = max(1, round(0.04 q))` and `rate = 0.98 (q − burst)`, which keeps every window under
 * `q` with room for a few ms of network jitter (50 rps: burst 2, rate 47.04/s).
 */
export function bucketForQuota(q: number): BucketShape {
  const burst = Math.max(1, Math.round(q * BURST_SHARE));
  return Object.freeze({ rate: (q - burst) * RATE_MARGIN, burst });
}

function fail(message: string): never {
  throw new TypeError(`createBroker: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function share(value: unknown, name: string, def: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    fail(`${name} must be a number in (0, 1]`);
  }
  return value;
}

function bucketOption(name: string, value: unknown): BucketShape | undefined {
  if (value === false) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 2 || value > 1_000_000) {
      fail(`${name} must be a quota in requests per second in [2, 1000000], { rate, burst } or false`);
    }
    return bucketForQuota(value);
  }
  if (isObject(value)) {
    for (const key of Object.keys(value)) {
      if (key !== 'rate' && key !== 'burst') fail(`${name} has an unknown field ${JSON.stringify(key)}`);
    }
    const { rate, burst } = value;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > 1_000_000) {
      fail(`${name}.rate must be a number of tokens per second in (0, 1000000]`);
    }
    if (typeof burst !== 'number' || !Number.isFinite(burst) || burst < 1 || burst > 1_000_000) {
      fail(`${name}.burst must be a number of tokens in [1, 1000000]`);
    }
    return Object.freeze({ rate, burst });
  }
  return fail(`${name} must be a quota in requests per second, { rate, burst } or false`);
}

const KNOWN = new Set(['operations', 'maxWaitMs', 'accountShare', 'guestShare', 'perUser', 'store', 'now']);
const OPERATION_NAME = /^[A-Z][A-Za-z]{1,63}$/;

/**
 * Validates `BrokerOptions.quota`; `undefined` means the defaults, `false` no governor.
 * @throws TypeError naming the bad option (`quota.operations.GetId`, `quota.maxWaitMs`…).
 */
export function resolveQuotaOptions(value: unknown, maxUsers: number): ResolvedQuotaOptions | undefined {
  if (value === false) return undefined;
  if (value !== undefined && !isObject(value)) fail('quota must be an object or false');
  const o: Record<string, unknown> = value ?? {};
  for (const key of Object.keys(o)) if (!KNOWN.has(key)) fail(`quota has an unknown option ${JSON.stringify(key)}`);

  const operations: unknown = o.operations;
  if (operations !== undefined && !isObject(operations)) fail('quota.operations must be an object');
  const buckets = new Map<string, BucketShape>();
  for (const [op, q] of Object.entries(DOCUMENTED_QUOTAS)) buckets.set(op, bucketForQuota(q));
  for (const [op, option] of Object.entries(operations ?? {})) {
    if (!OPERATION_NAME.test(op))
      fail(`quota.operations has a key that is not an operation name: ${JSON.stringify(op)}`);
    const shape = bucketOption(`quota.operations.${op}`, option);
    if (shape === undefined) buckets.delete(op);
    else buckets.set(op, shape);
  }

  const maxWaitMs = o.maxWaitMs ?? 1000;
  if (typeof maxWaitMs !== 'number' || !Number.isInteger(maxWaitMs) || maxWaitMs < 0 || maxWaitMs > 60_000) {
    fail('quota.maxWaitMs must be an integer in [0, 60000]');
  }

  const perUserOption: unknown = o.perUser;
  let perUser: BucketShape | undefined;
  if (perUserOption !== false) {
    if (perUserOption !== undefined && !isObject(perUserOption)) {
      fail('quota.perUser must be { callsPerMinute } or false');
    }
    for (const key of Object.keys(perUserOption ?? {})) {
      if (key !== 'callsPerMinute') fail(`quota.perUser has an unknown field ${JSON.stringify(key)}`);
    }
    const n = perUserOption?.callsPerMinute ?? 30;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > 10_000) {
      fail('quota.perUser.callsPerMinute must be an integer in [2, 10000]');
    }
    // Any 60 s window holds at most burst + 60 × rate = n calls. Two thirds of them at once: a login
    // with a guest upgrade that Cognito throttles twice, then the page's first requests, is ~12 calls.
    // At least one is left to the refill (n = 2 would otherwise never refill: a Retry-After of never).
    const burst = Math.min(Math.ceil((2 * n) / 3), n - 1);
    perUser = Object.freeze({ burst, rate: (n - burst) / 60 });
  }

  const store: unknown = o.store;
  if (
    store !== undefined &&
    (!isObject(store) || typeof store.take !== 'function' || typeof store.refund !== 'function')
  ) {
    fail('quota.store must have take() and refund() methods (a QuotaStore)');
  }
  const now: unknown = o.now;
  if (now !== undefined && typeof now !== 'function') fail('quota.now must be a function returning milliseconds');

  const clock = (now as (() => number) | undefined) ?? (() => performance.now());
  return Object.freeze({
    buckets,
    maxWaitMs,
    accountShare: share(o.accountShare, 'quota.accountShare', 0.2),
    guestShare: share(o.guestShare, 'quota.guestShare', 0.25),
    perUser,
    store: (store as QuotaStore | undefined) ?? new InMemoryQuotaStore({ maxUsers, now: clock }),
    now: clock,
  });
}
