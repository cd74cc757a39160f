import { randomBytes } from 'node:crypto';
import type { FleetBinding, FleetHost, FleetLoad, FleetLock } from '../broker/fleet.js';
import type { CacheEntryTimes, FleetStats } from '../broker/seam-types.js';
import { ChangeFeed } from './change-feed.js';
import type { EntryCipher } from './cipher.js';
import { CleanupQueue } from './cleanups.js';
import { checkEvictionPolicy } from './eviction-check.js';
import { FleetKeys } from './keys.js';
import { takeLock } from './locks.js';
import { fallbackStore, type FallbackQuotaStore } from './quota-fallback.js';
import { RedisQuotaStore } from './quota-store.js';
import {
  RedisRunner,
  type FleetRedisClient,
  type FleetRedisSubscriber,
  type PublishMode,
  type Script,
} from './runner.js';
import { PROBE } from './scripts.js';
import { SharedLoads } from './shared-load.js';

/** Tunables of one tier (validated by `redisFleet()`). */
export interface TierOptions {
  readonly client: FleetRedisClient;
  readonly cipher: EntryCipher;
  readonly prefix: string;
  readonly commandTimeoutMs: number;
  readonly retryMs: number;
  readonly syncIntervalMs: number;
  /** The quota fallback's instance counts (see `redisFleet`); their defaults when left out. */
  readonly expectedInstances?: number;
  readonly maxInstances?: number;
}

/**
 * The fleet tier of one broker over Redis: shared encrypted entries with a lease per load
 * ({@link SharedLoads}), changes published to every instance with a change log and a periodic check
 * that bounds how long a missed message can go unnoticed ({@link ChangeFeed}), fleet-wide locks and
 * the shared quota store. Every Redis step that fails leaves the broker working per process for
 * that step.
 */
export class RedisTier implements FleetBinding {
  readonly #host: FleetHost;
  readonly #runner: RedisRunner;
  readonly #keys: FleetKeys;
  readonly #cleanups: CleanupQueue;
  readonly #loads: SharedLoads;
  readonly #feed: ChangeFeed;
  readonly #subscriber: FleetRedisSubscriber;
  readonly quotaStore: FallbackQuotaStore;
  readonly #retryMs: number;
  #closed = false;

  constructor(options: TierOptions, host: FleetHost) {
    this.#host = host;
    this.#retryMs = options.retryMs;
    const keys = new FleetKeys(options.prefix, host.namespace, options.cipher.derive('key names'));
    this.#keys = keys;
    const runner = new RedisRunner({
      client: options.client,
      commandTimeoutMs: options.commandTimeoutMs,
      retryMs: options.retryMs,
      log: host.log,
      onRecovered: () => {
        // The log first: a counter that went back while Redis was away is found (and the epoch
        // renewed) before a kept change is given a number again.
        void this.#feed.sync().then(() => {
          this.#feed.flushPending();
        });
      },
    });
    this.#runner = runner;
    // node-redis emits 'error' on every lost connection; unheard, it would end the process.
    options.client.on('error', () => undefined);
    // Once per tier: an evicting server is said so at start (the tier works either way).
    void checkEvictionPolicy(options.client, host.log, Math.max(options.commandTimeoutMs, 1000));
    this.#cleanups = new CleanupQueue(runner);
    // A cluster's wake-ups go on a sharded channel (ElastiCache's advice for Redis 7: classic
    // pub/sub is broadcast to every node).
    const publishMode: PublishMode = runner.cluster ? 's' : '';
    this.quotaStore = fallbackStore(runner, new RedisQuotaStore({ runner, keys }), {
      liveSet: keys.liveSet,
      // A random id for the heartbeat alone (names nothing else).
      instance: randomBytes(12).toString('base64url'),
      maxUsers: host.maxUsers,
      retryMs: options.retryMs,
      commandTimeoutMs: options.commandTimeoutMs,
      expectedInstances: options.expectedInstances,
      maxInstances: options.maxInstances,
    });
    this.#subscriber = options.client.duplicate();
    this.#subscriber.on('error', () => undefined);
    this.#loads = new SharedLoads({
      runner,
      keys,
      cipher: options.cipher,
      host,
      cleanups: this.#cleanups,
      // Changes of its own not out yet: no shared entry is taken. (An instance cut off from the
      // log still takes them: a change it missed raised the markers of those it made stale.)
      unpublished: () => this.#feed.unpublished,
      servedAlone: () => {
        this.#feed.servedAlone();
      },
      position: () => this.#feed.position,
      sync: () => this.#feed.sync(),
      isCurrent: (a, s, userId, identityId) => this.#feed.isCurrent(a, s, userId, identityId),
      knownEpoch: (epoch) => this.#feed.knownEpoch(epoch),
      publishMode,
    });
    this.#feed = new ChangeFeed({
      runner,
      keys,
      cipher: options.cipher,
      host,
      subscriber: this.#subscriber,
      publishMode,
      cleanups: this.#cleanups,
      syncIntervalMs: options.syncIntervalMs,
      cutOffAfterMs: options.syncIntervalMs + options.commandTimeoutMs,
      lastTry: (s, keys, args) => lastTry(options.client, options.commandTimeoutMs, s, keys, args),
      onChange: () => {
        this.#loads.forgetPrefetched();
      },
      onLoadMessage: (id) => {
        this.#loads.wake(id);
      },
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#feed.close();
    this.#loads.close();
    this.#cleanups.close();
    this.quotaStore.close();
    try {
      this.#subscriber.destroy();
    } catch {
      // Already closed.
    }
  }

  stats(): FleetStats {
    const loads = this.#loads;
    return {
      state: this.#runner.degraded ? 'degraded' : 'shared',
      sharedHits: loads.sharedHits,
      sharedLoads: loads.sharedLoads,
      leaseWaits: loads.leaseWaits,
      leaseTakeovers: loads.leaseTakeovers,
      entriesRejected: loads.entriesRejected + this.#feed.recordsRejected,
      invalidationsPublished: this.#feed.published,
      invalidationsApplied: this.#feed.applied,
      resyncDrops: this.#feed.resyncDrops,
      degradations: this.#runner.degradations,
      redisErrors: this.#runner.errors,
      redis: this.#runner.cluster ? 'cluster' : 'single',
      ...(this.#runner.problem === undefined ? {} : { problem: this.#runner.problem }),
    };
  }

  load<V extends CacheEntryTimes>(request: FleetLoad<V>): Promise<V> {
    return this.#loads.load(request);
  }

  invalidated(userIds: readonly string[], identityIds: readonly string[]): void {
    // Credentials that came along before the change must not serve the load after it.
    this.#loads.forgetPrefetched();
    if (this.#closed || (userIds.length === 0 && identityIds.length === 0)) return;
    void this.#feed.publish({ u: [...new Set(userIds)], i: [...new Set(identityIds)] });
  }

  get retryMs(): number {
    return this.#retryMs;
  }

  async ready(): Promise<boolean> {
    if (this.#closed || this.#feed.unpublished) return false;
    try {
      const k = this.#keys;
      const reply = await this.#runner.run(PROBE, [k.changeState, k.changeLog], []);
      // A key a change writes has the wrong type (a writer's): the change could not be recorded.
      if (reply !== 'ok') {
        this.#feed.typeMismatch();
        return false;
      }
      return !this.#feed.unpublished;
    } catch {
      return false;
    }
  }

  async record(userIds: readonly string[], identityIds: readonly string[]): Promise<void> {
    this.#loads.forgetPrefetched();
    if (userIds.length === 0 && identityIds.length === 0) return;
    if (this.#closed) throw new Error('the fleet tier is closed');
    if (!(await this.#feed.publish({ u: [...new Set(userIds)], i: [...new Set(identityIds)] })))
      throw new Error('the change could not be recorded in Redis');
  }

  lock(name: string, owner: string, ttlMs: number, signal?: AbortSignal): Promise<FleetLock | 'held-by-other'> {
    return takeLock(
      { runner: this.#runner, keys: this.#keys, cleanups: this.#cleanups, waitMs: this.#host.waitMs },
      name,
      owner,
      ttlMs,
      signal,
    );
  }
}

/** One run of `s` on `client`, bounded by `timeoutMs` (a late reply is dropped); no degraded window. */
async function lastTry(
  client: FleetRedisClient,
  timeoutMs: number,
  s: Script,
  keys: string[],
  args: string[],
): Promise<unknown> {
  if (!client.isReady) throw new Error('the Redis client is not connected');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error('Redis did not answer in time'));
    }, timeoutMs);
  });
  const send = async (): Promise<unknown> => {
    try {
      return await client.evalSha(s.sha, { keys, arguments: args });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(s.source, { keys, arguments: args });
    }
  };
  try {
    return await Promise.race([send(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
