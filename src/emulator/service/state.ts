import { randomUUID } from 'node:crypto';
import type { CognitoIdentityProvider, RoleMapping } from '../model/shapes.js';
import { ServiceError } from '../service-error.js';
import { CredentialIssuer } from '../session-token.js';
import { arnPartition, cognitoIssuer, type TokenSigner } from '../tokens.js';
import { OpenIdTokenSigner } from './openid-token.js';

/** The 12-digit account id the emulator's ARNs use. */
export const EMULATOR_ACCOUNT_ID = '123456789012';

/** Most logins (developer users and public logins) linked to one identity. */
export const MAX_LINKED_LOGINS = 20;

export const LOGINS_DONT_MATCH =
  "Logins don't match. Please include at least one valid login for this identity or identity pool.";
export const UNAUTH_NOT_SUPPORTED = 'Unauthenticated access is not supported for this identity pool.';

/** A role mapping as stored: the API's shape. */
export type { RoleMapping };

/** A pool as stored (and persisted). */
export interface PoolRecord {
  id: string;
  seq: number;
  name: string;
  allowUnauth: boolean;
  allowClassic?: boolean;
  supportedLoginProviders: Record<string, string>;
  developerProviderName?: string;
  openIdConnectProviderARNs?: string[];
  cognitoIdentityProviders?: CognitoIdentityProvider[];
  samlProviderARNs?: string[];
  tags: Record<string, string>;
  roles: Record<string, string>;
  roleMappings: Record<string, RoleMapping>;
  principalTagMaps: Record<string, { useDefaults: boolean; principalTags: Record<string, string> }>;
  createdMs: number;
}

/** An identity as stored (and persisted). */
export interface IdentityRecord {
  id: string;
  poolId: string;
  seq: number;
  createdMs: number;
  modifiedMs: number;
  /** Merged away or left without logins: every further use is refused. */
  disabled: boolean;
  /** Developer user identifiers under the pool's developer provider. */
  devUsers: string[];
  /** Public provider name → the provider's user id (token subject). */
  logins: Record<string, string>;
}

/** The persisted part of the service state. */
export interface ServiceSnapshot {
  seq: number;
  pools: PoolRecord[];
  identities: IdentityRecord[];
}

/** A pool in memory: its record plus the indexes over its identities. */
export interface Pool extends PoolRecord {
  identities: Map<string, Identity>;
  /** Developer user id → identity id. */
  devIndex: Map<string, string>;
  /** `provider\0subject` → identity id. */
  loginIndex: Map<string, string>;
}

export type Identity = IdentityRecord;

/** Options of {@link ServiceState}. */
export interface ServiceOptions {
  readonly region: string;
  readonly signer: TokenSigner;
  /** Verifies provider tokens (shared by every region, as the providers are global). Default `signer`. */
  readonly providerSigner?: TokenSigner;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Called after every change of state (to schedule a save). */
  readonly onChange?: () => void;
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

export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
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
  readonly #onChange: () => void;
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
    for (const p of this.pools.values()) {
      const rec: PoolRecord & Partial<Pick<Pool, 'identities' | 'devIndex' | 'loginIndex'>> = { ...p };
      delete rec.identities;
      delete rec.devIndex;
      delete rec.loginIndex;
      pools.push(rec);
    }
    return { seq: this.#seq, pools, identities: [...this.identities.values()] };
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
      for (const u of ident.devUsers) pool.devIndex.set(u, ident.id);
      for (const [p, sub] of Object.entries(ident.logins)) pool.loginIndex.set(loginKey(p, sub), ident.id);
    }
  }

  /** Reports a change of state (schedules a save). */
  changed(): void {
    this.#onChange();
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
      for (const u of ident.devUsers) if (pool.devIndex.get(u) === ident.id) pool.devIndex.delete(u);
      for (const [p, s] of Object.entries(ident.logins)) {
        const k = loginKey(p, s);
        if (pool.loginIndex.get(k) === ident.id) pool.loginIndex.delete(k);
      }
      pool.identities.delete(ident.id);
    }
    this.identities.delete(ident.id);
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
