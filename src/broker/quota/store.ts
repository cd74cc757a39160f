import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';

/** A token bucket's shape: it refills at `rate` tokens per second up to `burst` tokens; full at first. */
export interface BucketShape {
  /** Tokens per second, > 0. */
  readonly rate: number;
  /** Most tokens held, ≥ 1. */
  readonly burst: number;
}

/** One take of one token, as {@link QuotaStore.take} receives it. */
export interface QuotaTake {
  /** `operation` buckets are few and always kept; `user` buckets are many and may be forgotten when idle. */
  readonly kind: 'operation' | 'user';
  /** The bucket's key (an operation name, or a user id). */
  readonly key: string;
  readonly bucket: BucketShape;
  /**
   * Tokens the take must leave in `bucket` (the share reserved for higher priorities): granted only
   * when at least `floor + 1` tokens are there. `0` for the highest priority.
   */
  readonly floor: number;
  /**
   * A second bucket the take must also draw one token from (the most a priority may use of the
   * operation, e.g. guests' share), atomically with the first: both or neither.
   */
  readonly cap?: { readonly key: string; readonly bucket: BucketShape };
  /** The governor's time, milliseconds (monotonic). */
  readonly now: number;
}

/** What {@link QuotaStore.take} answers: granted, or how long until the same take could be. */
export type QuotaTakeResult = { readonly granted: true } | { readonly granted: false; readonly retryInMs: number };

/**
 * Where the quota governor keeps its token buckets. Every method is one atomic step on the store,
 * so a shared implementation (Redis: one script call per take) keeps the quota across a fleet; the
 * callers (the governor) never see more than this. May answer synchronously (in memory) or with a
 * Promise.
 */
export interface QuotaStore {
  /** Takes one token as `take` describes, or says when it could be taken. */
  take(take: QuotaTake): QuotaTakeResult | Promise<QuotaTakeResult>;
  /** Puts back a token taken from a `user` bucket whose call did not happen (refused by an operation bucket). */
  refund(kind: 'operation' | 'user', key: string, bucket: BucketShape, now: number): void | Promise<void>;
  /**
   * How many processes' governors draw from these buckets (a fleet's live instances), each serving
   * its own wait queue: the governor then expects its queue to be served at that fraction of a
   * bucket's rate (its waits, and the Retry-After it answers). Default 1.
   */
  readonly sharedBy?: number;
}

/** A bucket's level at a time, and when it is full again (a full bucket is as good as none). */
interface Level {
  tokens: number;
  at: number;
  fullAt: number;
}

/** How often user buckets that have refilled are forgotten, ms. */
const SWEEP_MS = 5000;

const GRANTED: QuotaTakeResult = Object.freeze({ granted: true });

/** Options of {@link InMemoryQuotaStore}. */
export interface InMemoryQuotaStoreOptions {
  /** Most user buckets kept (least recently used forgotten, which refills them). Default `100_000`. */
  readonly maxUsers?: number;
  /** The governor's time, ms: when refilled user buckets are forgotten. Default `performance.now()`. */
  readonly now?: () => number;
}

/**
 * The governor's buckets in this process: a Map of operation buckets and a bounded LRU of user
 * buckets. A take is a few arithmetic operations, synchronous. User buckets that have refilled are
 * forgotten every few seconds (a full bucket and no bucket are the same), so the store holds only
 * the users active in the last minute or so: after a start that loads every user, a bucket for each
 * would otherwise stay on the heap and slow every minor GC (bench: resident cache).
 */
export class InMemoryQuotaStore implements QuotaStore {
  readonly #operations = new Map<string, Level>();
  readonly #users: LRUCache<string, Level>;
  readonly #now: () => number;
  #sweep: ReturnType<typeof setTimeout> | undefined;

  constructor(options: InMemoryQuotaStoreOptions = {}) {
    this.#users = new LRUCache<string, Level>({ max: options.maxUsers ?? 100_000 });
    this.#now = options.now ?? (() => performance.now());
  }

  /** User buckets held (for tests). */
  get userBuckets(): number {
    return this.#users.size;
  }

  /** Forgets the user buckets that are full by now. */
  sweep(): void {
    const now = this.#now();
    for (const [key, level] of this.#users.entries()) {
      if (now >= level.fullAt) this.#users.delete(key);
    }
  }

  /**
   * Sweeps in a while, while user buckets are held. The timer holds the store weakly and never
   * keeps the process alive: a dropped broker's store is collected, its timer then does nothing.
   */
  #scheduleSweep(): void {
    if (this.#sweep !== undefined) return;
    const ref = new WeakRef(this);
    this.#sweep = setTimeout(() => {
      const store = ref.deref();
      if (store !== undefined) store.#sweepAndReschedule();
    }, SWEEP_MS);
    this.#sweep.unref();
  }

  #sweepAndReschedule(): void {
    this.#sweep = undefined;
    this.sweep();
    if (this.#users.size > 0) this.#scheduleSweep();
  }

  take(take: QuotaTake): QuotaTakeResult {
    const { now } = take;
    const main = this.#level(take.kind, take.key, take.bucket, now);
    const needed = take.floor + 1;
    let waitMs = main.tokens >= needed ? 0 : ((needed - main.tokens) / take.bucket.rate) * 1000;
    let cap: Level | undefined;
    if (take.cap !== undefined) {
      cap = this.#level('operation', take.cap.key, take.cap.bucket, now);
      if (cap.tokens < 1) waitMs = Math.max(waitMs, ((1 - cap.tokens) / take.cap.bucket.rate) * 1000);
    }
    if (waitMs > 0) return { granted: false, retryInMs: Math.max(1, Math.ceil(waitMs)) };
    main.tokens -= 1;
    main.fullAt = fullAt(main, take.bucket);
    if (cap !== undefined) {
      cap.tokens -= 1;
      cap.fullAt = fullAt(cap, take.cap?.bucket ?? take.bucket);
    }
    if (take.kind === 'user') this.#scheduleSweep();
    return GRANTED;
  }

  refund(kind: 'operation' | 'user', key: string, bucket: BucketShape, now: number): void {
    const level = this.#level(kind, key, bucket, now);
    level.tokens = Math.min(bucket.burst, level.tokens + 1);
    level.fullAt = fullAt(level, bucket);
  }

  /** The bucket's level refilled up to `now` (a new bucket is full). */
  #level(kind: 'operation' | 'user', key: string, bucket: BucketShape, now: number): Level {
    const map = kind === 'operation' ? this.#operations : this.#users;
    let level = map.get(key);
    if (level === undefined) {
      level = { tokens: bucket.burst, at: now, fullAt: now };
      map.set(key, level);
      return level;
    }
    // A clock that went back refills nothing (and restarts the reference point).
    const elapsed = Math.max(0, now - level.at);
    level.tokens = Math.min(bucket.burst, level.tokens + (elapsed / 1000) * bucket.rate);
    level.at = now;
    return level;
  }
}

/** When `level` is full again at `bucket`'s rate. */
function fullAt(level: Level, bucket: BucketShape): number {
  return level.at + ((bucket.burst - level.tokens) / bucket.rate) * 1000;
}
