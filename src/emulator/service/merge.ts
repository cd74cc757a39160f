import type { MergeDeveloperIdentitiesInput, MergeDeveloperIdentitiesResponse } from '../model/shapes.js';
import { ServiceError } from '../service-error.js';
import { checkDevProvider } from './logins.js';
import type { PublicLogin } from './logins.js';
import {
  isAuthenticated,
  linkedCount,
  loginKey,
  MAX_LINKED_LOGINS,
  str,
  type Identity,
  type Pool,
  type ServiceState,
} from './state.js';

/**
 * MergeDeveloperIdentities: every login of the source user's identity (developer users and public
 * logins) moves onto the destination user's identity, and the source identity is disabled. Different
 * users of one public provider on both sides give ResourceConflictException; more than 20 linked
 * logins after the merge, LimitExceededException. Merging a user with itself changes nothing.
 */
export function mergeDeveloperIdentities(
  state: ServiceState,
  input: MergeDeveloperIdentitiesInput,
): MergeDeveloperIdentitiesResponse {
  const pool = state.pool(input.IdentityPoolId);
  checkDevProvider(pool, input.DeveloperProviderName);
  const srcId = pool.devIndex.get(str(input.SourceUserIdentifier) ?? '');
  const dstId = pool.devIndex.get(str(input.DestinationUserIdentifier) ?? '');
  if (srcId === undefined)
    throw new ServiceError('ResourceNotFoundException', 'The source developer user identifier was not found.');
  if (dstId === undefined)
    throw new ServiceError('ResourceNotFoundException', 'The destination developer user identifier was not found.');
  const dst = state.usable(dstId);
  if (srcId === dstId) return { IdentityId: dst.id };
  const src = state.usable(srcId);
  mergeInto(state, pool, src, dst);
  return { IdentityId: dst.id };
}

/**
 * Moves every login of `src` (developer users and public logins) onto `dst` and disables `src`, as
 * a merge does; reports the change. Throws without changing anything when both hold different users
 * of one public provider (ResourceConflictException) or `dst` would pass the limit of linked logins.
 */
export function mergeInto(state: ServiceState, pool: Pool, src: Identity, dst: Identity): void {
  for (const [p, s] of Object.entries(src.logins)) {
    const d = dst.logins[p];
    if (d !== undefined && d !== s) {
      throw new ServiceError('ResourceConflictException', `Both identities are linked to different '${p}' users.`);
    }
  }
  const moved = src.devUsers.length + Object.keys(src.logins).filter((p) => dst.logins[p] === undefined).length;
  if (linkedCount(dst) + moved > MAX_LINKED_LOGINS) {
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
  const now = state.now();
  src.modifiedMs = now;
  dst.modifiedMs = now;
  state.changed({ identities: [src.id, dst.id] });
}

/**
 * The implicit merge of GetOpenIdToken and GetCredentialsForIdentity (the developer guide's
 * "merging identities"): when `ident` is named with a login already linked to another identity, the
 * login's owner survives and `ident` is merged into it, provided the caller may speak for `ident`:
 * a guest (its id is its only credential), or one of the logins (or `proven`, a Cognito token for
 * it) is linked to it. Otherwise ResourceConflictException, as for any login of another identity.
 * @returns the identity the call goes on with: the owner after a merge, else `ident`.
 */
export function mergeIntoOwner(
  state: ServiceState,
  pool: Pool,
  ident: Identity,
  publics: readonly PublicLogin[],
  proven = false,
): Identity {
  let owner: Identity | undefined;
  let provider = '';
  for (const p of publics) {
    const o = pool.loginIndex.get(loginKey(p.provider, p.subject));
    if (o === undefined || o === ident.id || o === owner?.id) continue;
    if (owner !== undefined) {
      throw new ServiceError(
        'ResourceConflictException',
        `The login for '${p.provider}' is already linked to another identity.`,
      );
    }
    owner = state.identities.get(o);
    provider = p.provider;
  }
  if (owner === undefined) return ident;
  const mayMerge = proven || !isAuthenticated(ident) || publics.some((p) => ident.logins[p.provider] === p.subject);
  if (!mayMerge) {
    throw new ServiceError(
      'ResourceConflictException',
      `The login for '${provider}' is already linked to another identity.`,
    );
  }
  if (owner.disabled)
    throw new ServiceError('NotAuthorizedException', `Access to Identity '${owner.id}' is forbidden.`);
  mergeInto(state, pool, ident, owner);
  return owner;
}

/**
 * What an implicit merge may change, saved before it: `idents` (the named identity and the owners
 * of `publics`) and the pool's index entries for their logins and developer users and for
 * `publics`. The function it returns puts them back, and reports them changed when they were: a
 * call that merges and then is refused (a later check throws) leaves no merge behind.
 */
export function undoPoint(
  state: ServiceState,
  pool: Pool,
  named: readonly Identity[],
  publics: readonly PublicLogin[],
): () => void {
  const idents = new Set(named);
  for (const p of publics) {
    const o = pool.loginIndex.get(loginKey(p.provider, p.subject));
    const ident = o === undefined ? undefined : state.identities.get(o);
    if (ident !== undefined) idents.add(ident);
  }
  const saved = [...idents].map((i) => ({
    ident: i,
    record: { disabled: i.disabled, modifiedMs: i.modifiedMs, devUsers: [...i.devUsers], logins: { ...i.logins } },
  }));
  const loginKeys = new Set(publics.map((p) => loginKey(p.provider, p.subject)));
  const devKeys = new Set<string>();
  for (const i of idents) {
    for (const [p, s] of Object.entries(i.logins)) loginKeys.add(loginKey(p, s));
    for (const u of i.devUsers) devKeys.add(u);
  }
  const loginIndex = [...loginKeys].map((k) => [k, pool.loginIndex.get(k)] as const);
  const devIndex = [...devKeys].map((k) => [k, pool.devIndex.get(k)] as const);
  return () => {
    const changed = saved.filter(
      ({ ident, record }) =>
        ident.disabled !== record.disabled ||
        ident.modifiedMs !== record.modifiedMs ||
        JSON.stringify([ident.devUsers, ident.logins]) !== JSON.stringify([record.devUsers, record.logins]),
    );
    if (changed.length === 0) return;
    for (const { ident, record } of changed) Object.assign(ident, record);
    const put = (index: Map<string, string>, entries: readonly (readonly [string, string | undefined])[]) => {
      for (const [k, v] of entries) {
        if (v === undefined) index.delete(k);
        else index.set(k, v);
      }
    };
    put(pool.loginIndex, loginIndex);
    put(pool.devIndex, devIndex);
    state.changed({ identities: changed.map((c) => c.ident.id) });
  };
}
