import { performance } from 'node:perf_hooks';
import { GetOpenIdTokenForDeveloperIdentityCommand } from '@aws-sdk/client-cognito-identity';
import { isBrokerError } from '../../errors.js';
import { RE_RESOLVE, type BrokerContext } from '../context.js';
import type { TokenContext, TokenEntry } from '../entries.js';
import { checkUserId } from '../input.js';
import { dropUserIdentity } from '../invalidation.js';
import { tokenKey } from '../keys.js';
import type { PrincipalTags } from '../options.js';
import { tagsFor } from '../principal-tags.js';
import { OP } from '../upstream.js';

/** The input of GetOpenIdTokenForDeveloperIdentity for `userId` (linking `extra` when given). */
export function tokenInput(
  ctx: BrokerContext,
  userId: string,
  tags: PrincipalTags | undefined,
  extra: { IdentityId?: string; Logins?: Record<string, string> } = {},
) {
  const o = ctx.options;
  return {
    IdentityPoolId: o.identityPoolId,
    Logins: { [o.developerProviderName]: userId, ...extra.Logins },
    TokenDuration: o.tokenDurationSeconds,
    ...(extra.IdentityId === undefined ? {} : { IdentityId: extra.IdentityId }),
    ...(tags === undefined ? {} : { PrincipalTags: { ...tags } }),
  };
}

/** The token cache's loader: one GetOpenIdTokenForDeveloperIdentity call (cancelled with `signal`). */
export async function loadToken(ctx: BrokerContext, { userId, tags }: TokenContext, signal: AbortSignal) {
  const sentAt = ctx.options.clock.now();
  const out = await ctx.upstream.call(
    { operation: OP.token },
    (client, abortSignal) =>
      client.send(new GetOpenIdTokenForDeveloperIdentityCommand(tokenInput(ctx, userId, tags)), { abortSignal }),
    signal,
  );
  return ctx.entries.token(userId, out, sentAt);
}

/** The user's token, with `tagged.tags` when given, else with the user's principal tags now. */
export async function tokenFor(
  ctx: BrokerContext,
  userId: string,
  signal?: AbortSignal,
  tagged?: { readonly tags: PrincipalTags | undefined },
): Promise<TokenEntry> {
  checkUserId(userId);
  const tags = tagged === undefined ? tagsFor(ctx, userId) : tagged.tags;
  const started = performance.now();
  const { value, hit } = await ctx.tokens.get(tokenKey(userId, tags), { userId, tags }, signal);
  // Guarded: the fields object would be built on every read even with debug off (hot path).
  if (ctx.log.isLevelEnabled('debug')) {
    ctx.log.debug(
      { operation: 'getToken', cache: hit ? 'hit' : 'miss', durationMs: Math.round(performance.now() - started) },
      'token served',
    );
  }
  return value;
}

/** Runs `fn` with the user's token; if Cognito says the identity is gone, re-resolves once. */
export async function withIdentity<T>(
  ctx: BrokerContext,
  operation: string,
  userId: string,
  fn: (token: TokenEntry) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const token = await tokenFor(ctx, userId, signal);
  try {
    return await fn(token);
  } catch (err) {
    if (!isBrokerError(err) || !RE_RESOLVE.has(err.code)) throw err;
    ctx.log.info({ operation, code: err.code }, 'identity re-resolved');
    dropUserIdentity(ctx, userId, token.identityId, true);
    return fn(await tokenFor(ctx, userId, signal));
  }
}
