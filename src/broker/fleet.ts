import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { QuotaStore } from './quota/store.js';
import type { CacheEntryTimes, FleetStats } from './seam-types.js';

export type { FleetStats } from './seam-types.js';

// The seam between the broker and a shared tier (`cognito-identity-broker/fleet`): what a broker
// gives the tier when it is created, and what it asks of it. The broker keeps its in-process caches
// as the first level and reaches the tier only on a miss, a refresh, a change and a guest upgrade.

/**
 * Brand of a {@link BrokerFleet}: only the package's own factories make one. A plain `Symbol()`,
 * not a registered one (`Symbol.for`): no code outside the package can name it, so an app cannot
 * hand the broker a look-alike of the tier. Not exported from the package's entry points.
 */
export const FLEET_BIND: unique symbol = Symbol('cognito-identity-broker.fleet.bind');

/**
 * A shared tier for several instances of an app (from `redisFleet()` of
 * `cognito-identity-broker/fleet`), given as `BrokerOptions.fleet`. One fleet object serves one
 * broker.
 */
export interface BrokerFleet {
  /** @internal Called once by `createBroker()`. */
  readonly [FLEET_BIND]: (host: FleetHost) => FleetBinding;
  /**
   * Stops the tier's own connection and timers (never the Redis client the app gave it), after one
   * more try to send the changes it still holds (bounded by the command timeout).
   */
  close(): Promise<void>;
}

/** What the broker gives its fleet tier. */
export interface FleetHost {
  /**
   * A short hash of every option that shapes a cached entry (pool, provider, token duration, grace,
   * role, logins key, the classic flow's default role): brokers configured differently never share
   * entries.
   */
  readonly namespace: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** The longest one cache load may take (its calls' timeouts and quota waits), ms: a lease's life. */
  readonly loadMs: number;
  /** The longest a load waits for another instance's lease before loading itself, ms. */
  readonly waitMs: number;
  /** Most users the broker keeps (`cache.max`): bounds the per-user budgets kept while degraded. */
  readonly maxUsers: number;
  /** Drops this process's entries of these users and identities (another instance changed them). */
  invalidateLocal(userIds: readonly string[], identityIds: readonly string[]): void;
  /** Drops every entry of this process (changes may have been missed). */
  dropAll(): void;
  /**
   * Drops every entry this process holds, loads in progress left to finish (an instance that could
   * not read the fleet's changes for too long: what it loaded meanwhile is kept only briefly).
   */
  dropStored(): void;
}

/** The kinds of shared entries. */
export type FleetEntryKind = 'token' | 'credentials' | 'scoped';

/** One shared load, as the broker asks the tier for it. */
export interface FleetLoad<V extends CacheEntryTimes> {
  readonly kind: FleetEntryKind;
  /** The entry's key in the broker's own cache. */
  readonly key: string;
  /** The user the entry belongs to, if any: a change of the user makes the shared entry stale. */
  readonly userId: string | undefined;
  /** The identity the entry belongs to, if known: a change of the identity makes it stale. */
  readonly identityId: string | undefined;
  /** A shared entry is taken when it passes this (servable, and not due for refresh when refreshing). */
  accept(value: V): boolean;
  /** The entry as the plaintext the tier encrypts. */
  encode(value: V): string;
  /**
   * The key of the user's token entry, for a user's credentials: the shared token entry then names
   * these credentials, and a load of the token brings them along.
   */
  readonly companionTokenKey?: string;
  /** The identity of a loaded entry whose identity is not known before the load (a token). */
  identityOf?(value: V): string;
  /** The entry back from {@link encode}'s plaintext; `undefined` when it does not parse. */
  decode(plaintext: string): V | undefined;
  /** Loads the entry from Cognito (the broker's own loader). */
  load(): Promise<V>;
  /** Aborts when the broker's cache no longer wants the entry. */
  readonly signal: AbortSignal;
}

/** A held cross-instance lock; {@link release} is safe to call twice. */
export interface FleetLock {
  release(): void;
}

/** What a broker asks of its fleet tier. */
export interface FleetBinding {
  /** The entry from the shared tier, or loaded by one instance of the fleet at a time. */
  load<V extends CacheEntryTimes>(request: FleetLoad<V>): Promise<V>;
  /**
   * Tells every other instance that these users and identities changed (never throws; kept and
   * sent later while Redis is out, for as long as this instance lives).
   */
  invalidated(userIds: readonly string[], identityIds: readonly string[]): void;
  /**
   * Whether a change made now could be recorded: Redis answers (one round trip, bounded by the
   * tier's command timeout) and this instance has no change waiting to be sent. Asked before an
   * identity-changing call to Cognito, which is refused when false.
   */
  ready(): Promise<boolean>;
  /**
   * Records a change for the fleet: resolves once Redis holds it (every instance learns it from
   * there); rejects when it could not (the change is then kept and sent when Redis answers, while
   * this instance lives).
   */
  record(userIds: readonly string[], identityIds: readonly string[]): Promise<void>;
  /** How long the tier stays degraded after a Redis failure, ms (a refused caller's `Retry-After`). */
  readonly retryMs: number;
  /**
   * Takes the fleet-wide lock `name` for `owner`: `'held-by-other'` when another owner holds it,
   * waits while the same owner holds it elsewhere. Degrades to no lock (the caller keeps its
   * per-process guard) when Redis is out.
   */
  lock(name: string, owner: string, ttlMs: number, signal?: AbortSignal): Promise<FleetLock | 'held-by-other'>;
  /** The quota store the governor uses (the shared buckets), with a per-process fallback. */
  readonly quotaStore: QuotaStore;
  stats(): FleetStats;
}
