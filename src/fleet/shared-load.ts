import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { performance } from 'node:perf_hooks';
import { abortReason } from '../broker/abort.js';
import type { FleetHost, FleetLoad } from '../broker/fleet.js';
import type { CacheEntryTimes } from '../broker/seam-types.js';
import type { EntryCipher } from './cipher.js';
import type { CleanupQueue } from './cleanups.js';
import type { FleetKeys } from './keys.js';
import type { RedisRunner } from './runner.js';
import { GET_OR_LEASE, PUT, RELEASE } from './scripts.js';

/** How often a waiter looks at a lease again when no message came, ms. */
const POLL_MS = 250;
/** How long a credentials entry that came with its token waits for the credentials load, ms. */
const PREFETCH_MS = 2000;
/** Rounds of one shared load (hits refused, leases lost) before loading without the tier. */
const MAX_ROUNDS = 64;

/** The step reached Redis (and may have run there) before it failed: a timeout, an error reply. */
export function sent(err: unknown): boolean {
  return err instanceof Error && err.cause !== undefined;
}

/** Options of {@link SharedLoads}. */
export interface SharedLoadsOptions {
  readonly runner: RedisRunner;
  readonly keys: FleetKeys;
  readonly cipher: EntryCipher;
  readonly host: FleetHost;
  readonly cleanups: CleanupQueue;
  /** True while this instance's own changes are not all published (no shared entry is taken). */
  readonly unpublished: () => boolean;
  /** An entry was loaded without the tier. */
  readonly servedAlone: () => void;
}

/** One load holding its lease. */
interface Held {
  readonly keys: string[];
  readonly aad: string;
  readonly lease: string;
  readonly id: string;
  /** User, identity and namespace generations read with the lease. */
  readonly generations: [string, string, string];
}

/**
 * The shared entries: a load takes a current entry from Redis, or the lease to load it for the
 * fleet (one Cognito call per entry fleet-wide), or waits for the instance that holds the lease.
 */
export class SharedLoads {
  readonly #o: SharedLoadsOptions;
  readonly #waiters = new Map<string, Set<() => void>>();
  /**
   * Credentials entries that came along with their user's token (sealed, by Redis key), for the
   * credentials load that follows; short-lived and bounded.
   */
  readonly #prefetched = new LRUCache<string, string>({ max: 1000, ttl: PREFETCH_MS });
  #closed = false;
  sharedHits = 0;
  sharedLoads = 0;
  leaseWaits = 0;
  leaseTakeovers = 0;
  entriesRejected = 0;

  constructor(options: SharedLoadsOptions) {
    this.#o = options;
  }

  /** Forgets the credentials that came along (a change may have made them stale). */
  forgetPrefetched(): void {
    this.#prefetched.clear();
  }

  /** Wakes the waiters of a load (its holder stored or released it). */
  wake(loadId: string): void {
    const waiters = this.#waiters.get(loadId);
    if (waiters !== undefined) for (const wake of [...waiters]) wake();
  }

  close(): void {
    this.#closed = true;
    for (const wake of [...this.#waiters.values()].flatMap((s) => [...s])) wake();
  }

  async load<V extends CacheEntryTimes>(request: FleetLoad<V>): Promise<V> {
    const { runner, keys: k, host } = this.#o;
    // Changes of this instance not yet published: the shared entries they make stale are not
    // marked yet, so none is taken until they are out.
    if (this.#closed || this.#o.unpublished() || !runner.usable()) {
      this.#o.servedAlone();
      return request.load();
    }
    const id = k.loadId(request.kind, request.key);
    const entryKey = k.entry(id);
    const leaseKey = k.lease(id);
    const aad = `${k.base}|${request.kind}|${request.key}`;
    const keys = [
      entryKey,
      leaseKey,
      request.userId === undefined ? k.noGeneration : k.userGeneration(request.userId),
      request.identityId === undefined ? k.noGeneration : k.identityGeneration(request.identityId),
      k.allGeneration,
    ];
    const lease = token();
    const waitUntil = performance.now() + host.waitMs;
    const came = this.#prefetched.get(entryKey);
    if (came !== undefined) {
      this.#prefetched.delete(entryKey);
      const value = this.#open(request, aad, came);
      if (value !== undefined && request.accept(value)) {
        this.sharedHits += 1;
        return value;
      }
    }
    let skip = '';
    let waited = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (request.signal.aborted) throw abortReason(request.signal);
      if (this.#o.unpublished()) return request.load();
      let reply: unknown;
      try {
        reply = await runner.run(GET_OR_LEASE, keys, [lease, String(host.loadMs), skip]);
      } catch (err) {
        // Sent and not answered (a timeout): the script may still run and take the lease; free it
        // once Redis answers.
        if (sent(err)) this.#o.cleanups.later(RELEASE, [leaseKey], [lease, k.channel, `L ${id}`]);
        return request.load();
      }
      const [kind, a, b, c] = Array.isArray(reply) ? (reply as unknown[]) : [];
      if (kind === 'hit' && typeof a === 'string') {
        const value = this.#open(request, aad, a);
        if (value !== undefined && request.accept(value)) {
          this.sharedHits += 1;
          // The user's credentials, current too: kept for the credentials load that follows.
          if (typeof b === 'string' && typeof c === 'string') this.#prefetched.set(b, c);
          return value;
        }
        skip = a;
        continue;
      }
      if (kind === 'lease' && typeof a === 'string' && typeof b === 'string' && typeof c === 'string') {
        if (waited) this.leaseTakeovers += 1;
        return this.#loadHolding(request, { keys, aad, lease, id, generations: [a, b, c] });
      }
      // Another instance holds the lease: wait for its message (or poll), up to the broker's
      // timeout, then load without the tier rather than make the caller wait on a stuck peer.
      if (!waited) this.leaseWaits += 1;
      waited = true;
      const left = waitUntil - performance.now();
      if (left <= 0) return request.load();
      await this.#wait(id, Math.min(POLL_MS, left), request.signal);
    }
    return request.load();
  }

  /** The entry of a sealed value, or `undefined` (counted) when it does not open or parse. */
  #open<V extends CacheEntryTimes>(request: FleetLoad<V>, aad: string, sealed: string): V | undefined {
    const plaintext = this.#o.cipher.open(aad, sealed);
    const value = plaintext === undefined ? undefined : request.decode(plaintext);
    if (value === undefined) this.entriesRejected += 1;
    return value;
  }

  async #loadHolding<V extends CacheEntryTimes>(request: FleetLoad<V>, held: Held): Promise<V> {
    const { runner, keys: k, host, cleanups } = this.#o;
    const leaseKey = held.keys[1] ?? '';
    const release = (): void => {
      cleanups.now(RELEASE, [leaseKey], [held.lease, k.channel, `L ${held.id}`]);
    };
    let value: V;
    try {
      value = await request.load();
    } catch (err) {
      release();
      throw err;
    }
    this.sharedLoads += 1;
    const ttl = Math.ceil(value.validUntil - host.clock.now());
    if (ttl <= 0) {
      release();
      return value;
    }
    const identity = request.identityOf?.(value);
    const sealed = this.#o.cipher.seal(held.aad, request.encode(value));
    const [userGen, identityGen, allGen] = held.generations;
    runner
      .run(PUT, held.keys, [
        held.lease,
        sealed,
        String(ttl),
        userGen,
        identityGen,
        allGen,
        k.channel,
        `L ${held.id}`,
        identity === undefined ? '' : k.identityGeneration(identity),
        request.companionTokenKey === undefined ? '' : k.entry(k.loadId('token', request.companionTokenKey)),
      ])
      .catch(() => {
        cleanups.later(RELEASE, [leaseKey], [held.lease, k.channel, `L ${held.id}`]);
      });
    return value;
  }

  /** Resolves when `id`'s load message comes, after `ms`, or rejects when `signal` aborts. */
  #wait(id: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let set = this.#waiters.get(id);
      if (set === undefined) {
        set = new Set();
        this.#waiters.set(id, set);
      }
      const waiters = set;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(id) === waiters) this.#waiters.delete(id);
      };
      const wake = (): void => {
        done();
        resolve();
      };
      const onAbort = (): void => {
        done();
        reject(abortReason(signal));
      };
      const timer = setTimeout(wake, ms);
      signal.addEventListener('abort', onAbort, { once: true });
      waiters.add(wake);
    });
  }
}

function token(): string {
  return randomBytes(12).toString('base64url');
}
