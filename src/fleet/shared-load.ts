import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { performance } from 'node:perf_hooks';
import { abortReason } from '../broker/abort.js';
import type { FleetHost, FleetLoad } from '../broker/fleet.js';
import type { CacheEntryTimes } from '../broker/seam-types.js';
import type { EntryCipher } from './cipher.js';
import type { CleanupQueue } from './cleanups.js';
import { FleetKeys, MARKER_TTL_MS } from './keys.js';
import type { PublishMode, RedisRunner } from './runner.js';
import { GET_OR_LEASE, JOIN, MAX_ENTRY_BYTES, MAX_MEMBERS, NOTIFY, PUT, RELEASE } from './scripts.js';

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
  /** Where this instance stands in the change feed (see `ChangeFeed.position`). */
  readonly position: () => { readonly epoch: string; readonly seq: number } | undefined;
  /** Reads the change log (the first read gives the position); never rejects. */
  readonly sync: () => Promise<void>;
  /** Whether a shared entry is current here (see `ChangeFeed.isCurrent`). */
  readonly isCurrent: (a: string, s: number, userId: string | undefined, identityId: string | undefined) => boolean;
  /** Whether this instance has been in `epoch` (the current one, or one it left). */
  readonly knownEpoch: (epoch: string) => boolean;
  /** `'s'` on a cluster: load wake-ups go on the feed's sharded channel, by a command of their own. */
  readonly publishMode: PublishMode;
}

/** One load holding its lease. */
interface Held {
  readonly lease: string;
  readonly id: string;
  readonly tag: string;
  readonly entryKey: string;
  readonly leaseKey: string;
  /** The change number and epoch this instance stood at when it took the lease. */
  readonly s: string;
  readonly a: string;
}

/** A shared entry's sealed value and the numbers it was stored under. */
interface Sealed {
  readonly v: string;
  readonly s: string;
  readonly a: string;
  /** Its owner's marker, read with it. */
  readonly marked?: Marker | undefined;
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
    const tag = k.ownerTag(request);
    // The position this instance stands at in the change feed: the first read of the log gives it.
    if (this.#o.position() === undefined) await this.#o.sync();
    if (tag === undefined || this.#o.position() === undefined) {
      this.#o.servedAlone();
      return request.load();
    }
    const id = k.loadId(request.kind, request.key);
    const entryKey = k.entry(tag, id);
    const leaseKey = k.lease(tag, id);
    const keys = [entryKey, leaseKey, k.marker(tag)];
    const lease = token();
    const waitUntil = performance.now() + host.waitMs;
    const came = this.#prefetched.get(entryKey);
    if (came !== undefined) {
      this.#prefetched.delete(entryKey);
      const value = this.#open(request, came);
      // Judged as an entry read on its own: against the changes known here, and its owner's marker.
      if (value !== undefined && this.#current(request, value, came.s, came.a, came.marked) && request.accept(value)) {
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
      // Read before the lease is asked for: a load taken now begins no earlier than this.
      const at = this.#o.position();
      if (at === undefined) return request.load();
      let reply: unknown;
      const changes = this.#changes;
      try {
        reply = await runner.run(GET_OR_LEASE, keys, [lease, String(host.loadMs), skip, String(MAX_ENTRY_BYTES)]);
      } catch (err) {
        // Sent and not answered (a timeout): the script may still run and take the lease; free it
        // once Redis answers.
        if (sent(err)) this.#o.cleanups.later(RELEASE, [leaseKey], [lease, '', '', ''], err);
        return request.load();
      }
      const [kind, g, v, s, a, cn, cv, cs, ca] = Array.isArray(reply) ? (reply as unknown[]) : [];
      // The last change that named the owner, marked in its slot by the instance that made it: one
      // this instance has not read yet is read now.
      const marked = typeof g === 'string' ? markerOf(g) : undefined;
      // A marker of an epoch this instance has not seen yet (the feed started over): read too.
      if (marked !== undefined && (marked.epoch === at.epoch ? marked.seq > at.seq : !this.#o.knownEpoch(marked.epoch)))
        await this.#o.sync();
      if (kind === 'hit' && typeof v === 'string' && typeof s === 'string' && typeof a === 'string') {
        const value = this.#open(request, { v, s, a });
        if (value !== undefined && this.#current(request, value, s, a, marked) && request.accept(value)) {
          this.sharedHits += 1;
          // The user's credentials, stored with the token: kept for the credentials load that follows.
          if (
            changes === this.#changes &&
            typeof cn === 'string' &&
            cn.length <= 64 &&
            typeof cv === 'string' &&
            typeof cs === 'string' &&
            typeof ca === 'string' &&
            !after(marked, cs, ca)
          )
            this.#prefetched.set(k.entry(tag, cn), { v: cv, s: cs, a: ca, marked });
          return value;
        }
        // Refused (stale, due for refresh, or not opening): skipped by its hash, never sent back.
        skip = createHash('sha1').update(v).digest('hex');
        continue;
      }
      if (kind === 'lease') {
        if (waited) this.leaseTakeovers += 1;
        // The position now (read again above when the marker was ahead): the load begins after it.
        const start = this.#o.position() ?? at;
        const held = { lease, id, tag, entryKey, leaseKey, s: String(start.seq), a: start.epoch };
        const loaded = await this.#loadHolding(request, held);
        if (loaded !== undefined) return loaded;
        // A change this instance learned of during the load names its user or identity: the answer
        // may predate the change; load again (a few times: then once without the tier).
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

  /**
   * Whether a shared entry is current on this instance: no change it knows of, made after the
   * entry's load began, names the entry's user or identity.
   */
  #current<V extends CacheEntryTimes>(
    request: FleetLoad<V>,
    value: V,
    s: string,
    a: string,
    marked: Marker | undefined,
  ): boolean {
    const identity = request.identityOf?.(value) ?? request.identityId;
    return !after(marked, s, a) && this.#o.isCurrent(a, Number(s), request.userId, identity);
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
    const [channel, mode] = this.#o.publishMode === 's' ? ['', ''] : [k.channel, ''];
    const releaseArgs = [held.lease, channel, `L ${held.id}`, mode];
    // The lease given back unused, and its waiters woken (they load, or take the next lease).
    const release = (): void => {
      cleanups.now(RELEASE, [held.leaseKey], releaseArgs);
      this.#notify(held.id);
    };
    let value: V;
    try {
      value = await request.load();
    } catch (err) {
      release();
      throw err;
    }
    this.sharedLoads += 1;
    const identity = request.identityOf?.(value) ?? request.identityId;
    // A user's entry names an identity: the user joins the identity's members first (a change of
    // the identity raises every member's marker), then the log is read once more. A change the
    // members' read missed was numbered before the join, so the read of the log knows it.
    let joined = request.userId === undefined || identity === undefined;
    if (!joined && identity !== undefined) {
      joined = await runner
        .run(JOIN, [k.members(identity)], [FleetKeys.member(held.tag), String(MARKER_TTL_MS), String(MAX_MEMBERS)])
        .then(
          (reply) => reply === 1,
          () => false,
        );
    }
    // The log read once more after the answer: a change recorded anywhere while the load ran is
    // known here before the answer is judged (one round trip, on a load only).
    await this.#o.sync();
    const ttl = Math.ceil(value.validUntil - host.clock.now());
    // A change made during the load (numbered after the position it began at) names its user or
    // identity: the answer may predate the change, and is neither stored nor served.
    if (!this.#o.isCurrent(held.a, Number(held.s), request.userId, identity)) {
      release();
      return undefined;
    }
    // Not joined (Redis failed): stored, the entry would escape its identity's changes.
    if (ttl <= 0 || identity === undefined || !joined) {
      release();
      return value;
    }
    const sealed = this.#o.cipher.seal(k.entryAad(request.kind, request.key, held.s, held.a), request.encode(value));
    const keys = [held.entryKey, held.leaseKey];
    // A user's credentials go into the user's token entry too (the same slot: the same user).
    const companion = request.companionTokenKey !== undefined && request.userId !== undefined;
    if (companion) keys.push(k.entry(held.tag, k.loadId('token', request.companionTokenKey ?? '')));
    try {
      await runner.run(PUT, keys, [
        held.lease,
        sealed,
        String(ttl),
        held.s,
        held.a,
        companion ? held.id : '',
        channel,
        `L ${held.id}`,
        mode,
      ]);
    } catch (err) {
      // Redis out: the value is this instance's alone.
      cleanups.later(RELEASE, [held.leaseKey], releaseArgs, err);
      return value;
    }
    this.#notify(held.id);
    return value;
  }

  /** On a cluster, wakes the load's waiters on the feed's sharded channel (not awaited). */
  #notify(id: string): void {
    if (this.#o.publishMode !== 's') return;
    const k = this.#o.keys;
    this.#o.runner.run(NOTIFY, [k.changeState], [k.channel, `L ${id}`, 's']).catch(() => undefined);
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

/** An owner's marker: the last change that named it. */
interface Marker {
  readonly epoch: string;
  readonly seq: number;
}

/** The marker `epoch:seq`, or `undefined` (none, or not one). */
function markerOf(g: string): Marker | undefined {
  const at = g.lastIndexOf(':');
  const seq = Number(g.slice(at + 1));
  return at > 0 && Number.isSafeInteger(seq) ? { epoch: g.slice(0, at), seq } : undefined;
}

/** Whether the marked change came after an entry loaded from change `s` of epoch `a` (it is then stale). */
function after(marked: Marker | undefined, s: string, a: string): boolean {
  return marked !== undefined && marked.epoch === a && marked.seq > Number(s);
}
