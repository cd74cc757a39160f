import { randomUUID } from 'node:crypto';
import { issueCredentials } from './credentials.js';
import { ServiceError } from './service-error.js';
import { cognitoIssuer, verifyProviderToken, type TokenSigner } from './tokens.js';

/** The 12-digit account id the emulator's ARNs use. */
export const EMULATOR_ACCOUNT_ID = '123456789012';

/** Most identity pools per account (the service's default quota). */
const MAX_POOLS = 1000;
/** Most logins (developer users and public logins) linked to one identity. */
const MAX_LINKED_LOGINS = 20;
/** Most tags on one pool. */
const MAX_TAGS = 50;
/** The OpenID token lifetime of GetOpenIdToken, and the default of GetOpenIdTokenForDeveloperIdentity. */
const DEFAULT_TOKEN_SECONDS = 900;
/** Most tokens kept for reuse within one second. */
const TOKEN_CACHE_MAX = 10_000;
const TAGS_CLAIM = 'https://aws.amazon.com/tags';
const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

const LOGINS_DONT_MATCH =
  "Logins don't match. Please include at least one valid login for this identity or identity pool.";
const UNAUTH_NOT_SUPPORTED = 'Unauthenticated access is not supported for this identity pool.';
const BAD_ROLES = 'Invalid identity pool configuration. Check assigned IAM roles for this pool.';

/** A role mapping as the API shapes it. */
export interface RoleMapping {
  Type: string;
  AmbiguousRoleResolution?: string;
  RulesConfiguration?: { Rules: { Claim: string; MatchType: string; Value: string; RoleARN: string }[] };
}

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
  cognitoIdentityProviders?: Record<string, unknown>[];
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

interface Pool extends PoolRecord {
  identities: Map<string, Identity>;
  /** Developer user id → identity id. */
  devIndex: Map<string, string>;
  /** `provider\0subject` → identity id. */
  loginIndex: Map<string, string>;
}

type Identity = IdentityRecord;

/** A parsed Logins map. */
interface ParsedLogins {
  dev?: string;
  publics: { provider: string; subject: string; token: string }[];
  cognito?: { token: string; claims: Record<string, unknown> };
}

type Input = Record<string, unknown>;
type Handler = (input: Input) => unknown;

/** Options of {@link CognitoIdentityService}. */
export interface ServiceOptions {
  readonly region: string;
  readonly signer: TokenSigner;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Called after every change of state (to schedule a save). */
  readonly onChange?: () => void;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strMap(v: unknown): Record<string, string> {
  return typeof v === 'object' && v !== null ? (v as Record<string, string>) : {};
}

function loginKey(provider: string, subject: string): string {
  return `${provider}\u0000${subject}`;
}

function encodeToken(cursor: number, scope: string): string {
  return Buffer.from(JSON.stringify({ c: cursor, s: scope })).toString('base64url');
}

function decodeToken(nextToken: unknown, scope: string): number {
  if (nextToken === undefined) return 0;
  try {
    const v = JSON.parse(Buffer.from(str(nextToken) ?? '', 'base64url').toString('utf8')) as {
      c?: unknown;
      s?: unknown;
    };
    if (typeof v.c === 'number' && Number.isInteger(v.c) && v.c >= 0 && v.s === scope) return v.c;
  } catch {
    // fall through
  }
  throw new ServiceError('InvalidParameterException', 'The pagination token is invalid.');
}

function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/**
 * The in-memory Cognito Identity service: pools, identities, developer users, linked logins, roles,
 * role mappings, principal-tag maps and tags, with the 23 operations of the API. Every handler takes
 * the validated JSON input and returns the JSON output, or throws a {@link ServiceError}.
 */
export class CognitoIdentityService {
  readonly region: string;
  readonly accountId = EMULATOR_ACCOUNT_ID;
  readonly #signer: TokenSigner;
  readonly #now: () => number;
  readonly #onChange: () => void;
  readonly #issuer: string;
  /** The Logins key of Cognito's own OpenID tokens. */
  readonly cognitoLoginKey: string;
  readonly #pools = new Map<string, Pool>();
  readonly #identities = new Map<string, Identity>();
  #seq = 0;
  /**
   * Tokens signed during the current second, by claims. RS512 (PKCS#1 v1.5) signatures are
   * deterministic, so the same claims give the same token: reusing it changes nothing on the wire
   * and saves the RSA signature on repeated calls for one user.
   */
  #tokenCache = new Map<string, string>();
  #tokenCacheSecond = -1;
  /** Operation name → handler. */
  readonly handlers: Readonly<Record<string, Handler>>;

  constructor(options: ServiceOptions, snapshot?: ServiceSnapshot) {
    this.region = options.region;
    this.#signer = options.signer;
    this.#now = options.now;
    this.#onChange = options.onChange ?? (() => undefined);
    this.#issuer = cognitoIssuer(options.region);
    this.cognitoLoginKey = options.region.startsWith('cn-')
      ? `cognito-identity.${options.region}.amazonaws.com.cn`
      : 'cognito-identity.amazonaws.com';
    if (snapshot !== undefined) this.#restore(snapshot);
    this.handlers = {
      CreateIdentityPool: (i) => this.createIdentityPool(i),
      DeleteIdentities: (i) => this.deleteIdentities(i),
      DeleteIdentityPool: (i) => this.deleteIdentityPool(i),
      DescribeIdentity: (i) => this.describeIdentity(i),
      DescribeIdentityPool: (i) => this.describeIdentityPool(i),
      GetCredentialsForIdentity: (i) => this.getCredentialsForIdentity(i),
      GetId: (i) => this.getId(i),
      GetIdentityPoolRoles: (i) => this.getIdentityPoolRoles(i),
      GetOpenIdToken: (i) => this.getOpenIdToken(i),
      GetOpenIdTokenForDeveloperIdentity: (i) => this.getOpenIdTokenForDeveloperIdentity(i),
      GetPrincipalTagAttributeMap: (i) => this.getPrincipalTagAttributeMap(i),
      ListIdentities: (i) => this.listIdentities(i),
      ListIdentityPools: (i) => this.listIdentityPools(i),
      ListTagsForResource: (i) => this.listTagsForResource(i),
      LookupDeveloperIdentity: (i) => this.lookupDeveloperIdentity(i),
      MergeDeveloperIdentities: (i) => this.mergeDeveloperIdentities(i),
      SetIdentityPoolRoles: (i) => this.setIdentityPoolRoles(i),
      SetPrincipalTagAttributeMap: (i) => this.setPrincipalTagAttributeMap(i),
      TagResource: (i) => this.tagResource(i),
      UnlinkDeveloperIdentity: (i) => this.unlinkDeveloperIdentity(i),
      UnlinkIdentity: (i) => this.unlinkIdentity(i),
      UntagResource: (i) => this.untagResource(i),
      UpdateIdentityPool: (i) => this.updateIdentityPool(i),
    };
  }

  // ---------------------------------------------------------------- state

  /** The persisted state (plain JSON). */
  snapshot(): ServiceSnapshot {
    const pools: PoolRecord[] = [];
    for (const p of this.#pools.values()) {
      const rec: PoolRecord & Partial<Pick<Pool, 'identities' | 'devIndex' | 'loginIndex'>> = { ...p };
      delete rec.identities;
      delete rec.devIndex;
      delete rec.loginIndex;
      pools.push(rec);
    }
    return { seq: this.#seq, pools, identities: [...this.#identities.values()] };
  }

  #restore(s: ServiceSnapshot): void {
    if (typeof s !== 'object' || !Array.isArray(s.pools) || !Array.isArray(s.identities)) {
      throw new Error('state file: the service state is not in the expected form');
    }
    this.#seq = typeof s.seq === 'number' ? s.seq : 0;
    for (const rec of s.pools) {
      this.#pools.set(rec.id, { ...rec, identities: new Map(), devIndex: new Map(), loginIndex: new Map() });
    }
    for (const ident of s.identities) {
      const pool = this.#pools.get(ident.poolId);
      if (pool === undefined) continue;
      this.#identities.set(ident.id, ident);
      pool.identities.set(ident.id, ident);
      for (const u of ident.devUsers) pool.devIndex.set(u, ident.id);
      for (const [p, sub] of Object.entries(ident.logins)) pool.loginIndex.set(loginKey(p, sub), ident.id);
    }
  }

  #changed(): void {
    this.#onChange();
  }

  #nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  /** All pools, in creation order. */
  listPools(): readonly PoolRecord[] {
    return [...this.#pools.values()];
  }

  /** The pool's ARN, as tags address it. */
  poolArn(poolId: string): string {
    return `arn:aws:cognito-identity:${this.region}:${this.accountId}:identitypool/${poolId}`;
  }

  /** The pool with this id, or a ResourceNotFoundException. */
  #pool(id: unknown): Pool {
    const pool = this.#pools.get(str(id) ?? '');
    if (pool === undefined)
      throw new ServiceError('ResourceNotFoundException', `IdentityPool '${String(id)}' not found.`);
    return pool;
  }

  #identity(id: unknown): Identity {
    const ident = this.#identities.get(str(id) ?? '');
    if (ident === undefined) throw new ServiceError('ResourceNotFoundException', `Identity '${String(id)}' not found.`);
    return ident;
  }

  #usable(id: unknown): Identity {
    const ident = this.#identity(id);
    if (ident.disabled)
      throw new ServiceError('NotAuthorizedException', `Access to Identity '${ident.id}' is forbidden.`);
    return ident;
  }

  #poolOf(ident: Identity): Pool {
    return this.#pool(ident.poolId);
  }

  #newIdentity(pool: Pool): Identity {
    const now = this.#now();
    const ident: Identity = {
      id: `${this.region}:${randomUUID()}`,
      poolId: pool.id,
      seq: this.#nextSeq(),
      createdMs: now,
      modifiedMs: now,
      disabled: false,
      devUsers: [],
      logins: {},
    };
    this.#identities.set(ident.id, ident);
    pool.identities.set(ident.id, ident);
    return ident;
  }

  #loginNames(pool: Pool, ident: Identity): string[] {
    const names: string[] = [];
    if (ident.devUsers.length > 0 && pool.developerProviderName !== undefined) names.push(pool.developerProviderName);
    names.push(...Object.keys(ident.logins));
    return names;
  }

  #linkedCount(ident: Identity): number {
    return ident.devUsers.length + Object.keys(ident.logins).length;
  }

  #isAuthenticated(ident: Identity): boolean {
    return this.#linkedCount(ident) > 0;
  }

  // ---------------------------------------------------------------- logins and tokens

  /**
   * Parses and verifies a Logins map. Public provider tokens must be emulator-minted for the app id
   * the pool configured; Cognito tokens must be signed by this emulator, unexpired, for `forIdentity`.
   */
  #parseLogins(
    pool: Pool,
    logins: Record<string, string>,
    allow: { dev: boolean; cognito: boolean },
    forIdentity?: Identity,
  ): ParsedLogins {
    const parsed: ParsedLogins = { publics: [] };
    const devKeys: string[] = [];
    for (const [provider, token] of Object.entries(logins)) {
      if (provider === this.cognitoLoginKey) {
        if (!allow.cognito || forIdentity === undefined) {
          throw new ServiceError('NotAuthorizedException', "Invalid login token. Can't pass in a Cognito token.");
        }
        parsed.cognito = { token, claims: this.#verifyCognitoToken(token, forIdentity) };
        continue;
      }
      const appId = pool.supportedLoginProviders[provider];
      if (appId !== undefined) {
        const v = verifyProviderToken(this.#signer, token, provider, appId, this.#now());
        if (!v.ok) throw new ServiceError('NotAuthorizedException', `Invalid login token. ${v.reason}.`);
        parsed.publics.push({ provider, subject: v.subject, token });
        continue;
      }
      if (!allow.dev) {
        throw new ServiceError(
          'NotAuthorizedException',
          'Token is not from a supported provider of this identity pool.',
        );
      }
      devKeys.push(provider);
    }
    if (allow.dev) {
      if (devKeys.length > 1) {
        throw new ServiceError(
          'InvalidParameterException',
          'Only one developer provider is allowed in the Logins map.',
        );
      }
      const devKey = devKeys[0];
      if (devKey === undefined) {
        throw new ServiceError(
          'InvalidParameterException',
          'The Logins map must contain the developer provider of the identity pool.',
        );
      }
      if (devKey !== pool.developerProviderName) {
        throw new ServiceError(
          'NotAuthorizedException',
          'This identity pool does not support the specified developer provider.',
        );
      }
      parsed.dev = logins[devKey];
    }
    return parsed;
  }

  /** Checks a Cognito OpenID token for an identity; returns its claims. */
  #verifyCognitoToken(token: string, ident: Identity): Record<string, unknown> {
    const v = this.#signer.verify(token);
    if (!v.ok) throw new ServiceError('NotAuthorizedException', `Invalid login token. ${v.reason}.`);
    const c = v.claims;
    if (c.iss !== this.#issuer)
      throw new ServiceError('NotAuthorizedException', "Invalid login token. Issuer doesn't match providerName");
    const nowSec = this.#now() / 1000;
    if (typeof c.exp !== 'number' || c.exp <= nowSec) {
      throw new ServiceError(
        'NotAuthorizedException',
        `Invalid login token. Token expired: ${Math.floor(nowSec)} >= ${String(c.exp)}`,
      );
    }
    if (c.aud !== ident.poolId)
      throw new ServiceError('NotAuthorizedException', 'Invalid login token. Incorrect audience.');
    if (c.sub !== ident.id)
      throw new ServiceError('NotAuthorizedException', 'Invalid login token. The token is for another identity.');
    return c;
  }

  #amrEntry(pool: Pool, provider: string, userId: string): string {
    const guid = pool.id.slice(pool.id.indexOf(':') + 1);
    return `${provider}:${this.region}:${guid}:${userId}`;
  }

  #signToken(
    pool: Pool,
    ident: Identity,
    amr: string[],
    durationSeconds: number,
    principalTags?: Record<string, string>,
  ): string {
    const iat = epochSeconds(this.#now());
    const claims: Record<string, unknown> = {
      sub: ident.id,
      aud: pool.id,
      amr,
      iss: this.#issuer,
      exp: iat + durationSeconds,
      iat,
    };
    if (principalTags !== undefined && Object.keys(principalTags).length > 0) {
      const tags: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(principalTags)) tags[k] = [v];
      claims[TAGS_CLAIM] = { principal_tags: tags };
    }
    if (iat !== this.#tokenCacheSecond || this.#tokenCache.size >= TOKEN_CACHE_MAX) {
      this.#tokenCache = new Map();
      this.#tokenCacheSecond = iat;
    }
    const key = JSON.stringify(claims);
    const cached = this.#tokenCache.get(key);
    if (cached !== undefined) return cached;
    const signed = this.#signer.sign(claims, { issuer: this.#issuer });
    this.#tokenCache.set(key, signed);
    return signed;
  }

  /**
   * Links the given developer user and public logins to `ident`, or throws the service's conflict
   * errors without changing anything.
   */
  #link(pool: Pool, ident: Identity, dev: string | undefined, publics: ParsedLogins['publics']): boolean {
    let added = 0;
    if (dev !== undefined) {
      const owner = pool.devIndex.get(dev);
      if (owner !== undefined && owner !== ident.id) {
        throw new ServiceError(
          'DeveloperUserAlreadyRegisteredException',
          'The provided developer user identifier is already registered with Cognito under a different identity ID.',
        );
      }
      if (owner === undefined) added += 1;
    }
    for (const p of publics) {
      const owner = pool.loginIndex.get(loginKey(p.provider, p.subject));
      if (owner !== undefined && owner !== ident.id) {
        throw new ServiceError(
          'ResourceConflictException',
          `The login for '${p.provider}' is already linked to another identity.`,
        );
      }
      const existing = ident.logins[p.provider];
      if (existing !== undefined && existing !== p.subject) {
        throw new ServiceError(
          'ResourceConflictException',
          `The identity is already linked to another '${p.provider}' user.`,
        );
      }
      if (existing === undefined) added += 1;
    }
    if (added === 0) return false;
    if (this.#linkedCount(ident) + added > MAX_LINKED_LOGINS) {
      throw new ServiceError(
        'LimitExceededException',
        `An identity can have at most ${MAX_LINKED_LOGINS} linked logins.`,
      );
    }
    if (dev !== undefined && !pool.devIndex.has(dev)) {
      ident.devUsers.push(dev);
      pool.devIndex.set(dev, ident.id);
    }
    for (const p of publics) {
      if (ident.logins[p.provider] === undefined) {
        ident.logins[p.provider] = p.subject;
        pool.loginIndex.set(loginKey(p.provider, p.subject), ident.id);
      }
    }
    ident.modifiedMs = this.#now();
    return true;
  }

  /** The one identity the given logins already belong to, if any; a conflict when they disagree. */
  #ownerOf(pool: Pool, dev: string | undefined, publics: ParsedLogins['publics']): Identity | undefined {
    let owner: string | undefined = dev === undefined ? undefined : pool.devIndex.get(dev);
    for (const p of publics) {
      const o = pool.loginIndex.get(loginKey(p.provider, p.subject));
      if (o === undefined) continue;
      if (owner !== undefined && o !== owner) {
        throw new ServiceError(
          'ResourceConflictException',
          `The login for '${p.provider}' is already linked to another identity.`,
        );
      }
      owner = o;
    }
    return owner === undefined ? undefined : this.#identities.get(owner);
  }

  // ---------------------------------------------------------------- pools

  #poolOut(pool: Pool): Record<string, unknown> {
    const out: Record<string, unknown> = {
      IdentityPoolId: pool.id,
      IdentityPoolName: pool.name,
      AllowUnauthenticatedIdentities: pool.allowUnauth,
      AllowClassicFlow: pool.allowClassic ?? false,
      SupportedLoginProviders: pool.supportedLoginProviders,
      IdentityPoolTags: pool.tags,
    };
    if (pool.developerProviderName !== undefined) out.DeveloperProviderName = pool.developerProviderName;
    if (pool.openIdConnectProviderARNs !== undefined) out.OpenIdConnectProviderARNs = pool.openIdConnectProviderARNs;
    if (pool.cognitoIdentityProviders !== undefined) out.CognitoIdentityProviders = pool.cognitoIdentityProviders;
    if (pool.samlProviderARNs !== undefined) out.SamlProviderARNs = pool.samlProviderARNs;
    return out;
  }

  #checkTags(tags: Record<string, string>): void {
    if (Object.keys(tags).length > MAX_TAGS) {
      throw new ServiceError('InvalidParameterException', `An identity pool can have at most ${MAX_TAGS} tags.`);
    }
    for (const k of Object.keys(tags)) {
      if (k.toLowerCase().startsWith('aws:')) {
        throw new ServiceError('InvalidParameterException', "Tag keys must not start with 'aws:'.");
      }
    }
  }

  #applyPoolFields(pool: PoolRecord, input: Input): void {
    pool.name = str(input.IdentityPoolName) ?? pool.name;
    pool.allowUnauth = input.AllowUnauthenticatedIdentities === true;
    if (typeof input.AllowClassicFlow === 'boolean') pool.allowClassic = input.AllowClassicFlow;
    const providers = { ...strMap(input.SupportedLoginProviders) };
    const dev = str(input.DeveloperProviderName);
    for (const k of Object.keys(providers)) {
      if (k === this.cognitoLoginKey || k === dev) {
        throw new ServiceError('InvalidParameterException', `'${k}' cannot be used as a supported login provider.`);
      }
    }
    if (dev !== undefined) {
      if (dev === this.cognitoLoginKey) {
        throw new ServiceError('InvalidParameterException', 'The developer provider name is reserved.');
      }
      if (pool.developerProviderName !== undefined && pool.developerProviderName !== dev) {
        throw new ServiceError('InvalidParameterException', 'The developer provider name cannot be changed once set.');
      }
      pool.developerProviderName = dev;
    }
    pool.supportedLoginProviders = providers;
    pool.openIdConnectProviderARNs = Array.isArray(input.OpenIdConnectProviderARNs)
      ? [...(input.OpenIdConnectProviderARNs as string[])]
      : undefined;
    pool.cognitoIdentityProviders = Array.isArray(input.CognitoIdentityProviders)
      ? (input.CognitoIdentityProviders as Record<string, unknown>[]).map((p) => ({
          ServerSideTokenCheck: false,
          ...p,
        }))
      : undefined;
    pool.samlProviderARNs = Array.isArray(input.SamlProviderARNs)
      ? [...(input.SamlProviderARNs as string[])]
      : undefined;
    if (pool.openIdConnectProviderARNs === undefined) delete pool.openIdConnectProviderARNs;
    if (pool.cognitoIdentityProviders === undefined) delete pool.cognitoIdentityProviders;
    if (pool.samlProviderARNs === undefined) delete pool.samlProviderARNs;
  }

  /** CreateIdentityPool. */
  createIdentityPool(input: Input): unknown {
    if (this.#pools.size >= MAX_POOLS) {
      throw new ServiceError('LimitExceededException', `An account can have at most ${MAX_POOLS} identity pools.`);
    }
    const tags = { ...strMap(input.IdentityPoolTags) };
    this.#checkTags(tags);
    const rec: PoolRecord = {
      id: `${this.region}:${randomUUID()}`,
      seq: this.#nextSeq(),
      name: '',
      allowUnauth: false,
      supportedLoginProviders: {},
      tags,
      roles: {},
      roleMappings: {},
      principalTagMaps: {},
      createdMs: this.#now(),
    };
    this.#applyPoolFields(rec, input);
    const pool: Pool = { ...rec, identities: new Map(), devIndex: new Map(), loginIndex: new Map() };
    this.#pools.set(pool.id, pool);
    this.#changed();
    return this.#poolOut(pool);
  }

  /** UpdateIdentityPool: replaces the pool's configuration (tags only when given). */
  updateIdentityPool(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    const draft: PoolRecord = { ...pool, supportedLoginProviders: { ...pool.supportedLoginProviders } };
    this.#applyPoolFields(draft, input);
    let tags = pool.tags;
    if (input.IdentityPoolTags !== undefined) {
      tags = { ...strMap(input.IdentityPoolTags) };
      this.#checkTags(tags);
    }
    pool.name = draft.name;
    pool.allowUnauth = draft.allowUnauth;
    pool.allowClassic = draft.allowClassic;
    pool.supportedLoginProviders = draft.supportedLoginProviders;
    pool.developerProviderName = draft.developerProviderName;
    pool.openIdConnectProviderARNs = draft.openIdConnectProviderARNs;
    pool.cognitoIdentityProviders = draft.cognitoIdentityProviders;
    pool.samlProviderARNs = draft.samlProviderARNs;
    pool.tags = tags;
    this.#changed();
    return this.#poolOut(pool);
  }

  /** DeleteIdentityPool: the pool and all of its identities. */
  deleteIdentityPool(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    for (const id of pool.identities.keys()) this.#identities.delete(id);
    this.#pools.delete(pool.id);
    this.#changed();
    return {};
  }

  /** DescribeIdentityPool. */
  describeIdentityPool(input: Input): unknown {
    return this.#poolOut(this.#pool(input.IdentityPoolId));
  }

  /** ListIdentityPools, paged in creation order. */
  listIdentityPools(input: Input): unknown {
    const max = input.MaxResults as number;
    const after = decodeToken(input.NextToken, 'pools');
    const page: Record<string, unknown>[] = [];
    let last = 0;
    let more = false;
    for (const p of this.#pools.values()) {
      if (p.seq <= after) continue;
      if (page.length === max) {
        more = true;
        break;
      }
      page.push({ IdentityPoolId: p.id, IdentityPoolName: p.name });
      last = p.seq;
    }
    const out: Record<string, unknown> = { IdentityPools: page };
    if (more) out.NextToken = encodeToken(last, 'pools');
    return out;
  }

  /** GetIdentityPoolRoles. */
  getIdentityPoolRoles(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    const out: Record<string, unknown> = { IdentityPoolId: pool.id, Roles: pool.roles };
    if (Object.keys(pool.roleMappings).length > 0) out.RoleMappings = pool.roleMappings;
    return out;
  }

  /** SetIdentityPoolRoles: replaces roles and role mappings. */
  setIdentityPoolRoles(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    const roles = { ...strMap(input.Roles) };
    for (const arn of Object.values(roles)) {
      if (!ROLE_ARN.test(arn)) throw new ServiceError('InvalidParameterException', `Invalid role ARN: ${arn}`);
    }
    const mappings = (input.RoleMappings ?? {}) as Record<string, RoleMapping>;
    for (const [provider, m] of Object.entries(mappings)) {
      if (m.AmbiguousRoleResolution === undefined) {
        throw new ServiceError(
          'InvalidParameterException',
          `AmbiguousRoleResolution must be specified for the role mapping of '${provider}'.`,
        );
      }
      if (m.Type === 'Rules' && m.RulesConfiguration === undefined) {
        throw new ServiceError(
          'InvalidParameterException',
          `RulesConfiguration must be specified for the Rules role mapping of '${provider}'.`,
        );
      }
      if (m.Type === 'Token' && m.RulesConfiguration !== undefined) {
        throw new ServiceError(
          'InvalidParameterException',
          `RulesConfiguration is not allowed for the Token role mapping of '${provider}'.`,
        );
      }
      for (const r of m.RulesConfiguration?.Rules ?? []) {
        if (!ROLE_ARN.test(r.RoleARN))
          throw new ServiceError('InvalidParameterException', `Invalid role ARN: ${r.RoleARN}`);
      }
    }
    pool.roles = roles;
    pool.roleMappings = structuredClone(mappings);
    this.#changed();
    return {};
  }

  /** GetPrincipalTagAttributeMap (UseDefaults false and no tags until one is set). */
  getPrincipalTagAttributeMap(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    const name = str(input.IdentityProviderName) ?? '';
    const m = pool.principalTagMaps[name];
    return {
      IdentityPoolId: pool.id,
      IdentityProviderName: name,
      UseDefaults: m?.useDefaults ?? false,
      PrincipalTags: m?.principalTags ?? {},
    };
  }

  /** SetPrincipalTagAttributeMap. */
  setPrincipalTagAttributeMap(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    const name = str(input.IdentityProviderName) ?? '';
    const entry = { useDefaults: input.UseDefaults === true, principalTags: { ...strMap(input.PrincipalTags) } };
    pool.principalTagMaps[name] = entry;
    this.#changed();
    return {
      IdentityPoolId: pool.id,
      IdentityProviderName: name,
      UseDefaults: entry.useDefaults,
      PrincipalTags: entry.principalTags,
    };
  }

  // ---------------------------------------------------------------- tags

  #poolByArn(arn: unknown): Pool {
    const s = str(arn) ?? '';
    const prefix = `arn:aws:cognito-identity:${this.region}:${this.accountId}:identitypool/`;
    const pool = s.startsWith(prefix) ? this.#pools.get(s.slice(prefix.length)) : undefined;
    if (pool === undefined) throw new ServiceError('ResourceNotFoundException', `Resource '${s}' not found.`);
    return pool;
  }

  /** TagResource: adds or replaces tags. */
  tagResource(input: Input): unknown {
    const pool = this.#poolByArn(input.ResourceArn);
    const tags = { ...pool.tags, ...strMap(input.Tags) };
    this.#checkTags(tags);
    pool.tags = tags;
    this.#changed();
    return {};
  }

  /** UntagResource. */
  untagResource(input: Input): unknown {
    const pool = this.#poolByArn(input.ResourceArn);
    const remove = new Set((input.TagKeys ?? []) as string[]);
    pool.tags = Object.fromEntries(Object.entries(pool.tags).filter(([k]) => !remove.has(k)));
    this.#changed();
    return {};
  }

  /** ListTagsForResource. */
  listTagsForResource(input: Input): unknown {
    return { Tags: this.#poolByArn(input.ResourceArn).tags };
  }

  // ---------------------------------------------------------------- identities

  #describe(pool: Pool, ident: Identity): Record<string, unknown> {
    return {
      IdentityId: ident.id,
      Logins: this.#loginNames(pool, ident),
      CreationDate: ident.createdMs / 1000,
      LastModifiedDate: ident.modifiedMs / 1000,
    };
  }

  /** DescribeIdentity. */
  describeIdentity(input: Input): unknown {
    const ident = this.#identity(input.IdentityId);
    return this.#describe(this.#poolOf(ident), ident);
  }

  /** ListIdentities, paged in creation order; HideDisabled hides merged and login-less identities. */
  listIdentities(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    const max = input.MaxResults as number;
    const hide = input.HideDisabled === true;
    const after = decodeToken(input.NextToken, pool.id);
    const page: Record<string, unknown>[] = [];
    let last = 0;
    let more = false;
    for (const ident of pool.identities.values()) {
      if (ident.seq <= after || (hide && ident.disabled)) continue;
      if (page.length === max) {
        more = true;
        break;
      }
      page.push(this.#describe(pool, ident));
      last = ident.seq;
    }
    const out: Record<string, unknown> = { IdentityPoolId: pool.id, Identities: page };
    if (more) out.NextToken = encodeToken(last, pool.id);
    return out;
  }

  #remove(ident: Identity): void {
    const pool = this.#pools.get(ident.poolId);
    if (pool !== undefined) {
      for (const u of ident.devUsers) if (pool.devIndex.get(u) === ident.id) pool.devIndex.delete(u);
      for (const [p, s] of Object.entries(ident.logins)) {
        const k = loginKey(p, s);
        if (pool.loginIndex.get(k) === ident.id) pool.loginIndex.delete(k);
      }
      pool.identities.delete(ident.id);
    }
    this.#identities.delete(ident.id);
  }

  /** DeleteIdentities: unknown ids come back in UnprocessedIdentityIds with `AccessDenied`. */
  deleteIdentities(input: Input): unknown {
    const unprocessed: { IdentityId: string; ErrorCode: string }[] = [];
    let changed = false;
    for (const id of input.IdentityIdsToDelete as string[]) {
      const ident = this.#identities.get(id);
      if (ident === undefined) {
        unprocessed.push({ IdentityId: id, ErrorCode: 'AccessDenied' });
        continue;
      }
      this.#remove(ident);
      changed = true;
    }
    if (changed) this.#changed();
    return { UnprocessedIdentityIds: unprocessed };
  }

  /** GetId: a new guest identity, or the identity of the given public logins (created and linked if new). */
  getId(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    const logins = strMap(input.Logins);
    if (Object.keys(logins).length === 0) {
      if (!pool.allowUnauth) throw new ServiceError('NotAuthorizedException', UNAUTH_NOT_SUPPORTED);
      const ident = this.#newIdentity(pool);
      this.#changed();
      return { IdentityId: ident.id };
    }
    const parsed = this.#parseLogins(pool, logins, { dev: false, cognito: false });
    const owner = this.#ownerOf(pool, undefined, parsed.publics);
    if (owner?.disabled === true)
      throw new ServiceError('NotAuthorizedException', `Access to Identity '${owner.id}' is forbidden.`);
    const ident = owner ?? this.#newIdentity(pool);
    const changed = this.#link(pool, ident, undefined, parsed.publics);
    if (changed || owner === undefined) this.#changed();
    return { IdentityId: ident.id };
  }

  /** GetOpenIdToken: a 15-minute token for a guest, or for public logins (linking new ones). */
  getOpenIdToken(input: Input): unknown {
    const ident = this.#usable(input.IdentityId);
    const pool = this.#poolOf(ident);
    const logins = strMap(input.Logins);
    if (Object.keys(logins).length === 0) {
      if (this.#isAuthenticated(ident)) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
      if (!pool.allowUnauth) throw new ServiceError('NotAuthorizedException', UNAUTH_NOT_SUPPORTED);
      return { IdentityId: ident.id, Token: this.#signToken(pool, ident, ['unauthenticated'], DEFAULT_TOKEN_SECONDS) };
    }
    const parsed = this.#parseLogins(pool, logins, { dev: false, cognito: false });
    if (this.#link(pool, ident, undefined, parsed.publics)) this.#changed();
    const amr = ['authenticated'];
    for (const p of parsed.publics) amr.push(p.provider, this.#amrEntry(pool, p.provider, p.subject));
    return { IdentityId: ident.id, Token: this.#signToken(pool, ident, amr, DEFAULT_TOKEN_SECONDS) };
  }

  /** GetOpenIdTokenForDeveloperIdentity: registers or retrieves the identity and links logins. */
  getOpenIdTokenForDeveloperIdentity(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    const parsed = this.#parseLogins(pool, strMap(input.Logins), { dev: true, cognito: false });
    const dev = parsed.dev ?? '';
    const duration = typeof input.TokenDuration === 'number' ? input.TokenDuration : DEFAULT_TOKEN_SECONDS;
    let ident: Identity;
    let created = false;
    if (input.IdentityId !== undefined) {
      ident = this.#usable(input.IdentityId);
      if (ident.poolId !== pool.id) {
        throw new ServiceError(
          'ResourceNotFoundException',
          `Identity '${ident.id}' not found in IdentityPool '${pool.id}'.`,
        );
      }
    } else {
      const owner = this.#ownerOf(pool, dev, parsed.publics);
      if (owner?.disabled === true)
        throw new ServiceError('NotAuthorizedException', `Access to Identity '${owner.id}' is forbidden.`);
      if (owner === undefined) {
        // Check the limits before creating anything.
        ident = this.#newIdentity(pool);
        created = true;
      } else {
        ident = owner;
      }
    }
    let changed: boolean;
    try {
      changed = this.#link(pool, ident, dev, parsed.publics);
    } catch (err) {
      if (created) this.#remove(ident);
      throw err;
    }
    if (changed || created) this.#changed();
    const amr = ['authenticated'];
    if (pool.developerProviderName !== undefined) {
      amr.push(pool.developerProviderName, this.#amrEntry(pool, pool.developerProviderName, dev));
    }
    for (const p of parsed.publics) amr.push(p.provider, this.#amrEntry(pool, p.provider, p.subject));
    const tags = input.PrincipalTags === undefined ? undefined : strMap(input.PrincipalTags);
    return { IdentityId: ident.id, Token: this.#signToken(pool, ident, amr, duration, tags) };
  }

  /** LookupDeveloperIdentity: identity ↔ developer user ids, paged. */
  lookupDeveloperIdentity(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    const byUser = str(input.DeveloperUserIdentifier);
    const byId = str(input.IdentityId);
    if (byUser === undefined && byId === undefined) {
      throw new ServiceError(
        'InvalidParameterException',
        'Either IdentityId or DeveloperUserIdentifier must be specified.',
      );
    }
    let ident: Identity | undefined;
    if (byUser !== undefined) {
      const id = pool.devIndex.get(byUser);
      if (id === undefined)
        throw new ServiceError(
          'ResourceNotFoundException',
          'The developer user identifier was not found in the identity pool.',
        );
      if (byId !== undefined && byId !== id) {
        throw new ServiceError(
          'ResourceConflictException',
          'The developer user identifier is not linked to the given identity.',
        );
      }
      ident = this.#identities.get(id);
    } else {
      ident = this.#identities.get(byId ?? '');
      if (ident?.poolId !== pool.id)
        throw new ServiceError('ResourceNotFoundException', `Identity '${byId ?? ''}' not found.`);
    }
    if (ident === undefined) throw new ServiceError('ResourceNotFoundException', `Identity '${byId ?? ''}' not found.`);
    const max = typeof input.MaxResults === 'number' ? input.MaxResults : 60;
    const start = decodeToken(input.NextToken, ident.id);
    const users = ident.devUsers.slice(start, start + max);
    const out: Record<string, unknown> = { IdentityId: ident.id, DeveloperUserIdentifierList: users };
    if (start + max < ident.devUsers.length) out.NextToken = encodeToken(start + max, ident.id);
    return out;
  }

  #checkDevProvider(pool: Pool, name: unknown): void {
    if (pool.developerProviderName === undefined || name !== pool.developerProviderName) {
      throw new ServiceError(
        'NotAuthorizedException',
        'This identity pool does not support the specified developer provider.',
      );
    }
  }

  /**
   * MergeDeveloperIdentities: every login of the source user's identity moves onto the destination
   * user's identity; the source identity is disabled.
   */
  mergeDeveloperIdentities(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    this.#checkDevProvider(pool, input.DeveloperProviderName);
    const srcId = pool.devIndex.get(str(input.SourceUserIdentifier) ?? '');
    const dstId = pool.devIndex.get(str(input.DestinationUserIdentifier) ?? '');
    if (srcId === undefined)
      throw new ServiceError('ResourceNotFoundException', 'The source developer user identifier was not found.');
    if (dstId === undefined)
      throw new ServiceError('ResourceNotFoundException', 'The destination developer user identifier was not found.');
    const dst = this.#usable(dstId);
    if (srcId === dstId) return { IdentityId: dst.id };
    const src = this.#usable(srcId);
    for (const [p, s] of Object.entries(src.logins)) {
      const d = dst.logins[p];
      if (d !== undefined && d !== s) {
        throw new ServiceError('ResourceConflictException', `Both identities are linked to different '${p}' users.`);
      }
    }
    const moved = src.devUsers.length + Object.keys(src.logins).filter((p) => dst.logins[p] === undefined).length;
    if (this.#linkedCount(dst) + moved > MAX_LINKED_LOGINS) {
      throw new ServiceError(
        'LimitExceededException',
        `An identity can have at most ${MAX_LINKED_LOGINS} linked logins.`,
      );
    }
    for (const u of src.devUsers) {
      dst.devUsers.push(u);
      pool.devIndex.set(u, dst.id);
    }
    for (const [p, s] of Object.entries(src.logins)) {
      dst.logins[p] = s;
      pool.loginIndex.set(loginKey(p, s), dst.id);
    }
    src.devUsers = [];
    src.logins = {};
    src.disabled = true;
    const now = this.#now();
    src.modifiedMs = now;
    dst.modifiedMs = now;
    this.#changed();
    return { IdentityId: dst.id };
  }

  /** UnlinkDeveloperIdentity: removing the last login leaves the identity inaccessible. */
  unlinkDeveloperIdentity(input: Input): unknown {
    const pool = this.#pool(input.IdentityPoolId);
    this.#checkDevProvider(pool, input.DeveloperProviderName);
    const ident = this.#identity(input.IdentityId);
    if (ident.poolId !== pool.id)
      throw new ServiceError('ResourceNotFoundException', `Identity '${ident.id}' not found.`);
    const user = str(input.DeveloperUserIdentifier) ?? '';
    const owner = pool.devIndex.get(user);
    if (owner === undefined)
      throw new ServiceError('ResourceNotFoundException', 'The developer user identifier was not found.');
    if (owner !== ident.id)
      throw new ServiceError(
        'ResourceConflictException',
        'The developer user identifier is linked to a different identity.',
      );
    ident.devUsers = ident.devUsers.filter((u) => u !== user);
    pool.devIndex.delete(user);
    this.#afterUnlink(ident);
    return {};
  }

  #afterUnlink(ident: Identity): void {
    if (this.#linkedCount(ident) === 0) ident.disabled = true;
    ident.modifiedMs = this.#now();
    this.#changed();
  }

  /**
   * UnlinkIdentity (public): `Logins` must prove ownership with either the provider token of a login
   * linked to the identity or a Cognito OpenID token for the identity (`cognito-identity.amazonaws.com`).
   * Removing a provider that is not linked is a no-op; the developer provider cannot be removed here.
   */
  unlinkIdentity(input: Input): unknown {
    const ident = this.#usable(input.IdentityId);
    const pool = this.#poolOf(ident);
    const parsed = this.#parseLogins(pool, strMap(input.Logins), { dev: false, cognito: true }, ident);
    let proven = parsed.cognito?.claims.amr !== undefined && this.#isAuthenticated(ident);
    for (const p of parsed.publics) {
      if (ident.logins[p.provider] !== p.subject) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
      proven = true;
    }
    if (!proven) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
    const remove = input.LoginsToRemove as string[];
    if (pool.developerProviderName !== undefined && remove.includes(pool.developerProviderName)) {
      throw new ServiceError(
        'InvalidParameterException',
        'Developer provider logins are unlinked with UnlinkDeveloperIdentity.',
      );
    }
    let changed = false;
    for (const provider of remove) {
      const s = ident.logins[provider];
      if (s === undefined) continue;
      ident.logins = Object.fromEntries(Object.entries(ident.logins).filter(([p]) => p !== provider));
      pool.loginIndex.delete(loginKey(provider, s));
      changed = true;
    }
    if (changed) this.#afterUnlink(ident);
    return {};
  }

  // ---------------------------------------------------------------- credentials

  /** GetCredentialsForIdentity: checks the logins, resolves the role, and issues STS-like credentials. */
  getCredentialsForIdentity(input: Input): unknown {
    const ident = this.#usable(input.IdentityId);
    const pool = this.#poolOf(ident);
    const logins = strMap(input.Logins);
    const custom = str(input.CustomRoleArn);
    let role: string | undefined;
    let allowed: Set<string>;
    let guest = Object.keys(logins).length === 0;
    let parsed: ParsedLogins | undefined;
    if (!guest) {
      parsed = this.#parseLogins(pool, logins, { dev: false, cognito: true }, ident);
      for (const p of parsed.publics) {
        if (ident.logins[p.provider] !== p.subject) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
      }
      const amr = parsed.cognito?.claims.amr;
      if (parsed.publics.length === 0 && Array.isArray(amr) && amr[0] === 'unauthenticated') guest = true;
    }
    if (guest) {
      if (this.#isAuthenticated(ident)) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
      if (!pool.allowUnauth) throw new ServiceError('NotAuthorizedException', UNAUTH_NOT_SUPPORTED);
      role = pool.roles.unauthenticated;
      allowed = new Set(role === undefined ? [] : [role]);
    } else {
      if (!this.#isAuthenticated(ident)) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
      ({ role, allowed } = this.#resolveRole(pool, parsed ?? { publics: [] }, custom));
    }
    if (custom !== undefined) {
      if (!allowed.has(custom)) {
        throw new ServiceError(
          'NotAuthorizedException',
          'The CustomRoleArn is not one of the roles this identity may assume.',
        );
      }
      role = custom;
    }
    if (role === undefined) throw new ServiceError('InvalidIdentityPoolConfigurationException', BAD_ROLES);
    return { IdentityId: ident.id, Credentials: issueCredentials(role, ident.id, this.#now()) };
  }

  /**
   * The role of an authenticated identity: a role mapping for one of the login's providers (Token:
   * `cognito:preferred_role`/`cognito:roles` claims; Rules: the first matching rule, on the token's
   * claims and principal tags), with AmbiguousRoleResolution, else the pool's authenticated role.
   */
  #resolveRole(
    pool: Pool,
    parsed: ParsedLogins,
    custom: string | undefined,
  ): { role: string | undefined; allowed: Set<string> } {
    const allowed = new Set<string>();
    const authRole = pool.roles.authenticated;
    if (authRole !== undefined) allowed.add(authRole);
    for (const m of Object.values(pool.roleMappings))
      for (const r of m.RulesConfiguration?.Rules ?? []) allowed.add(r.RoleARN);
    const candidates: { provider: string; claims: Record<string, unknown> }[] = [];
    if (parsed.cognito !== undefined) {
      const c = parsed.cognito.claims;
      const amr = Array.isArray(c.amr) ? (c.amr as unknown[]) : [];
      const flat: Record<string, unknown> = { ...c };
      const tagClaim = c[TAGS_CLAIM] as { principal_tags?: Record<string, string[]> } | undefined;
      for (const [k, v] of Object.entries(tagClaim?.principal_tags ?? {})) flat[k] = v[0];
      for (const a of amr.slice(1))
        if (typeof a === 'string' && !a.includes(':')) candidates.push({ provider: a, claims: flat });
    }
    for (const p of parsed.publics) {
      const v = this.#signer.verify(p.token);
      candidates.push({ provider: p.provider, claims: v.ok ? v.claims : { sub: p.subject } });
    }
    for (const { provider, claims } of candidates) {
      const m = pool.roleMappings[provider];
      if (m === undefined) continue;
      let role: string | undefined;
      if (m.Type === 'Token') {
        const roles = Array.isArray(claims['cognito:roles'])
          ? (claims['cognito:roles'] as unknown[]).filter((r) => typeof r === 'string')
          : [];
        for (const r of roles) allowed.add(r);
        const preferred = str(claims['cognito:preferred_role']);
        if (preferred !== undefined) allowed.add(preferred);
        if (custom !== undefined && allowed.has(custom)) role = custom;
        else role = preferred ?? (roles.length === 1 ? roles[0] : undefined);
      } else {
        for (const r of m.RulesConfiguration?.Rules ?? []) {
          if (ruleMatches(r, claims[r.Claim])) {
            role = r.RoleARN;
            break;
          }
        }
      }
      if (role === undefined) {
        if (m.AmbiguousRoleResolution === 'Deny') {
          throw new ServiceError(
            'NotAuthorizedException',
            'No role mapping matched and the pool denies ambiguous role resolution.',
          );
        }
        role = authRole;
      }
      return { role, allowed };
    }
    return { role: authRole, allowed };
  }
}

function ruleMatches(rule: { MatchType: string; Value: string }, claim: unknown): boolean {
  const values = Array.isArray(claim)
    ? claim.map(String)
    : claim === undefined
      ? []
      : [typeof claim === 'string' ? claim : JSON.stringify(claim)];
  switch (rule.MatchType) {
    case 'Equals':
      return values.includes(rule.Value);
    case 'Contains':
      return values.some((v) => v.includes(rule.Value));
    case 'StartsWith':
      return values.some((v) => v.startsWith(rule.Value));
    case 'NotEqual':
      return values.length > 0 && !values.includes(rule.Value);
    default:
      return false;
  }
}
