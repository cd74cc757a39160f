import { randomUUID } from 'node:crypto';
import type {
  CreateIdentityPoolInput,
  DeleteIdentityPoolInput,
  DescribeIdentityPoolInput,
  EmptyOutput,
  IdentityPool,
  IdentityPoolShortDescription,
  ListIdentityPoolsInput,
  ListIdentityPoolsResponse,
} from '../model/shapes.js';
import { ServiceError } from '../service-error.js';
import { decodeToken, encodeToken } from './paging.js';
import { str, strMap, type Pool, type PoolRecord, type ServiceState } from './state.js';
import { checkTags } from './tags.js';

/** Most identity pools per account (the service's default quota). */
const MAX_POOLS = 1000;

function poolOut(pool: Pool): IdentityPool {
  const out: IdentityPool = {
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

/** The configuration members CreateIdentityPool and UpdateIdentityPool share. */
type PoolFields = Omit<CreateIdentityPoolInput, 'IdentityPoolTags'>;

function applyPoolFields(state: ServiceState, pool: PoolRecord, input: PoolFields): void {
  pool.name = str(input.IdentityPoolName) ?? pool.name;
  pool.allowUnauth = input.AllowUnauthenticatedIdentities;
  if (typeof input.AllowClassicFlow === 'boolean') pool.allowClassic = input.AllowClassicFlow;
  const providers = { ...strMap(input.SupportedLoginProviders) };
  const dev = str(input.DeveloperProviderName);
  for (const k of Object.keys(providers)) {
    if (k === state.cognitoLoginKey || k === dev) {
      throw new ServiceError('InvalidParameterException', `'${k}' cannot be used as a supported login provider.`);
    }
  }
  if (dev !== undefined) {
    if (dev === state.cognitoLoginKey) {
      throw new ServiceError('InvalidParameterException', 'The developer provider name is reserved.');
    }
    if (pool.developerProviderName !== undefined && pool.developerProviderName !== dev) {
      throw new ServiceError('InvalidParameterException', 'The developer provider name cannot be changed once set.');
    }
    pool.developerProviderName = dev;
  }
  pool.supportedLoginProviders = providers;
  // Array.isArray, not `!== undefined`: a JSON null is absent.
  const oidc: unknown = input.OpenIdConnectProviderARNs;
  const cips: unknown = input.CognitoIdentityProviders;
  const saml: unknown = input.SamlProviderARNs;
  pool.openIdConnectProviderARNs = Array.isArray(oidc) ? [...(oidc as string[])] : undefined;
  pool.cognitoIdentityProviders = Array.isArray(cips)
    ? (cips as NonNullable<PoolRecord['cognitoIdentityProviders']>).map((p) => ({ ServerSideTokenCheck: false, ...p }))
    : undefined;
  pool.samlProviderARNs = Array.isArray(saml) ? [...(saml as string[])] : undefined;
  if (pool.openIdConnectProviderARNs === undefined) delete pool.openIdConnectProviderARNs;
  if (pool.cognitoIdentityProviders === undefined) delete pool.cognitoIdentityProviders;
  if (pool.samlProviderARNs === undefined) delete pool.samlProviderARNs;
}

/** CreateIdentityPool. */
export function createIdentityPool(state: ServiceState, input: CreateIdentityPoolInput): IdentityPool {
  if (state.pools.size >= MAX_POOLS) {
    throw new ServiceError('LimitExceededException', `An account can have at most ${MAX_POOLS} identity pools.`);
  }
  const tags = { ...strMap(input.IdentityPoolTags) };
  checkTags(tags);
  const rec: PoolRecord = {
    id: `${state.region}:${randomUUID()}`,
    seq: state.nextSeq(),
    name: '',
    allowUnauth: false,
    supportedLoginProviders: {},
    tags,
    roles: {},
    roleMappings: {},
    principalTagMaps: {},
    createdMs: state.now(),
  };
  applyPoolFields(state, rec, input);
  const pool: Pool = { ...rec, identities: new Map(), devIndex: new Map(), loginIndex: new Map() };
  state.pools.set(pool.id, pool);
  state.changed({ pools: [pool.id] });
  return poolOut(pool);
}

/** UpdateIdentityPool: replaces the pool's configuration (tags only when given). */
export function updateIdentityPool(state: ServiceState, input: IdentityPool): IdentityPool {
  const pool = state.pool(input.IdentityPoolId);
  const draft: PoolRecord = { ...pool, supportedLoginProviders: { ...pool.supportedLoginProviders } };
  applyPoolFields(state, draft, input);
  let tags = pool.tags;
  if (input.IdentityPoolTags !== undefined) {
    tags = { ...strMap(input.IdentityPoolTags) };
    checkTags(tags);
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
  state.changed({ pools: [pool.id] });
  return poolOut(pool);
}

/** DeleteIdentityPool: the pool and all of its identities. */
export function deleteIdentityPool(state: ServiceState, input: DeleteIdentityPoolInput): EmptyOutput {
  const pool = state.pool(input.IdentityPoolId);
  for (const id of pool.identities.keys()) state.identities.delete(id);
  state.pools.delete(pool.id);
  state.changed({ pools: [pool.id] });
  return {};
}

/** DescribeIdentityPool. */
export function describeIdentityPool(state: ServiceState, input: DescribeIdentityPoolInput): IdentityPool {
  return poolOut(state.pool(input.IdentityPoolId));
}

/** ListIdentityPools, paged in creation order. */
export function listIdentityPools(state: ServiceState, input: ListIdentityPoolsInput): ListIdentityPoolsResponse {
  const max = input.MaxResults;
  const after = decodeToken(input.NextToken, 'pools');
  const page: IdentityPoolShortDescription[] = [];
  let last = 0;
  let more = false;
  for (const p of state.pools.values()) {
    if (p.seq <= after) continue;
    if (page.length === max) {
      more = true;
      break;
    }
    page.push({ IdentityPoolId: p.id, IdentityPoolName: p.name });
    last = p.seq;
  }
  const out: ListIdentityPoolsResponse = { IdentityPools: page };
  if (more) out.NextToken = encodeToken(last, 'pools');
  return out;
}
