import type { BucketShape, QuotaStore, QuotaTake, QuotaTakeResult } from '../broker/quota/store.js';
import { REFUND, TAKE } from './quota-scripts.js';
import type { RedisRunner } from './runner.js';

/**
 * How much longer than its refill time a bucket is kept in Redis, ms: an idle bucket then vanishes
 * (a vanished bucket is full, as a new one) only once it would have refilled anyway.
 */
export const QUOTA_EXPIRY_MARGIN_MS = 1000;

/** Options of {@link RedisQuotaStore}. */
export interface RedisQuotaStoreOptions {
  /** Runs the scripts; decides whether Redis is usable. */
  readonly runner: RedisRunner;
  /**
   * The buckets' keys (the tier's `FleetKeys`): an operation's bucket and its caps share a slot;
   * a user's bucket is in the user's slot, named by a keyed name (Redis never sees the id).
   */
  readonly keys: { operationBucket(key: string): string; userBucket(userId: string): string };
}

const GRANTED: QuotaTakeResult = Object.freeze({ granted: true });

/**
 * The quota governor's buckets in Redis, shared by every instance of a fleet so that the account
 * quota holds fleet-wide: the same token bucket as {@link InMemoryQuotaStore} (floor, a cap bucket
 * drawn with the main one, both or neither), each take or refund one script call, timed by Redis's
 * clock rather than the caller's `now` (each process's own monotonic clock). User buckets are keyed
 * by a keyed name of the user id (an HMAC), never the id itself. Errors (`RedisUnavailable` from the runner)
 * propagate: the caller decides what to do without Redis.
 *
 * @example
 * const runner = new RedisRunner({ client, commandTimeoutMs: 200, retryMs: 5000, log });
 * const store = new RedisQuotaStore({ runner, keys: new FleetKeys('cib', 'ns', nameKey) });
 */
export class RedisQuotaStore implements QuotaStore {
  readonly #runner: RedisRunner;
  readonly #keys: RedisQuotaStoreOptions['keys'];

  /** @throws TypeError naming `runner` or `keys` when one is not usable. */
  constructor(options: RedisQuotaStoreOptions) {
    const o = options as Partial<RedisQuotaStoreOptions> | undefined;
    if (typeof o?.runner?.run !== 'function') throw new TypeError('RedisQuotaStore: `runner` must be a RedisRunner');
    if (typeof o.keys?.operationBucket !== 'function' || typeof o.keys.userBucket !== 'function')
      throw new TypeError('RedisQuotaStore: `keys` must name the buckets (FleetKeys)');
    this.#runner = o.runner;
    this.#keys = o.keys;
  }

  /**
   * Takes one token as `take` describes (its `now` unused: Redis's clock times the buckets).
   * @throws RedisUnavailable when Redis is not usable; TypeError for a bucket that is not one.
   */
  async take(take: QuotaTake): Promise<QuotaTakeResult> {
    checkShape(take.bucket, 'bucket');
    if (!Number.isFinite(take.floor) || take.floor < 0) throw new TypeError('RedisQuotaStore: `floor` must be ≥ 0');
    const keys = [this.#key(take.kind, take.key)];
    const args = [
      String(QUOTA_EXPIRY_MARGIN_MS),
      String(take.bucket.rate),
      String(take.bucket.burst),
      String(take.floor),
    ];
    if (take.cap !== undefined) {
      checkShape(take.cap.bucket, 'cap.bucket');
      // A cap is drawn in the same script as its bucket: both in the operation's slot.
      if (take.kind !== 'operation') throw new TypeError('RedisQuotaStore: only an operation bucket has a cap');
      keys.push(this.#key('operation', take.cap.key));
      args.push(String(take.cap.bucket.rate), String(take.cap.bucket.burst));
    }
    const reply = await this.#runner.run(TAKE, keys, args);
    if (reply === 0) return GRANTED;
    if (typeof reply === 'number' && Number.isSafeInteger(reply) && reply >= 1)
      return { granted: false, retryInMs: reply };
    throw new Error('RedisQuotaStore: unexpected reply from the take script');
  }

  /**
   * Puts back one token, up to the burst (its `now` unused, as in {@link take}).
   * @throws RedisUnavailable when Redis is not usable.
   */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the interface's time is this process's clock; Redis's times the bucket
  async refund(kind: 'operation' | 'user', key: string, bucket: BucketShape, _now: number): Promise<void> {
    checkShape(bucket, 'bucket');
    await this.#runner.run(
      REFUND,
      [this.#key(kind, key)],
      [String(QUOTA_EXPIRY_MARGIN_MS), String(bucket.rate), String(bucket.burst)],
    );
  }

  #key(kind: 'operation' | 'user', key: string): string {
    // User ids are personal data: Redis sees only their keyed name.
    return kind === 'operation' ? this.#keys.operationBucket(key) : this.#keys.userBucket(key);
  }
}

/** A shape the script can compute with (Lua's tonumber reads what String() writes for finite numbers). */
function checkShape(bucket: BucketShape, name: string): void {
  if (!Number.isFinite(bucket.rate) || bucket.rate <= 0)
    throw new TypeError(`RedisQuotaStore: \`${name}.rate\` must be > 0`);
  if (!Number.isFinite(bucket.burst) || bucket.burst < 1)
    throw new TypeError(`RedisQuotaStore: \`${name}.burst\` must be ≥ 1`);
}
