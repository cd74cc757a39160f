import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { performance } from 'node:perf_hooks';
import { abortReason } from '../broker/abort.js';
import type { FleetBinding, FleetHost, FleetLoad, FleetLock, FleetStats } from '../broker/fleet.js';
import type { CacheEntryTimes } from '../broker/refreshing-cache.js';
import type { EntryCipher } from './cipher.js';
import { fallbackStore, type FallbackQuotaStore } from './quota-fallback.js';
import { RedisQuotaStore } from './quota-store.js';
import { RedisRunner, type FleetRedisClient, type FleetRedisSubscriber, type Script } from './runner.js';
import { GET_OR_LEASE, INVALIDATE, LOCK, PUT, RELEASE, SYNC, UNLOCK } from './scripts.js';

/** How often a waiter looks at a lease again when no message came, ms. */
const POLL_MS = 250;
/** Lock polling while the same owner holds it on another instance, ms. */
const LOCK_POLL_MS = 100;
/** Generations outlive every entry stamped with them (tokens last at most a day). */
const GENERATION_TTL_MS = 25 * 3600 * 1000;
/** Changes kept while Redis is out, published when it answers again; beyond, everything is dropped. */
const MAX_PENDING = 1000;
/** How long a credentials entry that came with its token waits for the credentials load, ms. */
const PREFETCH_MS = 2000;
/** Rounds of one shared load (hits refused, leases lost) before loading without the tier. */
const MAX_ROUNDS = 64;

/** Tunables of one tier (validated by `redisFleet()`). */
export interface TierOptions {
  readonly client: FleetRedisClient;
  readonly cipher: EntryCipher;
  readonly prefix: string;
  readonly commandTimeoutMs: number;
  readonly retryMs: number;
  readonly syncIntervalMs: number;
}

interface Change {
  readonly u: readonly string[];
  readonly i: readonly string[];
  /** Every entry: changes were lost. */
  readonly all?: true;
}

/** The step reached Redis (and may have run there) before it failed: a timeout, an error reply. */
function sent(err: unknown): boolean {
  return err instanceof Error && err.cause !== undefined;
}

function hash(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64url').slice(0, 27);
}

function token(): string {
  return randomBytes(12).toString('base64url');
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function parseChange(json: string): Change | undefined {
  try {
    const c = JSON.parse(json) as { u?: unknown; i?: unknown; all?: unknown };
    if (c.all === true) return { u: [], i: [], all: true };
    if (isStringArray(c.u) && isStringArray(c.i)) return { u: c.u, i: c.i };
  } catch {
    // An unreadable change is treated as a lost one by the caller.
  }
  return undefined;
}

/**
 * The fleet tier of one broker over Redis: shared encrypted entries, a lease per load, changes
 * published to every instance (with a change log and a periodic check that bounds how long a missed
 * message can go unnoticed), fleet-wide locks and the shared quota store. Every Redis step that
 * fails leaves the broker working per process for that step.
 */
export class RedisTier implements FleetBinding {
  readonly #o: TierOptions;
  readonly #host: FleetHost;
  readonly #runner: RedisRunner;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #stateKey: string;
  readonly #logKey: string;
  readonly #noGeneration: string;
  /** The namespace's generation: a change of every entry (changes lost, Redis rolled back) bumps it. */
  readonly #allGeneration: string;
  readonly #cleanups: { readonly script: Script; readonly keys: string[]; readonly args: string[] }[] = [];
  /**
   * Credentials entries that came along with their user's token (sealed, by Redis key), for the
   * credentials load that follows; short-lived and bounded.
   */
  readonly #prefetched = new LRUCache<string, string>({ max: 1000, ttl: PREFETCH_MS });
  /** A check of the change log failed before the first one succeeded. */
  #missedAtStart = false;
  /** Something was loaded without the tier before the first check of the change log succeeded. */
  #servedAlone = false;
  /** Kept changes being published after an outage. */
  #republishing = 0;
  readonly #instance = token();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #pending: Change[] = [];
  readonly #subscriber: FleetRedisSubscriber;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly quotaStore: FallbackQuotaStore;
  #epoch: string | undefined;
  #seq = 0;
  #syncing: Promise<void> | undefined;
  #syncAgain = false;
  #closed = false;
  #sharedHits = 0;
  #sharedLoads = 0;
  #leaseWaits = 0;
  #leaseTakeovers = 0;
  #entriesRejected = 0;
  #published = 0;
  #applied = 0;
  #resyncDrops = 0;

  constructor(options: TierOptions, host: FleetHost) {
    this.#o = options;
    this.#host = host;
    const p = `${options.prefix}:${host.namespace}:`;
    this.#prefix = p;
    this.#channel = `${p}events`;
    this.#stateKey = `${p}changes`;
    this.#logKey = `${p}changes:log`;
    // A key never written: the identity generation of token entries (they have no identity yet).
    this.#noGeneration = `${p}g:none`;
    this.#allGeneration = `${p}g:all`;
    this.#runner = new RedisRunner({
      client: options.client,
      commandTimeoutMs: options.commandTimeoutMs,
      retryMs: options.retryMs,
      log: host.log,
      onRecovered: () => {
        this.#flushPending();
        void this.#sync();
      },
    });
    // node-redis emits 'error' on every lost connection; unheard, it would end the process.
    options.client.on('error', () => undefined);
    this.quotaStore = fallbackStore(this.#runner, new RedisQuotaStore({ runner: this.#runner, prefix: p }), {
      prefix: p,
      instance: this.#instance,
      maxUsers: host.maxUsers,
      retryMs: options.retryMs,
      commandTimeoutMs: options.commandTimeoutMs,
    });
    this.#subscriber = options.client.duplicate();
    this.#subscriber.on('error', () => undefined);
    // Subscriptions come back by themselves after a reconnect; messages sent meanwhile are found by
    // the check that follows.
    this.#subscriber.on('ready', () => void this.#sync());
    void this.#subscribe();
    this.#timer = setInterval(() => void this.#sync(), options.syncIntervalMs);
    this.#timer.unref();
    void this.#sync();
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#subscriber.connect();
      if (this.#closed) return;
      await this.#subscriber.subscribe(this.#channel, (message) => {
        this.#onMessage(message);
      });
    } catch (err) {
      if (this.#closed) return;
      this.#host.log.warn(
        { err: err instanceof Error ? err.message : 'unknown' },
        'fleet: cannot subscribe to changes; the periodic check stands in',
      );
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.quotaStore.close();
    for (const wake of [...this.#waiters.values()].flatMap((s) => [...s])) wake();
    try {
      this.#subscriber.destroy();
    } catch {
      // Already closed.
    }
    await Promise.resolve();
  }

  stats(): FleetStats {
    return {
      state: this.#runner.degraded ? 'degraded' : 'shared',
      sharedHits: this.#sharedHits,
      sharedLoads: this.#sharedLoads,
      leaseWaits: this.#leaseWaits,
      leaseTakeovers: this.#leaseTakeovers,
      entriesRejected: this.#entriesRejected,
      invalidationsPublished: this.#published,
      invalidationsApplied: this.#applied,
      resyncDrops: this.#resyncDrops,
      degradations: this.#runner.degradations,
      redisErrors: this.#runner.errors,
    };
  }

  #generationKeys(userId: string | undefined, identityId: string | undefined): [string, string] {
    return [
      userId === undefined ? this.#noGeneration : `${this.#prefix}g:u:${hash(userId)}`,
      identityId === undefined ? this.#noGeneration : `${this.#prefix}g:i:${hash(identityId)}`,
    ];
  }

  async load<V extends CacheEntryTimes>(request: FleetLoad<V>): Promise<V> {
    // Changes of this instance not yet published: the shared entries they make stale are not
    // marked yet, so none is taken until they are out.
    if (this.#closed || this.#pending.length > 0 || this.#republishing > 0 || !this.#runner.usable()) {
      if (this.#epoch === undefined) this.#servedAlone = true;
      return request.load();
    }
    const id = `${request.kind}:${hash(request.key)}`;
    const entryKey = `${this.#prefix}e:${id}`;
    const leaseKey = `${this.#prefix}l:${id}`;
    const aad = `${this.#prefix}|${request.kind}|${request.key}`;
    const [userGen, identityGen] = this.#generationKeys(request.userId, request.identityId);
    const keys = [entryKey, leaseKey, userGen, identityGen, this.#allGeneration];
    const lease = token();
    const waitUntil = performance.now() + this.#host.waitMs;
    const came = this.#prefetched.get(entryKey);
    if (came !== undefined) {
      this.#prefetched.delete(entryKey);
      const value = this.#open(request, aad, came);
      if (value !== undefined && request.accept(value)) {
        this.#sharedHits += 1;
        return value;
      }
    }
    let skip = '';
    let waited = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (request.signal.aborted) throw abortReason(request.signal);
      if (this.#pending.length > 0 || this.#republishing > 0) return request.load();
      let reply: unknown;
      try {
        reply = await this.#runner.run(GET_OR_LEASE, keys, [lease, String(this.#host.loadMs), skip]);
      } catch (err) {
        // Sent and not answered (a timeout): the script may still run and take the lease; free it
        // once Redis answers.
        if (sent(err)) this.#later(RELEASE, [leaseKey], [lease, this.#channel, `L ${id}`]);
        return request.load();
      }
      const [kind, a, b, c] = Array.isArray(reply) ? (reply as unknown[]) : [];
      if (kind === 'hit' && typeof a === 'string') {
        const value = this.#open(request, aad, a);
        if (value !== undefined && request.accept(value)) {
          this.#sharedHits += 1;
          // The user's credentials, current too: kept for the credentials load that follows.
          if (typeof b === 'string' && typeof c === 'string') this.#prefetched.set(b, c);
          return value;
        }
        skip = a;
        continue;
      }
      if (kind === 'lease' && typeof a === 'string' && typeof b === 'string' && typeof c === 'string') {
        if (waited) this.#leaseTakeovers += 1;
        return this.#loadHolding(request, { keys, aad, lease, id, generations: [a, b, c] });
      }
      // Another instance holds the lease: wait for its message (or poll), up to the broker's
      // timeout, then load without the tier rather than make the caller wait on a stuck peer.
      if (!waited) this.#leaseWaits += 1;
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
    if (value === undefined) this.#entriesRejected += 1;
    return value;
  }

  async #loadHolding<V extends CacheEntryTimes>(
    request: FleetLoad<V>,
    held: {
      keys: string[];
      aad: string;
      lease: string;
      id: string;
      /** User, identity and namespace generations read with the lease. */
      generations: [string, string, string];
    },
  ): Promise<V> {
    const leaseKey = held.keys[1] ?? '';
    const release = (): void => {
      this.#runner.run(RELEASE, [leaseKey], [held.lease, this.#channel, `L ${held.id}`]).catch(() => {
        this.#later(RELEASE, [leaseKey], [held.lease, this.#channel, `L ${held.id}`]);
      });
    };
    let value: V;
    try {
      value = await request.load();
    } catch (err) {
      release();
      throw err;
    }
    this.#sharedLoads += 1;
    const ttl = Math.ceil(value.validUntil - this.#host.clock.now());
    if (ttl <= 0) {
      release();
      return value;
    }
    const identity = request.identityOf?.(value);
    const sealed = this.#o.cipher.seal(held.aad, request.encode(value));
    const [userGen, identityGen, allGen] = held.generations;
    this.#runner
      .run(PUT, held.keys, [
        held.lease,
        sealed,
        String(ttl),
        userGen,
        identityGen,
        allGen,
        this.#channel,
        `L ${held.id}`,
        identity === undefined ? '' : `${this.#prefix}g:i:${hash(identity)}`,
        request.companionTokenKey === undefined ? '' : `${this.#prefix}e:token:${hash(request.companionTokenKey)}`,
      ])
      .catch(() => {
        this.#later(RELEASE, [leaseKey], [held.lease, this.#channel, `L ${held.id}`]);
      });
    return value;
  }

  /**
   * Runs a clean-up step (a lease or lock release) once Redis answers again: a command that timed
   * out may still have run and taken what it asked for. Bounded; a lost one expires with its TTL.
   */
  #later(s: Script, keys: string[], args: string[]): void {
    if (this.#closed) return;
    if (this.#cleanups.length >= MAX_PENDING) this.#cleanups.shift();
    this.#cleanups.push({ script: s, keys, args });
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

  invalidated(userIds: readonly string[], identityIds: readonly string[]): void {
    // Credentials that came along before the change must not serve the load after it.
    this.#prefetched.clear();
    if (this.#closed || (userIds.length === 0 && identityIds.length === 0)) return;
    this.#publish({ u: [...new Set(userIds)], i: [...new Set(identityIds)] });
  }

  /**
   * Publishes `change`. One that Redis did not take waits (bounded: beyond `MAX_PENDING`, one change
   * of every entry stands for them all) and goes out when Redis answers; once out, it is applied
   * here again, since this instance may have loaded entries meanwhile that it makes stale.
   */
  #publish(change: Change, republished = false): void {
    if (this.#closed) return;
    const keys = [this.#stateKey, this.#logKey];
    if (change.all === true) keys.push(this.#allGeneration);
    for (const u of change.u) keys.push(`${this.#prefix}g:u:${hash(u)}`);
    for (const i of change.i) keys.push(`${this.#prefix}g:i:${hash(i)}`);
    if (republished) this.#republishing += 1;
    this.#runner
      .run(INVALIDATE, keys, [
        token(),
        JSON.stringify(change),
        this.#channel,
        String(GENERATION_TTL_MS),
        this.#instance,
        this.#allGeneration,
      ])
      .then(
        () => {
          this.#published += 1;
          if (republished) this.#applyLocally(change);
        },
        () => {
          if (this.#pending.length < MAX_PENDING) this.#pending.push(change);
          else this.#pending.splice(0, this.#pending.length, { u: [], i: [], all: true });
        },
      )
      .finally(() => {
        if (republished) this.#republishing -= 1;
      })
      .catch((err: unknown) => {
        this.#host.log.error(
          { err: err instanceof Error ? err.message : 'unknown' },
          'fleet: applying a change failed',
        );
      });
  }

  #applyLocally(change: Change): void {
    this.#prefetched.clear();
    if (change.all === true) this.#host.dropAll();
    else this.#host.invalidateLocal(change.u, change.i);
  }

  /** After Redis answers again: the clean-ups, then the changes kept meanwhile. */
  #flushPending(): void {
    for (const c of this.#cleanups.splice(0)) {
      this.#runner.run(c.script, c.keys, c.args).catch(() => {
        this.#later(c.script, c.keys, c.args);
      });
    }
    for (const change of this.#pending.splice(0)) this.#publish(change, true);
  }

  #onMessage(message: string): void {
    if (message.startsWith('L ')) {
      const waiters = this.#waiters.get(message.slice(2));
      if (waiters !== undefined) for (const wake of [...waiters]) wake();
      return;
    }
    if (!message.startsWith('I ')) return;
    // 'I epoch seq instance change'
    const [, epoch = '', seqText = '', instance = ''] = message.split(' ', 4);
    const seq = Number(seqText);
    const rest = message.slice(4 + epoch.length + seqText.length + instance.length + 1);
    // The next change of the epoch this instance knows (or the first one ever published): apply it;
    // anything else (a gap, another epoch) is read from the change log.
    const next = (epoch === this.#epoch && seq === this.#seq + 1) || (this.#epoch === '' && seq === 1);
    if (!next) {
      void this.#sync();
      return;
    }
    this.#epoch = epoch;
    this.#seq = seq;
    if (instance !== this.#instance) this.#apply(parseChange(rest));
  }

  #apply(change: Change | undefined): void {
    this.#prefetched.clear();
    if (change === undefined || change.all === true) {
      this.#dropAll();
      return;
    }
    this.#applied += 1;
    this.#host.invalidateLocal(change.u, change.i);
  }

  #dropAll(): void {
    this.#prefetched.clear();
    this.#resyncDrops += 1;
    this.#host.dropAll();
  }

  /**
   * Catches up with the change log: applies what this instance has not seen, or drops everything
   * when that cannot be known (the log moved on too far, or Redis lost it).
   */
  #sync(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#syncing !== undefined) {
      // A check already running may have read the log before the change that asks for this one.
      this.#syncAgain = true;
      return this.#syncing;
    }
    this.#syncing = (async () => {
      do {
        this.#syncAgain = false;
        await this.#syncOnce();
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by #sync() during the await
      } while (this.#syncAgain && !this.#closed);
    })().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #syncOnce(): Promise<void> {
    let reply: unknown;
    try {
      reply = await this.#runner.run(
        SYNC,
        [this.#stateKey, this.#logKey, this.#allGeneration],
        [this.#epoch ?? '', String(this.#seq), token()],
      );
    } catch {
      // Serving already (per process) while changes cannot be read: the first check that succeeds
      // cannot tell what was missed.
      if (this.#epoch === undefined) this.#missedAtStart = true;
      return;
    }
    // Changes or clean-ups left over (their failure came in after Redis had answered again).
    if ((this.#pending.length > 0 || this.#cleanups.length > 0) && !this.#runner.degraded) this.#flushPending();
    if (!Array.isArray(reply)) return;
    const [epoch, seqText, ...entries] = reply as unknown[];
    if (typeof epoch !== 'string' || typeof seqText !== 'string') return;
    const seq = Number(seqText);
    const first = this.#epoch === undefined;
    const sameEpoch = epoch === this.#epoch || (this.#epoch === '' && epoch !== '');
    if (first) {
      // The first look: whatever happened before this instance started is not in its cache, unless
      // it has been serving since an earlier look failed.
      if (this.#missedAtStart && this.#servedAlone) this.#dropAll();
    } else if (!sameEpoch) {
      // Another epoch: Redis was flushed, restarted or rolled back, and changes may be lost.
      this.#dropAll();
    } else if (entries[0] === 'gap') {
      this.#dropAll();
    } else {
      for (const entry of entries.reverse()) {
        if (typeof entry !== 'string') continue;
        const [entrySeq = '', instance = ''] = entry.split(' ', 2);
        if (Number(entrySeq) <= this.#seq) continue;
        if (instance !== this.#instance) this.#apply(parseChange(entry.slice(entrySeq.length + instance.length + 2)));
      }
    }
    this.#epoch = epoch;
    this.#seq = seq;
  }

  async lock(name: string, owner: string, ttlMs: number, signal?: AbortSignal): Promise<FleetLock | 'held-by-other'> {
    const key = `${this.#prefix}lk:${hash(name)}`;
    const ownerHash = hash(owner);
    const value = `${ownerHash}:${token()}`;
    // The same owner's run elsewhere is waited for no longer than a call: then this one runs too
    // (the same user's upgrade is safe to repeat; another user's is refused).
    const until = performance.now() + this.#host.waitMs;
    const unlocked: FleetLock = { release: () => undefined };
    const unlock = (): void => {
      this.#runner.run(UNLOCK, [key], [value]).catch(() => {
        this.#later(UNLOCK, [key], [value]);
      });
    };
    for (;;) {
      if (signal?.aborted === true) throw abortReason(signal);
      let reply: unknown;
      try {
        reply = await this.#runner.run(LOCK, [key], [value, String(ttlMs), ownerHash]);
      } catch (err) {
        // Redis out: the caller's per-process guard and its after-the-fact check stand alone. A
        // command sent may still have taken the lock: free it once Redis answers.
        if (sent(err)) this.#later(UNLOCK, [key], [value]);
        return unlocked;
      }
      if (reply === 'ok') {
        let released = false;
        return {
          release: () => {
            if (released) return;
            released = true;
            unlock();
          },
        };
      }
      if (reply !== 'same') return 'held-by-other';
      if (performance.now() + LOCK_POLL_MS > until) return unlocked;
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    }
  }
}
