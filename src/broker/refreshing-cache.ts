import { LRUCache } from 'lru-cache';
import { BrokerError, isBrokerError } from '../errors.js';
import { abortable, abortReason } from './abort.js';
import type { Clock } from './clock.js';
import type { LoadTrace, Telemetry } from './telemetry.js';
import type { CacheEntryTimes, CacheStats } from './seam-types.js';

export type { CacheEntryTimes } from './seam-types.js';

/**
 * Loads a fresh value for `key`. `signal` aborts when the entry is dropped or evicted while loading,
 * `stale` is the entry being refreshed, if any. Must return a value with `validUntil > clock.now()`.
 */
export type CacheLoader<V, C> = (key: string, context: C, signal: AbortSignal, stale: V | undefined) => Promise<V>;

/** Options of {@link RefreshingCache}. */
export interface RefreshingCacheOptions<V, C> {
  /** Most entries held; least recently used beyond it are evicted. */
  readonly max: number;
  /** The broker's clock, also given to lru-cache as `perf`. */
  readonly clock: Clock;
  /** Loads a value on a miss or a refresh. */
  readonly load: CacheLoader<V, C>;
  /** Traces first loads and the callers that join them; named `name` in spans and metrics. */
  readonly telemetry?: { readonly name: string; readonly telemetry: Telemetry };
}

/** What {@link RefreshingCache.get} returns. */
export interface CacheRead<V> {
  readonly value: V;
  /** True when the value came from the cache without waiting for a load. */
  readonly hit: boolean;
}

/** Flights of one key that may be cancelled (entry dropped or evicted) before a waiter retries. */
const MAX_ATTEMPTS = 4;

/**
 * A bounded, single-flight, refresh-ahead cache over lru-cache's `fetch()`:
 *
 * - concurrent reads of a missing key share one `load`, held outside the LRU until it settles (only
 *   values go into the LRU): more concurrent first loads than `max` cannot evict each other;
 * - each entry's lru-cache `ttl` is its `refreshAt`; after it, a read gets the still-valid entry at
 *   once (`allowStale`) and lru-cache starts one background load, which readers during the load also
 *   skip;
 * - every value is re-checked against `clock.now() < validUntil` before it is returned, so nothing
 *   past its validity is ever served, whatever lru-cache offers; a reader that gets such a value waits
 *   for the load instead;
 * - a failed load reaches every waiter of that flight and is never cached; a failed background
 *   refresh keeps the old entry (`noDeleteOnFetchRejection`), and the next refresh starts after a
 *   pause (a tenth of the remaining validity, 1–10 s) rather than on every read.
 */
export class RefreshingCache<V extends CacheEntryTimes, C extends object> {
  readonly #lru: LRUCache<string, V, C>;
  readonly #fetch: (key: string, options: LRUCache.FetchOptionsWithContext<string, V, C>) => Promise<V | undefined>;
  readonly #clock: Clock;
  readonly #load: CacheLoader<V, C>;
  /** First loads (no entry in the LRU) in progress: settled ones leave, so bounded by concurrency. */
  readonly #flights = new Map<
    string,
    { readonly controller: AbortController; readonly promise: Promise<V>; readonly trace: LoadTrace | undefined }
  >();
  /** Contexts of loads in progress: lru-cache's iterators skip keys that are loading. */
  readonly #loading = new Map<string, { readonly context: C }>();
  /** Keys whose background refresh failed, and when the next may start (bounded like the cache). */
  readonly #retryAt: LRUCache<string, number>;
  readonly #telemetry: { readonly name: string; readonly telemetry: Telemetry } | undefined;
  #hits = 0;
  #staleServed = 0;
  #refreshAhead = 0;
  #misses = 0;
  #coalesced = 0;
  #refreshes = 0;
  #evictions = 0;

  constructor(options: RefreshingCacheOptions<V, C>) {
    const { clock, load } = options;
    this.#clock = clock;
    this.#load = load;
    this.#telemetry = options.telemetry;
    this.#retryAt = new LRUCache<string, number>({ max: options.max });
    this.#lru = new LRUCache<string, V, C>({
      max: options.max,
      // Same clock for lru-cache's staleness as for our validity checks; no 1 ms caching of now().
      perf: clock,
      ttlResolution: 0,
      allowStale: true,
      noDeleteOnFetchRejection: true,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#evictions += 1;
      },
      fetchMethod: async (key, stale, { signal, options: fetchOptions, context }) => {
        const record = { context };
        this.#loading.set(key, record);
        if (stale !== undefined && clock.now() < stale.validUntil) this.#refreshes += 1;
        try {
          const value = await load(key, context, signal, stale);
          fetchOptions.ttl = ttlFor(value, clock.now());
          this.#retryAt.delete(key);
          return value;
        } catch (err) {
          // A failed refresh of a still-valid entry: keep serving it, and pause before the next
          // attempt so that every read during an outage or throttling does not become a call.
          const now = clock.now();
          if (stale !== undefined && now < stale.validUntil) this.#retryAt.set(key, now + retryDelay(stale, now));
          throw err;
        } finally {
          if (this.#loading.get(key) === record) this.#loading.delete(key);
        }
      },
    });
    // lru-cache types fetch()'s options with a conditional type on the context type, which TypeScript
    // cannot resolve for a generic C; with an object C it is FetchOptionsWithContext.
    this.#fetch = (key, fetchOptions) => this.#lru.fetch(key, fetchOptions as never);
  }

  /**
   * The valid value for `key`, from the cache or from one shared load.
   * @throws BrokerError from the load; `signal.reason` when `signal` aborts (the shared load goes on).
   */
  async get(key: string, context: C, signal?: AbortSignal): Promise<CacheRead<V>> {
    let mustWait = false;
    const paused = this.#retryAt.get(key);
    if (paused !== undefined && this.#clock.now() < paused) {
      const value = this.#lru.peek(key, { allowStale: true });
      if (value !== undefined && this.#clock.now() < value.validUntil) {
        this.#hits += 1;
        this.#staleServed += 1;
        return { value, hit: true };
      }
    }
    if (signal?.aborted !== true) {
      const value = this.getFresh(key);
      if (value !== undefined) return { value, hit: true };
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const status: LRUCache.Status<string, V, C> = {};
      let value: V | undefined;
      try {
        const first = this.#flights.has(key) || this.#lru.peek(key, { allowStale: true }) === undefined;
        const pending = first
          ? this.#firstLoad(key, context)
          : mustWait
            ? this.#fetch(key, { context, status, allowStale: false, forceRefresh: true })
            : this.#fetch(key, { context, status });
        value = await abortable(pending, signal);
      } catch (err) {
        if (signal?.aborted === true) throw abortReason(signal);
        if (isBrokerError(err)) throw err;
        // The flight was cancelled because its entry was dropped or evicted: read again.
        mustWait = false;
        continue;
      }
      if (value !== undefined && this.#clock.now() < value.validUntil) {
        const hit = !mustWait && (status.fetch === 'hit' || status.returnedStale === true);
        if (hit) {
          this.#hits += 1;
          // 'stale': this read started the refresh; 'inflight': a refresh was already running.
          if (status.fetch === 'stale') this.#refreshAhead += 1;
          else if (status.returnedStale === true) this.#staleServed += 1;
        } else this.#misses += 1;
        return { value, hit };
      }
      // Nothing, or a value past its validity (lru-cache offered it as stale): wait for a fresh one.
      mustWait = true;
    }
    // Every flight was cancelled (its entry dropped or evicted each time): a passing condition.
    throw new BrokerError('ERR_COGNITO_UNAVAILABLE', 'The identity service is busy, try again', {
      cause: new Error('the cache could not keep an entry long enough to serve it'),
      status: 503,
      retryable: true,
      retryAfterSeconds: 1,
    });
  }

  /**
   * The common case, synchronously: the value for `key` when it is fresh (cached, before its refresh
   * point, no load running), served as fetch() would serve it (a hit, moved to the tail) without
   * fetch()'s option, status and promise objects. `undefined` when a read needs more (a load, a
   * refresh, a value past its refresh point): then {@link get}. Never loads.
   */
  getFresh(key: string): V | undefined {
    if (this.#loading.has(key)) return undefined;
    // One read of the clock: a stale entry is left in place (its refresh starts on the slow path).
    const value = this.#lru.get(key, { allowStale: false, noDeleteOnStaleGet: true });
    if (value === undefined || this.#clock.now() >= value.validUntil) return undefined;
    this.#hits += 1;
    return value;
  }

  /** Joins or starts the first load of `key`; its value goes into the LRU when it settles. */
  #firstLoad(key: string, context: C): Promise<V> {
    const running = this.#flights.get(key);
    if (running !== undefined) {
      this.#coalesced += 1;
      const t = this.#telemetry;
      if (t === undefined || running.trace === undefined) return running.promise;
      return t.telemetry.traceWait(t.name, running.trace, running.promise);
    }
    const controller = new AbortController();
    const { signal } = controller;
    const record = { context };
    const run = (): Promise<V> => Promise.resolve().then(() => this.#load(key, context, signal, undefined));
    const traced = this.#telemetry?.telemetry.traceLoad(this.#telemetry.name, run);
    const promise = (traced?.promise ?? run())
      .then((value) => {
        // Dropped (or replaced) while loading: waiters read again.
        if (signal.aborted) throw abortReason(signal);
        this.#lru.set(key, value, { ttl: ttlFor(value, this.#clock.now()) });
        this.#retryAt.delete(key);
        return value;
      })
      .finally(() => {
        if (this.#flights.get(key)?.controller === controller) this.#flights.delete(key);
        if (this.#loading.get(key) === record) this.#loading.delete(key);
      });
    // Waiters handle the outcome; this only keeps a flight nobody waits for anymore from being unhandled.
    promise.catch(() => undefined);
    this.#flights.set(key, { controller, promise, trace: traced?.trace });
    this.#loading.set(key, record);
    return promise;
  }

  /** Cancels the first load of `key`, if one runs. */
  #cancelFlight(key: string): void {
    const flight = this.#flights.get(key);
    if (flight === undefined) return;
    this.#flights.delete(key);
    flight.controller.abort(new Error('cache entry dropped while loading'));
  }

  /** The value for `key` when one is cached and valid now; never loads. Does not count as a hit. */
  peekValid(key: string): V | undefined {
    const value = this.#lru.peek(key, { allowStale: true });
    return value !== undefined && this.#clock.now() < value.validUntil ? value : undefined;
  }

  /** The value for `key` if one is cached, even past its validity (e.g. to learn an id); never loads. */
  peek(key: string): V | undefined {
    return this.#lru.peek(key, { allowStale: true });
  }

  /** Stores a value obtained outside a load (it replaces, and cancels, any load of the key). */
  set(key: string, value: V): void {
    this.#cancelFlight(key);
    this.#loading.delete(key);
    this.#lru.set(key, value, { ttl: ttlFor(value, this.#clock.now()) });
  }

  /**
   * Every key with its cached value (`undefined` while a first load runs) and the context of a load
   * in progress, if any. A snapshot: safe to delete while iterating.
   */
  entries(): [key: string, value: V | undefined, loading: C | undefined][] {
    const keys = new Set<string>([...this.#lru.keys(), ...this.#loading.keys()]);
    return [...keys].map((key) => [key, this.#lru.peek(key, { allowStale: true }), this.#loading.get(key)?.context]);
  }

  /** Drops `key` (and cancels its load: waiters read again). */
  delete(key: string): void {
    this.#cancelFlight(key);
    this.#loading.delete(key);
    this.#retryAt.delete(key);
    this.#lru.delete(key);
  }

  /** Counters and size. */
  stats(): CacheStats {
    return {
      hits: this.#hits,
      staleServed: this.#staleServed,
      refreshAhead: this.#refreshAhead,
      misses: this.#misses,
      coalesced: this.#coalesced,
      refreshes: this.#refreshes,
      evictions: this.#evictions,
      size: this.#lru.size,
      loading: this.#loading.size,
    };
  }
}

/** Pause after a failed background refresh: a tenth of the remaining validity, within 1–10 s. */
function retryDelay(stale: CacheEntryTimes, now: number): number {
  return Math.min(10_000, Math.max(1000, Math.floor((stale.validUntil - now) / 10)));
}

/** lru-cache ttl for a value stored at `now`: until its refresh point, at least 1 ms. */
function ttlFor(value: CacheEntryTimes, now: number): number {
  return Math.max(1, Math.ceil(value.refreshAt - now));
}
