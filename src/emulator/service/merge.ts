import type { MergeDeveloperIdentitiesInput, MergeDeveloperIdentitiesResponse } from '../model/shapes.js';
import { ServiceError } from '../service-error.js';
import { checkDevProvider } from './logins.js';
import { linkedCount, loginKey, MAX_LINKED_LOGINS, str, type ServiceState } from './state.js';

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
  return { IdentityId: dst.id };
}
