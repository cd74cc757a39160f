import { ServiceError } from '../service-error.js';
import { INVALID_LOGIN_TOKEN, verifyProviderToken } from '../tokens.js';
import { linkedCount, loginKey, MAX_LINKED_LOGINS, type Identity, type Pool, type ServiceState } from './state.js';

/** A public provider login of a Logins map, verified. */
export interface PublicLogin {
  provider: string;
  /** The provider's user id (the token's subject). */
  subject: string;
  token: string;
}

/** A parsed and verified Logins map. */
export interface ParsedLogins {
  /** The developer user identifier, when the map names the pool's developer provider. */
  dev?: string;
  publics: PublicLogin[];
  /** A Cognito OpenID token for the identity, with its claims. */
  cognito?: { token: string; claims: Record<string, unknown> };
}

/**
 * Parses and verifies a Logins map. Public provider tokens must be emulator-minted for the app id
 * the pool configured; Cognito tokens must be signed by this emulator, unexpired, for `forIdentity`.
 */
export function parseLogins(
  state: ServiceState,
  pool: Pool,
  logins: Record<string, string>,
  allow: { dev: boolean; cognito: boolean },
  forIdentity?: Identity,
): ParsedLogins {
  const parsed: ParsedLogins = { publics: [] };
  const devKeys: string[] = [];
  for (const [provider, token] of Object.entries(logins)) {
    if (provider === state.cognitoLoginKey) {
      if (!allow.cognito || forIdentity === undefined) {
        throw new ServiceError('NotAuthorizedException', "Invalid login token. Can't pass in a Cognito token.");
      }
      parsed.cognito = { token, claims: verifyCognitoToken(state, token, forIdentity) };
      continue;
    }
    const appId = pool.supportedLoginProviders[provider];
    if (appId !== undefined) {
      const v = verifyProviderToken(state.providerSigner, token, provider, appId, state.now());
      if (!v.ok) throw new ServiceError('NotAuthorizedException', v.message);
      parsed.publics.push({ provider, subject: v.subject, token });
      continue;
    }
    if (!allow.dev) {
      throw new ServiceError('NotAuthorizedException', 'Token is not from a supported provider of this identity pool.');
    }
    devKeys.push(provider);
  }
  if (allow.dev) {
    if (devKeys.length > 1) {
      throw new ServiceError('InvalidParameterException', 'Only one developer provider is allowed in the Logins map.');
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
function verifyCognitoToken(state: ServiceState, token: string, ident: Identity): Record<string, unknown> {
  const v = state.signer.verify(token);
  if (!v.ok) {
    throw new ServiceError(
      'NotAuthorizedException',
      `${INVALID_LOGIN_TOKEN} ${v.signed === true ? "Couldn't verify signed token." : 'Not a Cognito token.'}`,
    );
  }
  const c = v.claims;
  if (c.iss !== state.issuer)
    throw new ServiceError('NotAuthorizedException', "Invalid login token. Issuer doesn't match providerName");
  const nowSec = state.now() / 1000;
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

/**
 * Links the given developer user and public logins to `ident`, or throws the service's conflict
 * errors without changing anything. Returns whether anything was added.
 */
export function link(
  state: ServiceState,
  pool: Pool,
  ident: Identity,
  dev: string | undefined,
  publics: readonly PublicLogin[],
): boolean {
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
  if (linkedCount(ident) + added > MAX_LINKED_LOGINS) {
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
  ident.modifiedMs = state.now();
  return true;
}

/** The one identity the given logins already belong to, if any; a conflict when they disagree. */
export function ownerOf(
  state: ServiceState,
  pool: Pool,
  dev: string | undefined,
  publics: readonly PublicLogin[],
): Identity | undefined {
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
  return owner === undefined ? undefined : state.identities.get(owner);
}

/** After a login was removed: an identity left without logins is disabled. */
export function afterUnlink(state: ServiceState, ident: Identity): void {
  if (linkedCount(ident) === 0) ident.disabled = true;
  ident.modifiedMs = state.now();
  state.changed({ identities: [ident.id] });
}

/** NotAuthorizedException unless `name` is the pool's developer provider. */
export function checkDevProvider(pool: Pool, name: string): void {
  if (pool.developerProviderName === undefined || name !== pool.developerProviderName) {
    throw new ServiceError(
      'NotAuthorizedException',
      'This identity pool does not support the specified developer provider.',
    );
  }
}
