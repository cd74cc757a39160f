// The types the broker's modules hand each other at their seams (cache, telemetry, fleet tier),
// in a leaf module: every module can use them without importing the others.

/** The times every cached value carries, epoch milliseconds on the broker's clock. */
export interface CacheEntryTimes {
  /** The value is served only while `clock.now() < validUntil` (expiry minus the skew grace). */
  readonly validUntil: number;
  /** From this point on, a read serves the value and starts one background refresh. `≤ validUntil`. */
  readonly refreshAt: number;
}

/** Counters of one of the broker's caches (`BrokerStats.tokens`, `BrokerStats.credentials`). */
export interface CacheStats {
  /** Served from the cache with no upstream wait (`staleServed` and `refreshAhead` included). */
  readonly hits: number;
  /** Hits served past the entry's refresh point while its refresh was running or paused (still valid). */
  readonly staleServed: number;
  /** Hits past the entry's refresh point that started its background refresh. */
  readonly refreshAhead: number;
  /** Had to wait for an upstream call (cold, expired, or joined an in-flight call). */
  readonly misses: number;
  /** Misses that joined a first load already running instead of starting one (single-flight). */
  readonly coalesced: number;
  /** Background refreshes started ahead of expiry. */
  readonly refreshes: number;
  /** Entries evicted because the cache was full. */
  readonly evictions: number;
  /** Entries currently held. */
  readonly size: number;
  /** Loads (first loads and background refreshes) running now. */
  readonly loading: number;
}

/** Counters of a fleet tier, in `BrokerStats.fleet`. */
export interface FleetStats {
  /** `shared` while Redis answers; `degraded` while the broker works per process. */
  readonly state: 'shared' | 'degraded';
  /** Loads served from the shared tier (another instance had the entry). */
  readonly sharedHits: number;
  /** Loads this instance made for the fleet (holding the lease). */
  readonly sharedLoads: number;
  /** Loads that waited for another instance's lease. */
  readonly leaseWaits: number;
  /** Leases taken over after their holder failed or vanished. */
  readonly leaseTakeovers: number;
  /** Shared entries refused (unknown key id, failed authentication, unreadable). */
  readonly entriesRejected: number;
  /** Changes this instance published. */
  readonly invalidationsPublished: number;
  /** Changes of other instances applied here. */
  readonly invalidationsApplied: number;
  /** Times this instance dropped its whole cache because changes may have been missed. */
  readonly resyncDrops: number;
  /** Times the tier went from shared to degraded. */
  readonly degradations: number;
  /** Redis commands that failed or timed out. */
  readonly redisErrors: number;
  /** What the tier was given: one Redis server (`createClient`) or a Redis Cluster (`createCluster`). */
  readonly redis: 'single' | 'cluster';
  /**
   * Set while Redis refuses the tier's commands for a reason that retrying cannot fix (a
   * misconfiguration): `CROSSSLOT` (keys of several slots: a proxy or client that does not route
   * by slot), `MOVED` (a single-node client given a cluster: use `createCluster`), `NOPERM` or
   * `NOAUTH` (the ACL user may not run the tier's commands), `NOSCRIPT` (scripting disabled),
   * `UNKNOWN_COMMAND` (a server without a command the tier needs, such as SPUBLISH before Redis 7),
   * `WRONGTYPE`, `OOM` (full, with `noeviction`). The tier works per process meanwhile.
   */
  readonly problem?: RedisProblem;
}

/** A reason Redis refuses the fleet tier's commands that retrying cannot fix. */
export type RedisProblem =
  'CROSSSLOT' | 'MOVED' | 'NOPERM' | 'NOAUTH' | 'NOSCRIPT' | 'UNKNOWN_COMMAND' | 'WRONGTYPE' | 'OOM';
