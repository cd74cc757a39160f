import type {
  EmptyOutput,
  GetOpenIdTokenForDeveloperIdentityInput,
  GetOpenIdTokenForDeveloperIdentityResponse,
  LookupDeveloperIdentityInput,
  LookupDeveloperIdentityResponse,
  UnlinkDeveloperIdentityInput,
} from '../model/shapes.js';
import { ServiceError } from '../service-error.js';
import { afterUnlink, checkDevProvider, link, ownerOf, parseLogins } from './logins.js';
import { DEFAULT_TOKEN_SECONDS } from './openid-token.js';
import { decodeToken, encodeToken } from './paging.js';
import { str, strMap, type Identity, type ServiceState } from './state.js';

/** GetOpenIdTokenForDeveloperIdentity: registers or retrieves the identity and links logins. */
export function getOpenIdTokenForDeveloperIdentity(
  state: ServiceState,
  input: GetOpenIdTokenForDeveloperIdentityInput,
): GetOpenIdTokenForDeveloperIdentityResponse {
  const pool = state.pool(input.IdentityPoolId);
  const parsed = parseLogins(state, pool, strMap(input.Logins), { dev: true, cognito: false });
  const dev = parsed.dev ?? '';
  const duration = typeof input.TokenDuration === 'number' ? input.TokenDuration : DEFAULT_TOKEN_SECONDS;
  let ident: Identity;
  let created = false;
  if (input.IdentityId !== undefined) {
    ident = state.usable(input.IdentityId);
    if (ident.poolId !== pool.id) {
      throw new ServiceError(
        'ResourceNotFoundException',
        `Identity '${ident.id}' not found in IdentityPool '${pool.id}'.`,
      );
    }
  } else {
    const owner = ownerOf(state, pool, dev, parsed.publics);
    if (owner?.disabled === true)
      throw new ServiceError('NotAuthorizedException', `Access to Identity '${owner.id}' is forbidden.`);
    if (owner === undefined) {
      // Check the limits before creating anything.
      ident = state.newIdentity(pool);
      created = true;
    } else {
      ident = owner;
    }
  }
  let changed: boolean;
  try {
    changed = link(state, pool, ident, dev, parsed.publics);
  } catch (err) {
    if (created) state.remove(ident);
    throw err;
  }
  if (changed || created) state.changed({ identities: [ident.id] });
  const tokens = state.openIdTokens;
  const amr = ['authenticated'];
  if (pool.developerProviderName !== undefined) {
    amr.push(pool.developerProviderName, tokens.amrEntry(pool, pool.developerProviderName, dev));
  }
  for (const p of parsed.publics) amr.push(p.provider, tokens.amrEntry(pool, p.provider, p.subject));
  const tags = input.PrincipalTags === undefined ? undefined : strMap(input.PrincipalTags);
  return { IdentityId: ident.id, Token: tokens.sign(pool, ident, amr, duration, tags) };
}

/** LookupDeveloperIdentity: identity ↔ developer user ids, paged. */
export function lookupDeveloperIdentity(
  state: ServiceState,
  input: LookupDeveloperIdentityInput,
): LookupDeveloperIdentityResponse {
  const pool = state.pool(input.IdentityPoolId);
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
    ident = state.identities.get(id);
  } else {
    ident = state.identities.get(byId ?? '');
    if (ident?.poolId !== pool.id)
      throw new ServiceError('ResourceNotFoundException', `Identity '${byId ?? ''}' not found.`);
  }
  if (ident === undefined) throw new ServiceError('ResourceNotFoundException', `Identity '${byId ?? ''}' not found.`);
  const max = typeof input.MaxResults === 'number' ? input.MaxResults : 60;
  const start = decodeToken(input.NextToken, ident.id);
  const users = ident.devUsers.slice(start, start + max);
  const out: LookupDeveloperIdentityResponse = { IdentityId: ident.id, DeveloperUserIdentifierList: users };
  if (start + max < ident.devUsers.length) out.NextToken = encodeToken(start + max, ident.id);
  return out;
}

/** UnlinkDeveloperIdentity: removing the last login leaves the identity inaccessible. */
export function unlinkDeveloperIdentity(state: ServiceState, input: UnlinkDeveloperIdentityInput): EmptyOutput {
  const pool = state.pool(input.IdentityPoolId);
  checkDevProvider(pool, input.DeveloperProviderName);
  const ident = state.identity(input.IdentityId);
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
  afterUnlink(state, ident);
  return {};
}
