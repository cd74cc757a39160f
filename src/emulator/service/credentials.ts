import type { GetCredentialsForIdentityInput, GetCredentialsForIdentityResponse } from '../model/shapes.js';
import { ServiceError } from '../service-error.js';
import { parseLogins, type ParsedLogins } from './logins.js';
import { mergeIntoOwner, undoPoint } from './merge.js';
import { resolveRole } from './roles.js';
import { isAuthenticated, LOGINS_DONT_MATCH, str, strMap, UNAUTH_NOT_SUPPORTED, type ServiceState } from './state.js';

const BAD_ROLES = 'Invalid identity pool configuration. Check assigned IAM roles for this pool.';
/** The role session name of the credentials the enhanced flow issues. */
export const COGNITO_SESSION_NAME = 'CognitoIdentityCredentials';
/** How long the enhanced flow's credentials last. */
const CREDENTIAL_SECONDS = 3600;

/**
 * GetCredentialsForIdentity: checks the logins (none, or a Cognito token with `unauthenticated` amr,
 * for a guest), resolves the role (see {@link resolveRole}), checks CustomRoleArn against the roles
 * the identity may assume, and issues STS-like credentials for one hour (which the emulator's STS
 * recognises when they sign a request).
 */
export function getCredentialsForIdentity(
  state: ServiceState,
  input: GetCredentialsForIdentityInput,
): GetCredentialsForIdentityResponse {
  let ident = state.usable(input.IdentityId);
  const pool = state.poolOf(ident);
  const logins = strMap(input.Logins);
  const custom = str(input.CustomRoleArn);
  let role: string | undefined;
  let allowed: Set<string>;
  let guest = Object.keys(logins).length === 0;
  let parsed: ParsedLogins | undefined;
  if (!guest) {
    parsed = parseLogins(state, pool, logins, { dev: false, cognito: true }, ident);
  }
  // A merge made by this call is undone when a later check refuses it.
  const undo = parsed === undefined ? undefined : undoPoint(state, pool, [ident], parsed.publics);
  try {
    return answer();
  } catch (err) {
    undo?.();
    throw err;
  }

  function answer(): GetCredentialsForIdentityResponse {
    if (parsed !== undefined) {
      // A login of another identity merges this one into it (implicit merge): the answer is the owner's.
      ident = mergeIntoOwner(state, pool, ident, parsed.publics, parsed.cognito !== undefined);
      for (const p of parsed.publics) {
        if (ident.logins[p.provider] !== p.subject) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
      }
      const amr = parsed.cognito?.claims.amr;
      if (parsed.publics.length === 0 && Array.isArray(amr) && amr[0] === 'unauthenticated') guest = true;
    }
    if (guest) {
      if (isAuthenticated(ident)) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
      if (!pool.allowUnauth) throw new ServiceError('NotAuthorizedException', UNAUTH_NOT_SUPPORTED);
      role = pool.roles.unauthenticated;
      allowed = new Set(role === undefined ? [] : [role]);
    } else {
      if (!isAuthenticated(ident)) throw new ServiceError('NotAuthorizedException', LOGINS_DONT_MATCH);
      ({ role, allowed } = resolveRole(state, pool, parsed ?? { publics: [] }, custom));
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
    const credentials = state.credentials.issue(
      { roleArn: role, identityId: ident.id, sessionName: COGNITO_SESSION_NAME, durationSeconds: CREDENTIAL_SECONDS },
      state.now(),
    );
    return { IdentityId: ident.id, Credentials: credentials };
  }
}
