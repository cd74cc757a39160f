import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { abortReason } from '../broker/abort.js';
import type { FleetBinding, FleetHost, FleetLoad, FleetLock, FleetStats } from '../broker/fleet.js';
import { InMemoryQuotaStore, type BucketShape, type QuotaStore, type QuotaTake } from '../broker/quota/store.js';
import type { CacheEntryTimes } from '../broker/refreshing-cache.js';
import type { EntryCipher } from './cipher.js';
import { RedisQuotaStore } from './quota-store.js';
import { RedisRunner, type FleetRedisClient, type FleetRedisSubscriber } from './runner.js';
import { GET_OR_LEASE, INVALIDATE, LOCK, PUT, RELEASE, SYNC, UNLOCK } from './scripts.js';

/** How often a waiter looks at a lease again when no message came, ms. */
const POLL_MS = 250;
/** Lock polling while the same owner holds it on another instance, ms. */
const LOCK_POLL_MS = 100;
/** Generations outlive every entry stamped with them (tokens last at most a day). */
const GENERATION_TTL_MS = 25 * 3600 * 1000;
/** Changes kept while Redis is out, published when it answers again; beyond, everything is dropped. */
const MAX_PENDING = 1000;
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
  readonly #instance = token();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #pending: Change[] = [];
  readonly #subscriber: FleetRedisSubscriber;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly quotaStore: QuotaStore;
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
    this.#runner = new RedisRunner({
      client: options.client,
      commandTimeoutMs: options.commandTimeoutMs,
      retryMs: options.retryMs,
      log: host.log,
      onRecovered: () => {
        void this.#flushPending();
        void this.#sync();
      },
    });
    // node-redis emits 'error' on every lost connection; unheard, it would end the process.
    options.client.on('error', () => undefined);
    this.quotaStore = fallbackStore(this.#runner, new RedisQuotaStore({ runner: this.#runner, prefix: p }));
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
      await this.#subscriber.subscribe(this.#channel, (message) => {
        this.#onMessage(message);
      });
    } catch (err) {
      this.#host.log.warn(
        { err: err instanceof Error ? err.message : 'unknown' },
        'fleet: cannot subscribe to changes; the periodic check stands in',
      );
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
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
    if (this.#closed || !this.#runner.usable()) return request.load();
    const id = `${request.kind}:${hash(request.key)}`;
    const entryKey = `${this.#prefix}e:${id}`;
    const leaseKey = `${this.#prefix}l:${id}`;
    const aad = `${this.#prefix}|${request.kind}|${request.key}`;
    const [userGen, identityGen] = this.#generationKeys(request.userId, request.identityId);
    const keys = [entryKey, leaseKey, userGen, identityGen];
    const lease = token();
    const waitUntil = performance.now() + this.#host.waitMs;
    let skip = '';
    let waited = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (request.signal.aborted) throw abortReason(request.signal);
      let reply: unknown;
      try {
        reply = await this.#runner.run(GET_OR_LEASE, keys, [lease, String(this.#host.loadMs), skip]);
      } catch {
        return request.load();
      }
      const [kind, a, b] = Array.isArray(reply) ? (reply as unknown[]) : [];
      if (kind === 'hit' && typeof a === 'string') {
        const plaintext = this.#o.cipher.open(aad, a);
        const value = plaintext === undefined ? undefined : request.decode(plaintext);
        if (value === undefined) this.#entriesRejected += 1;
        if (value !== undefined && request.accept(value)) {
          this.#sharedHits += 1;
          return value;
        }
        skip = a;
        continue;
      }
      if (kind === 'lease' && typeof a === 'string' && typeof b === 'string') {
        if (waited) this.#leaseTakeovers += 1;
        return this.#loadHolding(request, { keys, aad, lease, id, userGen: a, identityGen: b });
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

  async #loadHolding<V extends CacheEntryTimes>(
    request: FleetLoad<V>,
    held: {
      keys: string[];
      aad: string;
      lease: string;
      id: string;
      userGen: string;
      identityGen: string;
    },
  ): Promise<V> {
    let value: V;
    try {
      value = await request.load();
    } catch (err) {
      this.#runner
        .run(RELEASE, [held.keys[1] ?? ''], [held.lease, this.#channel, `L ${held.id}`])
        .catch(() => undefined);
      throw err;
    }
    this.#sharedLoads += 1;
    const ttl = Math.ceil(value.validUntil - this.#host.clock.now());
    if (ttl > 0) {
      const sealed = this.#o.cipher.seal(held.aad, request.encode(value));
      this.#runner
        .run(PUT, held.keys, [
          held.lease,
          sealed,
          String(ttl),
          held.userGen,
          held.identityGen,
          this.#channel,
          `L ${held.id}`,
        ])
        .catch(() => undefined);
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

  invalidated(userIds: readonly string[], identityIds: readonly string[]): void {
    if (this.#closed || (userIds.length === 0 && identityIds.length === 0)) return;
    this.#publish({ u: [...new Set(userIds)], i: [...new Set(identityIds)] });
  }

  #publish(change: Change): void {
    const keys = [this.#stateKey, this.#logKey];
    for (const u of change.u) keys.push(`${this.#prefix}g:u:${hash(u)}`);
    for (const i of change.i) keys.push(`${this.#prefix}g:i:${hash(i)}`);
    this.#runner
      .run(INVALIDATE, keys, [
        token(),
        JSON.stringify(change),
        this.#channel,
        String(GENERATION_TTL_MS),
        this.#instance,
      ])
      .then(
        () => {
          this.#published += 1;
        },
        () => {
          // Redis is out: the change waits (bounded) and goes out when it answers again.
          if (this.#pending.length < MAX_PENDING) this.#pending.push(change);
          else this.#pending.splice(0, this.#pending.length, { u: [], i: [], all: true });
        },
      );
  }

  async #flushPending(): Promise<void> {
    const pending = this.#pending.splice(0);
    for (const change of pending) this.#publish(change);
    await Promise.resolve();
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
    if (change === undefined || change.all === true) {
      this.#dropAll();
      return;
    }
    this.#applied += 1;
    this.#host.invalidateLocal(change.u, change.i);
  }

  #dropAll(): void {
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
      reply = await this.#runner.run(SYNC, [this.#stateKey, this.#logKey], [this.#epoch ?? '', String(this.#seq)]);
    } catch {
      return;
    }
    if (!Array.isArray(reply)) return;
    const [epoch, seqText, ...entries] = reply as unknown[];
    if (typeof epoch !== 'string' || typeof seqText !== 'string') return;
    const seq = Number(seqText);
    const first = this.#epoch === undefined;
    const sameEpoch = epoch === this.#epoch || (this.#epoch === '' && epoch !== '');
    if (first) {
      // The first look: whatever happened before this instance started is in its (empty) cache.
    } else if (!sameEpoch) {
      // Another epoch: Redis was flushed or restarted, and changes before it may be lost.
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
    const until = performance.now() + ttlMs;
    const unlocked: FleetLock = { release: () => undefined };
    for (;;) {
      if (signal?.aborted === true) throw abortReason(signal);
      let reply: unknown;
      try {
        reply = await this.#runner.run(LOCK, [key], [value, String(ttlMs), ownerHash]);
      } catch {
        // Redis out: the caller's per-process guard and its after-the-fact check stand alone.
        return unlocked;
      }
      if (reply === 'ok') {
        let released = false;
        return {
          release: () => {
            if (released) return;
            released = true;
            this.#runner.run(UNLOCK, [key], [value]).catch(() => undefined);
          },
        };
      }
      if (reply !== 'same') return 'held-by-other';
      // The same owner on another instance: wait for it to finish (its outcome is then found).
      if (performance.now() + LOCK_POLL_MS > until) return 'held-by-other';
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    }
  }
}

/**
 * The shared quota store while Redis answers, this process's buckets while it does not: during an
 * outage each instance governs its own calls (per-process behaviour), never failing a call for
 * want of Redis.
 */
function fallbackStore(runner: RedisRunner, shared: QuotaStore): QuotaStore {
  const local = new InMemoryQuotaStore();
  return {
    async take(take: QuotaTake) {
      if (!runner.usable()) return local.take(take);
      try {
        return await shared.take(take);
      } catch {
        return local.take(take);
      }
    },
    async refund(kind: 'operation' | 'user', key: string, bucket: BucketShape, now: number) {
      if (!runner.usable()) {
        local.refund(kind, key, bucket, now);
        return;
      }
      try {
        await shared.refund(kind, key, bucket, now);
      } catch {
        local.refund(kind, key, bucket, now);
      }
    },
  };
}
