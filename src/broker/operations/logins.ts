import {
  GetOpenIdTokenForDeveloperIdentityCommand,
  UnlinkDeveloperIdentityCommand,
  UnlinkIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import type { BrokerContext } from '../context.js';
import { badRequest, checkProvider } from '../input.js';
import { beforeChange, recordChange } from '../invalidation.js';
import { tokenKey } from '../keys.js';
import { unpackString } from '../offheap.js';
import { tagsFor } from '../principal-tags.js';
import type { QuotaPriority } from '../quota/governor.js';
import type { IdentityDescription } from '../types.js';
import { OP } from '../upstream.js';
import { describe, lookupIdentity } from './lookup.js';
import { tokenInput, withIdentity } from './tokens.js';

/** `Broker.linkLogin`: links a public-provider login to the user's identity. */
export async function linkLogin(
  ctx: BrokerContext,
  userId: string,
  provider: string,
  providerToken: string,
): Promise<IdentityDescription> {
  checkProvider(provider, ctx.options);
  if (typeof providerToken !== 'string' || providerToken.length === 0 || providerToken.length > 50_000) {
    throw badRequest('The provider token is not valid');
  }
  return withIdentity(ctx, 'linkLogin', userId, async (token) => {
    await beforeChange(ctx);
    const tags = tagsFor(ctx, userId);
    const sentAt = ctx.options.clock.now();
    const caller = { priority: 'account', userId } as const;
    const out = await ctx.upstream.call({ operation: OP.token, providerToken: true, caller }, (client, abortSignal) =>
      client.send(
        new GetOpenIdTokenForDeveloperIdentityCommand(
          tokenInput(ctx, userId, tags, { IdentityId: token.identityId, Logins: { [provider]: providerToken } }),
        ),
        { abortSignal },
      ),
    );
    await recordChange(ctx, 'linkLogin', [userId], [token.identityId, out.IdentityId]);
    // The link answers with a fresh token for the identity as it is now: keep it.
    ctx.tokens.set(tokenKey(userId, tags), ctx.entries.token(userId, out, sentAt));
    return describe(ctx, out.IdentityId ?? token.identityId, caller);
  });
}

/** `Broker.unlinkLogin`: unlinks a public-provider login from the user's identity. */
export async function unlinkLogin(ctx: BrokerContext, userId: string, provider: string): Promise<IdentityDescription> {
  checkProvider(provider, ctx.options);
  return withIdentity(ctx, 'unlinkLogin', userId, async (token) => {
    await beforeChange(ctx);
    const caller = { priority: 'account', userId } as const;
    await ctx.upstream.call({ operation: OP.unlink, clientInput: true, caller }, (client, abortSignal) =>
      client.send(
        new UnlinkIdentityCommand({
          IdentityId: token.identityId,
          Logins: { [ctx.options.loginsKey]: unpackString(token.token) },
          LoginsToRemove: [provider],
        }),
        { abortSignal },
      ),
    );
    await recordChange(ctx, 'unlinkLogin', [userId], [token.identityId]);
    return describe(ctx, token.identityId, caller);
  });
}

/** UnlinkDeveloperIdentity of `userId` from `identityId` (this broker's pool and provider). */
export async function unlinkDeveloper(
  ctx: BrokerContext,
  identityId: string,
  userId: string,
  priority: QuotaPriority = 'account',
): Promise<void> {
  await ctx.upstream.call({ operation: OP.unlinkDeveloper, caller: { priority, userId } }, (client, abortSignal) =>
    client.send(
      new UnlinkDeveloperIdentityCommand({
        IdentityId: identityId,
        IdentityPoolId: ctx.options.identityPoolId,
        DeveloperProviderName: ctx.options.developerProviderName,
        DeveloperUserIdentifier: userId,
      }),
      { abortSignal },
    ),
  );
}

/** `Broker.unlinkDeveloperUser`: unlinks the developer user from its identity. */
export async function unlinkDeveloperUser(ctx: BrokerContext, userId: string): Promise<void> {
  // A fresh lookup, not the cache: unlinking the wrong identity would be worse than one call.
  const identityId = await lookupIdentity(ctx, userId, false, 'account');
  if (identityId !== null) {
    await beforeChange(ctx);
    await unlinkDeveloper(ctx, identityId, userId);
  }
  await recordChange(ctx, 'unlinkDeveloperUser', [userId], [identityId ?? undefined]);
}
