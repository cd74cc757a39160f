import { randomUUID } from 'node:crypto';
import type { RoleMapping } from '../model/shapes.js';
import { ServiceError } from '../service-error.js';
import { CredentialIssuer } from '../session-token.js';
import { arnPartition, cognitoIssuer, type TokenSigner } from '../tokens.js';
import { OpenIdTokenSigner } from './openid-token.js';
import type { Identity, IdentityRecord, Pool, PoolRecord } from './records.js';

export { epochSeconds } from './records.js';
export type { Identity, IdentityRecord, Pool, PoolRecord } from './records.js';

/** The 12-digit account id the emulator's ARNs use. */
export const EMULATOR_ACCOUNT_ID = '123456789012';

/** Most logins (developer users and public logins) linked to one identity. */
export const MAX_LINKED_LOGINS = 20;

export const LOGINS_DONT_MATCH =
  "Logins don't match. Please include at least one valid login for this identity or identity pool.";
export const UNAUTH_NOT_SUPPORTED = 'Unauthenticated access is not supported for this identity pool.';

/** A role mapping as stored: the API's shape. */
export type { RoleMapping };

/** The persisted part of the service state. */
export interface ServiceSnapshot {
  seq: number;
  pools: PoolRecord[];
  identities: IdentityRecord[];
}

/**
 * What one call changed, by record id: every record named is written in full to the state file's
 * log as the commit starts (or as removed, when it no longer exists then).
 */
export interface StateChange {
  readonly pools?: readonly string[];
  readonly identities?: readonly string[];
}

/**
 * The records of one region changed by a commit, as logged: the creation sequence, the pools and
 * identities written in full (in creation order), and the ids of those removed.
 */
export interface ServiceDelta {
  seq: number;
  pools?: PoolRecord[];
  identities?: IdentityRecord[];
  removedPools?: string[];
  removedIdentities?: string[];
}

/** Options of {@link ServiceState}. */
export interface ServiceOptions {
  readonly region: string;
  readonly signer: TokenSigner;
  /** Verifies provider tokens (shared by every region, as the providers are global). Default `signer`. */
  readonly providerSigner?: TokenSigner;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Called after every change of state, with what changed (to schedule a save). */
  readonly onChange?: (change: StateChange) => void;
  /** Mints the temporary credentials of GetCredentialsForIdentity (shared with STS). Default: a fresh one. */
  readonly credentials?: CredentialIssuer;
}

/** The key of a public login in a pool's login index. */
export function loginKey(provider: string, subject: string): string {
  return `${provider}\u0000${subject}`;
}

/**
 * An optional string member as it may arrive: validation passes a JSON `null` for an optional member
 * through, so handlers read optional strings through this and treat `null` as absent.
 */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** An optional map member (see {@link str}): `{}` when absent or null. */
export function strMap(v: unknown): Record<string, string> {
  return typeof v === 'object' && v !== null ? (v as Record<string, string>) : {};
}

/**
 * The state of one emulated account and region: pools, identities and their indexes, with the
 * lookups every operation shares. The operations live in the modules beside this one (pools,
 * identities, developer, merge, credentials, roles, principal-tags, tags); each takes this state and
 * a typed input, and returns the typed output or throws a {@link ServiceError}.
 */
export class ServiceState {
  readonly region: string;
  readonly accountId = EMULATOR_ACCOUNT_ID;
  readonly signer: TokenSigner;
  readonly providerSigner: TokenSigner;
  readonly now: () => number;
  /** The `iss` of the tokens this state signs. */
  readonly issuer: string;
  /** The Logins key of Cognito's own OpenID tokens. */
  readonly cognitoLoginKey: string;
  readonly pools = new Map<string, Pool>();
  readonly identities = new Map<string, Identity>();
  /** Signs the OpenID tokens of this state's identities. */
  readonly openIdTokens: OpenIdTokenSigner;
  /** Mints temporary credentials. */
  readonly credentials: CredentialIssuer;
  readonly #onChange: (change: StateChange) => void;
  #seq = 0;

  constructor(options: ServiceOptions, snapshot?: ServiceSnapshot) {
    this.region = options.region;
    this.signer = options.signer;
    this.providerSigner = options.providerSigner ?? options.signer;
    this.now = options.now;
    this.#onChange = options.onChange ?? (() => undefined);
    this.credentials = options.credentials ?? new CredentialIssuer();
    this.issuer = cognitoIssuer(options.region);
    this.cognitoLoginKey = options.region.startsWith('cn-')
      ? `cognito-identity.${options.region}.amazonaws.com.cn`
      : 'cognito-identity.amazonaws.com';
    this.openIdTokens = new OpenIdTokenSigner(options.signer, this.issuer, options.region, options.now, (id) =>
      this.poolArn(id),
    );
    if (snapshot !== undefined) this.#restore(snapshot);
  }

  /** The persisted state (plain JSON). */
  snapshot(): ServiceSnapshot {
    const pools: PoolRecord[] = [];
    for (const p of this.pools.values()) pools.push(poolRecord(p));
    return { seq: this.#seq, pools, identities: [...this.identities.values()] };
  }

  /**
   * The current records of these ids, as the state file's log keeps them: each one that exists in
   * full, each one that does not as removed. The records are the live objects: serialise them
   * before the state changes again.
   */
  delta(pools: Iterable<string>, identities: Iterable<string>): ServiceDelta {
    const d: ServiceDelta = { seq: this.#seq };
    const put: PoolRecord[] = [];
    const gone: string[] = [];
    for (const id of pools) {
      const p = this.pools.get(id);
      if (p === undefined) gone.push(id);
      else put.push(poolRecord(p));
    }
    const idents: IdentityRecord[] = [];
    const goneIdents: string[] = [];
    for (const id of identities) {
      const ident = this.identities.get(id);
      if (ident === undefined) goneIdents.push(id);
      else idents.push(ident);
    }
    // Creation order, so that records new to the log are appended where a snapshot lists them.
    if (put.length > 0) d.pools = put.sort((a, b) => a.seq - b.seq);
    if (idents.length > 0) d.identities = idents.sort((a, b) => a.seq - b.seq);
    if (gone.length > 0) d.removedPools = gone;
    if (goneIdents.length > 0) d.removedIdentities = goneIdents;
    return d;
  }

  /**
   * Applies a logged {@link delta} (read back from the state file): its records replace those of
   * the same ids, new ones are added after the others, removed ones go with their indexes (a
   * removed pool with its identities).
   * @throws Error when `d` is not in the form {@link delta} gives.
   */
  apply(d: ServiceDelta): void {
    const list = (v: unknown): unknown[] => {
      if (v === undefined) return [];
      if (!Array.isArray(v)) throw new Error('a logged change is not in the expected form');
      return v as unknown[];
    };
    if (typeof d !== 'object' || typeof d.seq !== 'number')
      throw new Error('a logged change is not in the expected form');
    this.#seq = Math.max(this.#seq, d.seq);
    for (const rec of list(d.pools) as PoolRecord[]) {
      const old = this.pools.get(rec.id);
      this.pools.set(rec.id, {
        ...rec,
        identities: old?.identities ?? new Map<string, Identity>(),
        devIndex: old?.devIndex ?? new Map<string, string>(),
        loginIndex: old?.loginIndex ?? new Map<string, string>(),
      });
    }
    for (const ident of list(d.identities) as IdentityRecord[]) {
      const pool = this.pools.get(ident.poolId);
      // As when restoring a snapshot: an identity of a pool that is gone is dropped.
      if (pool === undefined) continue;
      const old = this.identities.get(ident.id);
      // Map.set on a known id keeps its place: pools list their identities in creation order.
      if (old !== undefined) unindex(pool, old);
      this.identities.set(ident.id, ident);
      pool.identities.set(ident.id, ident);
      index(pool, ident);
    }
    for (const id of list(d.removedIdentities) as string[]) {
      const ident = this.identities.get(id);
      if (ident !== undefined) this.remove(ident);
    }
    for (const id of list(d.removedPools) as string[]) {
      const pool = this.pools.get(id);
      if (pool === undefined) continue;
      for (const ident of pool.identities.keys()) this.identities.delete(ident);
      this.pools.delete(id);
    }
  }

  #restore(s: ServiceSnapshot): void {
    if (typeof s !== 'object' || !Array.isArray(s.pools) || !Array.isArray(s.identities)) {
      throw new Error('state file: the service state is not in the expected form');
    }
    this.#seq = typeof s.seq === 'number' ? s.seq : 0;
    for (const rec of s.pools) {
      this.pools.set(rec.id, { ...rec, identities: new Map(), devIndex: new Map(), loginIndex: new Map() });
    }
    for (const ident of s.identities) {
      const pool = this.pools.get(ident.poolId);
      if (pool === undefined) continue;
      this.identities.set(ident.id, ident);
      pool.identities.set(ident.id, ident);
      index(pool, ident);
    }
  }

  /** Reports a change of state, naming the records it touched (schedules a save of them). */
  changed(change: StateChange): void {
    this.#onChange(change);
  }

  /** The next creation sequence number (pools and identities are listed in this order). */
  nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  /** The pool's ARN, as tags address it. */
  poolArn(poolId: string): string {
    return `${this.poolArnPrefix()}${poolId}`;
  }

  /** The ARN of a pool without its id. */
  poolArnPrefix(): string {
    return `arn:${arnPartition(this.region)}:cognito-identity:${this.region}:${this.accountId}:identitypool/`;
  }

  /**
   * The pool with this id, or a ResourceNotFoundException. The id is typed as the model says; a JSON
   * `null` (which validation lets through for optional members) finds nothing.
   */
  pool(id: string): Pool {
    const pool = this.pools.get(id);
    if (pool === undefined) throw new ServiceError('ResourceNotFoundException', `IdentityPool '${id}' not found.`);
    return pool;
  }

  /** The identity with this id, or a ResourceNotFoundException. */
  identity(id: string): Identity {
    const ident = this.identities.get(id);
    if (ident === undefined) throw new ServiceError('ResourceNotFoundException', `Identity '${id}' not found.`);
    return ident;
  }

  /** The identity with this id if it may still be used, else NotAuthorizedException. */
  usable(id: string): Identity {
    const ident = this.identity(id);
    if (ident.disabled)
      throw new ServiceError('NotAuthorizedException', `Access to Identity '${ident.id}' is forbidden.`);
    return ident;
  }

  poolOf(ident: Identity): Pool {
    return this.pool(ident.poolId);
  }

  newIdentity(pool: Pool): Identity {
    const now = this.now();
    const ident: Identity = {
      id: `${this.region}:${randomUUID()}`,
      poolId: pool.id,
      seq: this.nextSeq(),
      createdMs: now,
      modifiedMs: now,
      disabled: false,
      devUsers: [],
      logins: {},
    };
    this.identities.set(ident.id, ident);
    pool.identities.set(ident.id, ident);
    return ident;
  }

  /** Removes an identity and its index entries. */
  remove(ident: Identity): void {
    const pool = this.pools.get(ident.poolId);
    if (pool !== undefined) {
      unindex(pool, ident);
      pool.identities.delete(ident.id);
    }
    this.identities.delete(ident.id);
  }
}

/** A pool's record without its in-memory indexes: what the state file keeps. */
function poolRecord(p: Pool): PoolRecord {
  const rec: PoolRecord & Partial<Pick<Pool, 'identities' | 'devIndex' | 'loginIndex'>> = { ...p };
  delete rec.identities;
  delete rec.devIndex;
  delete rec.loginIndex;
  return rec;
}

/** Adds an identity's developer users and logins to its pool's indexes. */
function index(pool: Pool, ident: Identity): void {
  for (const u of ident.devUsers) pool.devIndex.set(u, ident.id);
  for (const [p, sub] of Object.entries(ident.logins)) pool.loginIndex.set(loginKey(p, sub), ident.id);
}

/** Removes an identity's developer users and logins from its pool's indexes (those still its own). */
function unindex(pool: Pool, ident: Identity): void {
  for (const u of ident.devUsers) if (pool.devIndex.get(u) === ident.id) pool.devIndex.delete(u);
  for (const [p, s] of Object.entries(ident.logins)) {
    const k = loginKey(p, s);
    if (pool.loginIndex.get(k) === ident.id) pool.loginIndex.delete(k);
  }
}

/** The provider names of an identity's logins (the developer provider once for all its users). */
export function loginNames(pool: Pool, ident: Identity): string[] {
  const names: string[] = [];
  if (ident.devUsers.length > 0 && pool.developerProviderName !== undefined) names.push(pool.developerProviderName);
  names.push(...Object.keys(ident.logins));
  return names;
}

export function linkedCount(ident: Identity): number {
  return ident.devUsers.length + Object.keys(ident.logins).length;
}

export function isAuthenticated(ident: Identity): boolean {
  return linkedCount(ident) > 0;
}
