import type {
  DeleteIdentitiesInput,
  DeleteIdentitiesResponse,
  DescribeIdentityInput,
  EmptyOutput,
  GetIdInput,
  GetIdResponse,
  GetOpenIdTokenInput,
  GetOpenIdTokenResponse,
  IdentityDescription,
  ListIdentitiesInput,
  ListIdentitiesResponse,
  UnlinkIdentityInput,
  UnprocessedIdentityId,
} from '../model/shapes.js';
import { ServiceError } from '../service-error.js';
import { afterUnlink, link, parseLogins } from './logins.js';
import { mergeInto, mergeIntoOwner, undoPoint } from './merge.js';
import { OPEN_ID_TOKEN_SECONDS } from './openid-token.js';
import { decodeToken, encodeToken } from './paging.js';
import {
  isAuthenticated,
  LOGINS_DONT_MATCH,
  loginKey,
  loginNames,
  strMap,
  UNAUTH_NOT_SUPPORTED,
  type Identity,
  type Pool,
  type ServiceState,
} from './state.js';

function describe(pool: Pool, ident: Identity): IdentityDescription {
  return {
    IdentityId: ident.id,
    Logins: loginNames(pool, ident),
    CreationDate: ident.createdMs / 1000,
    LastModifiedDate: ident.modifiedMs / 1000,
  };
}

/** DescribeIdentity. */
export function describeIdentity(state: ServiceState, input: DescribeIdentityInput): IdentityDescription {
  const ident = state.identity(input.IdentityId);
  return describe(state.poolOf(ident), ident);
}

/** ListIdentities, paged in creation order; HideDisabled hides merged and login-less identities. */
export function listIdentities(state: ServiceState, input: ListIdentitiesInput): ListIdentitiesResponse {
  const pool = state.pool(input.IdentityPoolId);
  const max = input.MaxResults;
  const hide = input.HideDisabled === true;
  const after = decodeToken(input.NextToken, pool.id);
  const page: IdentityDescription[] = [];
  let last = 0;
  let more = false;
  for (const ident of pool.identities.values()) {
    if (ident.seq <= after || (hide && ident.disabled)) continue;
    if (page.length === max) {
      more = true;
      break;
    }
    page.push(describe(pool, ident));
    last = ident.seq;
  }
  const out: ListIdentitiesResponse = { IdentityPoolId: pool.id, Identities: page };
  if (more) out.NextToken = encodeToken(last, pool.id);
  return out;
}

/** DeleteIdentities: unknown ids come back in UnprocessedIdentityIds with `AccessDenied`. */
export function deleteIdentities(state: ServiceState, input: DeleteIdentitiesInput): DeleteIdentitiesResponse {
  const unprocessed: UnprocessedIdentityId[] = [];
  const removed: string[] = [];
  for (const id of input.IdentityIdsToDelete) {
    const ident = state.identities.get(id);
    if (ident === undefined) {
      unprocessed.push({ IdentityId: id, ErrorCode: 'AccessDenied' });
      continue;
    }
    state.remove(ident);
    removed.push(ident.id);
  }
  if (removed.length > 0) state.changed({ identities: removed });
  return { UnprocessedIdentityIds: unprocessed };
}

/** GetId: a new guest identity, or the identity of the given public logins (created and linked if new). */
export function getId(state: ServiceState, input: GetIdInput): GetIdResponse {
  const pool = state.pool(input.IdentityPoolId);
  const logins = strMap(input.Logins);
  if (Object.keys(logins).length === 0) {
    if (!pool.allowUnauth) throw new ServiceError('NotAuthorizedException', UNAUTH_NOT_SUPPORTED);
    const ident = state.newIdentity(pool);
    state.changed({ identities: [ident.id] });
    return { IdentityId: ident.id };
  }
  const parsed = parseLogins(state, pool, logins, { dev: false, cognito: false });
  // Logins of several identities (each proven by its token) merge them into the oldest.
  const owners = [...new Set(parsed.publics.map((p) => pool.loginIndex.get(loginKey(p.provider, p.subject))))]
    .flatMap((id) => (id === undefined ? [] : [state.identity(id)]))
    .sort((a, b) => a.seq - b.seq);
  for (const other of owners.slice(1)) {
    if (other.disabled)
      throw new ServiceError('NotAuthorizedException', `Access to Identity '${other.id}' is forbidden.`);
  }
  const owner = owners[0];
  if (owner?.disabled === true)
    throw new ServiceError('NotAuthorizedException', `Access to Identity '${owner.id}' is forbidden.`);
  // The merges are undone when a later one (or the link) is refused: all of them happen, or none.
  const undo = undoPoint(state, pool, owners, parsed.publics);
  try {
    if (owner !== undefined) for (const other of owners.slice(1)) mergeInto(state, pool, other, owner);
    const ident = owner ?? state.newIdentity(pool);
    const changed = link(state, pool, ident, undefined, parsed.publics);
    if (changed || owner === undefined) state.changed({ identities: [ident.id] });
    return { IdentityId: ident.id };
  } catch (err) {
    undo();
    throw err;
  }
}

/**
 * GetOpenIdToken: a 10-minute token for a guest, or for public logins (linking new ones). This is the
 * basic (classic) flow's step, so a pool whose AllowClassicFlow was set to false refuses it, as the
 * service does; a pool that never set AllowClassicFlow allows it (the service does too). A pool with
 * role mappings refuses it whatever the flag says, as the service does.
 */
export function getOpenIdToken(state: ServiceState, input: GetOpenIdTokenInput): GetOpenIdTokenResponse {
  const ident = state.usable(input.IdentityId);
  const pool = state.poolOf(ident);
  if (pool.allowClassic === false) {
    throw new ServiceError(
      'InvalidParameterException',
      'Basic (classic) flow is not enabled, please use enhanced flow.',
    );
  }
  if (Object.keys(pool.roleMappings).length > 0) {
    throw new ServiceError(
      'InvalidParameterException',
      'Basic (classic) flow is not supported with RoleMappings, please use enhanced flow.',
    );
  }
  const logins = strMap(input.Logins);
  const tokens = state.openIdTokens;
  if (Object.keys(logins).length === 0) {
    if (isAuthenticated(ident)) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
    if (!pool.allowUnauth) throw new ServiceError('NotAuthorizedException', UNAUTH_NOT_SUPPORTED);
    return { IdentityId: ident.id, Token: tokens.sign(pool, ident, ['unauthenticated'], OPEN_ID_TOKEN_SECONDS) };
  }
  const parsed = parseLogins(state, pool, logins, { dev: false, cognito: false });
  // A login of another identity merges this one into it (implicit merge): the token is the owner's.
  // The merge is undone when the link is refused.
  const undo = undoPoint(state, pool, [ident], parsed.publics);
  let target: Identity;
  try {
    target = mergeIntoOwner(state, pool, ident, parsed.publics);
    if (link(state, pool, target, undefined, parsed.publics)) state.changed({ identities: [target.id] });
  } catch (err) {
    undo();
    throw err;
  }
  const amr = ['authenticated'];
  for (const p of parsed.publics) amr.push(p.provider, tokens.amrEntry(pool, p.provider, p.subject));
  return { IdentityId: target.id, Token: tokens.sign(pool, target, amr, OPEN_ID_TOKEN_SECONDS) };
}

/**
 * UnlinkIdentity (public): `Logins` must prove ownership with either the provider token of a login
 * linked to the identity or a Cognito OpenID token for the identity (`cognito-identity.amazonaws.com`).
 * Removing a provider that is not linked is a no-op; the developer provider cannot be removed here.
 */
export function unlinkIdentity(state: ServiceState, input: UnlinkIdentityInput): EmptyOutput {
  const ident = state.usable(input.IdentityId);
  const pool = state.poolOf(ident);
  const parsed = parseLogins(state, pool, strMap(input.Logins), { dev: false, cognito: true }, ident);
  let proven = parsed.cognito?.claims.amr !== undefined && isAuthenticated(ident);
  for (const p of parsed.publics) {
    if (ident.logins[p.provider] !== p.subject) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
    proven = true;
  }
  if (!proven) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
  const remove = input.LoginsToRemove;
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
  if (changed) afterUnlink(state, ident);
  return {};
}
