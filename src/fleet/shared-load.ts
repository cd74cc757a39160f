import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { performance } from 'node:perf_hooks';
import { abortReason } from '../broker/abort.js';
import type { FleetHost, FleetLoad } from '../broker/fleet.js';
import type { CacheEntryTimes } from '../broker/seam-types.js';
import type { EntryCipher } from './cipher.js';
import type { CleanupQueue } from './cleanups.js';
import { GENERATION_TTL_MS, type FleetKeys } from './keys.js';
import type { RedisRunner } from './runner.js';
import { GET_OR_LEASE, MAX_ENTRY_BYTES, PUT, RELEASE } from './scripts.js';

/** How often a waiter looks at a lease again when no message came, ms. */
const POLL_MS = 250;
/** How long a credentials entry that came with its token waits for the credentials load, ms. */
const PREFETCH_MS = 2000;
/** Rounds of one shared load (hits refused, leases lost) before loading without the tier. */
const MAX_ROUNDS = 64;
/** Loads not stored because a change overlapped them, before loading without the tier. */
const MAX_REFUSED = 3;

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
  /**
   * Resolves once this instance has applied every change up to number `seq` (reading the log when
   * it is behind); never rejects.
   */
  readonly appliedThrough: (seq: number) => Promise<void>;
}

/** One load holding its lease. */
interface Held {
  readonly lease: string;
  readonly id: string;
  readonly entryKey: string;
  readonly leaseKey: string;
  /** The change number and namespace generation read with the lease. */
  readonly s: string;
  readonly a: string;
}

/** A shared entry's sealed value and the numbers it was stored under. */
interface Sealed {
  readonly v: string;
  readonly s: string;
  readonly a: string;
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
  readonly #prefetched = new LRUCache<string, Sealed>({ max: 1000, ttl: PREFETCH_MS });
  #closed = false;
  /** Counts {@link forgetPrefetched}: a reply read across a change brings no companion entry. */
  #changes = 0;
  sharedHits = 0;
  sharedLoads = 0;
  leaseWaits = 0;
  leaseTakeovers = 0;
  entriesRejected = 0;
  /** Loads whose answer was not stored nor served: a change overlapped them. */
  loadsDiscarded = 0;

  constructor(options: SharedLoadsOptions) {
    this.#o = options;
  }

  /** Forgets the credentials that came along (a change may have made them stale). */
  forgetPrefetched(): void {
    this.#changes += 1;
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
    const keys = [entryKey, leaseKey, k.changeState, k.allGeneration];
    if (request.userId !== undefined) keys.push(k.userGeneration(request.userId));
    if (request.identityId !== undefined) keys.push(k.identityGeneration(request.identityId));
    const flags = [request.userId === undefined ? '' : '1', request.identityId === undefined ? '' : '1'];
    const lease = token();
    const waitUntil = performance.now() + host.waitMs;
    const came = this.#prefetched.get(entryKey);
    if (came !== undefined) {
      this.#prefetched.delete(entryKey);
      const value = this.#open(request, came);
      if (value !== undefined && request.accept(value)) {
        this.sharedHits += 1;
        return value;
      }
    }
    let skip = '';
    let waited = false;
    let refused = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (request.signal.aborted) throw abortReason(request.signal);
      if (this.#o.unpublished()) return request.load();
      let reply: unknown;
      const changes = this.#changes;
      try {
        reply = await runner.run(GET_OR_LEASE, keys, [
          lease,
          String(host.loadMs),
          skip,
          ...flags,
          String(GENERATION_TTL_MS),
          token(),
          String(MAX_ENTRY_BYTES),
        ]);
      } catch (err) {
        // Sent and not answered (a timeout): the script may still run and take the lease; free it
        // once Redis answers.
        if (sent(err)) this.#o.cleanups.later(RELEASE, [leaseKey], [lease, k.channel, `L ${id}`]);
        return request.load();
      }
      const [kind, v, s, a, ck, cv, cs, ca] = Array.isArray(reply) ? (reply as unknown[]) : [];
      if (kind === 'hit' && typeof v === 'string' && typeof s === 'string' && typeof a === 'string') {
        const value = this.#open(request, { v, s, a });
        if (value !== undefined && request.accept(value)) {
          this.sharedHits += 1;
          // The user's credentials, current too: kept for the credentials load that follows.
          if (
            changes === this.#changes &&
            typeof ck === 'string' &&
            typeof cv === 'string' &&
            typeof cs === 'string' &&
            typeof ca === 'string'
          )
            this.#prefetched.set(ck, { v: cv, s: cs, a: ca });
          return value;
        }
        // Refused (due for refresh, or not opening): skipped by its hash, never sent back.
        skip = createHash('sha1').update(v).digest('hex');
        continue;
      }
      // ['lease', s, a]: the change number and namespace generation the load begins under.
      const [, leaseS, leaseA] = kind === 'lease' ? [kind, v, s] : [];
      if (typeof leaseS === 'string' && typeof leaseA === 'string') {
        if (waited) this.leaseTakeovers += 1;
        const loaded = await this.#loadHolding(request, { lease, id, entryKey, leaseKey, s: leaseS, a: leaseA });
        if (loaded !== undefined) return loaded;
        // A change overlapped the load: its answer may predate the change; load again (a few
        // times: then once without the tier, checked against the changes this instance knows).
        refused += 1;
        if (refused >= MAX_REFUSED) return request.load();
        waited = false;
        continue;
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
  #open<V extends CacheEntryTimes>(request: FleetLoad<V>, sealed: Sealed): V | undefined {
    const aad = this.#o.keys.entryAad(request.kind, request.key, sealed.s, sealed.a);
    const plaintext = this.#o.cipher.open(aad, sealed.v);
    const value = plaintext === undefined ? undefined : request.decode(plaintext);
    if (value === undefined) this.entriesRejected += 1;
    return value;
  }

  /**
   * Loads holding the lease and stores the entry for the fleet: the value, or `undefined` when a
   * change to a user or identity it depends on was recorded during the load (not stored, not to be
   * served).
   */
  async #loadHolding<V extends CacheEntryTimes>(request: FleetLoad<V>, held: Held): Promise<V | undefined> {
    const { runner, keys: k, host, cleanups } = this.#o;
    const releaseArgs = [held.lease, k.channel, `L ${held.id}`];
    let value: V;
    try {
      // The load may use this instance's first level (a scoped load, its user's token): every
      // change up to the lease's number must be applied here first, or a token a change made stale
      // (its wake-up late or lost) would yield an entry of the old identity stored as current.
      await this.#o.appliedThrough(Number(held.s));
      value = await request.load();
    } catch (err) {
      cleanups.now(RELEASE, [held.leaseKey], releaseArgs);
      throw err;
    }
    this.sharedLoads += 1;
    const ttl = Math.ceil(value.validUntil - host.clock.now());
    const identity = request.identityOf?.(value) ?? request.identityId;
    if (ttl <= 0 || identity === undefined) {
      cleanups.now(RELEASE, [held.leaseKey], releaseArgs);
      return value;
    }
    const sealed = this.#o.cipher.seal(k.entryAad(request.kind, request.key, held.s, held.a), request.encode(value));
    const keys = [held.entryKey, held.leaseKey, k.changeState, k.allGeneration, k.identityGeneration(identity)];
    if (request.userId !== undefined) keys.push(k.userGeneration(request.userId));
    if (request.companionTokenKey !== undefined) keys.push(k.entry(k.loadId('token', request.companionTokenKey)));
    let reply: unknown;
    try {
      reply = await runner.run(PUT, keys, [
        held.lease,
        sealed,
        String(ttl),
        held.s,
        held.a,
        k.channel,
        `L ${held.id}`,
        request.userId === undefined ? '' : '1',
        request.companionTokenKey === undefined ? '' : '1',
        String(GENERATION_TTL_MS),
      ]);
    } catch {
      // Redis out: the value is this instance's alone (what a change meanwhile makes stale, the
      // change feed drops when it is read).
      cleanups.later(RELEASE, [held.leaseKey], releaseArgs);
      return value;
    }
    if (reply === 0) {
      this.loadsDiscarded += 1;
      return undefined;
    }
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
