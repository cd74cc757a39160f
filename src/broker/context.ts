import type { Logger } from 'pino';
import type { BrokerErrorCode } from '../errors.js';
import type { ClassicFlow } from './classic-flow.js';
import type { CredentialsContext, CredentialsEntry, Entries, TokenContext, TokenEntry } from './entries.js';
import type { FleetBinding } from './fleet.js';
import type { IdentityChanges } from './identity-changes.js';
import type { ResolvedBrokerOptions } from './options.js';
import type { RefreshingCache } from './refreshing-cache.js';
import type { ScopeCap } from './scope-cap.js';
import type { ScopedContext, ScopedEntry } from './scoped-entries.js';
import type { IdentityToken } from './types.js';
import type { Upstream } from './upstream.js';

/**
 * Everything one broker's operations share, made once by `createBroker()`. The mutable parts are
 * objects that own their state: the upstream counters in {@link Upstream}, the clock offset in
 * {@link Entries}, cached entries in the two caches, running guest upgrades in `upgrading`.
 */
export interface BrokerContext {
  readonly options: ResolvedBrokerOptions;
  /** The broker's child logger. */
  readonly log: Logger;
  readonly upstream: Upstream;
  readonly entries: Entries;
  readonly tokens: RefreshingCache<TokenEntry, TokenContext>;
  readonly credentials: RefreshingCache<CredentialsEntry, CredentialsContext>;
  /** The classic flow's scoped credentials, per user and scope. */
  readonly scoped: RefreshingCache<ScopedEntry, ScopedContext>;
  /** The classic flow's live scopes per user (`classicFlow.maxScopesPerUser`). */
  readonly scopeCap: ScopeCap;
  /** The classic flow's STS client and default role. */
  readonly classic: ClassicFlow;
  /**
   * Guest upgrades running in this process, by guest identity id (running ones only: bounded by
   * concurrency): the user it is for and its outcome, which a second request of that user joins.
   */
  readonly upgrading: Map<string, RunningUpgrade>;
  /** Identity changes seen, numbered: a token load overlapped by one is loaded again. */
  readonly identityChanges: IdentityChanges;
  /** The fleet's shared tier, when the broker is one of several instances. */
  readonly fleet: FleetBinding | undefined;
}

/** A guest upgrade in progress (see {@link BrokerContext.upgrading}). */
export interface RunningUpgrade {
  readonly userId: string;
  readonly result: Promise<IdentityToken>;
}

/** Errors after which a user's identity is resolved again once (merged away, deleted, token refused). */
export const RE_RESOLVE: ReadonlySet<BrokerErrorCode> = new Set<BrokerErrorCode>([
  'ERR_IDENTITY_DISABLED',
  'ERR_NOT_FOUND',
  'ERR_COGNITO_REJECTED',
]);
