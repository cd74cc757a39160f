import {
  DescribeIdentityCommand,
  LookupDeveloperIdentityCommand,
  type IdentityDescription as CognitoIdentityDescription,
} from '@aws-sdk/client-cognito-identity';
import { isBrokerError } from '../../errors.js';
import type { BrokerContext } from '../context.js';
import { badRequest, checkIdentityId, checkUserId } from '../input.js';
import { tokenKey } from '../keys.js';
import { tagsFor } from '../principal-tags.js';
import type { IdentityDescription } from '../types.js';
import { OP } from '../upstream.js';
import { withIdentity } from './tokens.js';

/**
 * `Broker.lookupIdentity`: the identity of a developer user, or null when it has none. From a
 * valid cached token when `useCache`, else one LookupDeveloperIdentity call.
 */
export async function lookupIdentity(ctx: BrokerContext, userId: string, useCache = true): Promise<string | null> {
  checkUserId(userId);
  if (useCache) {
    const cached = ctx.tokens.peekValid(tokenKey(userId, tagsFor(ctx, userId)));
    if (cached !== undefined) return cached.identityId;
  }
  try {
    const out = await ctx.upstream.call({ operation: OP.lookup }, (client, abortSignal) =>
      client.send(
        new LookupDeveloperIdentityCommand({
          IdentityPoolId: ctx.options.identityPoolId,
          DeveloperUserIdentifier: userId,
          MaxResults: 1,
        }),
        { abortSignal },
      ),
    );
    return out.IdentityId ?? null;
  } catch (err) {
    if (isBrokerError(err) && err.code === 'ERR_NOT_FOUND') return null;
    throw err;
  }
}

/** `Broker.lookupUsers`: the developer user ids of an identity, paged. */
export async function lookupUsers(
  ctx: BrokerContext,
  identityId: string,
  options: { maxResults?: number; nextToken?: string } = {},
): Promise<{ userIds: string[]; nextToken?: string }> {
  checkIdentityId(identityId);
  const { maxResults, nextToken } = options;
  if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 60)) {
    throw badRequest('maxResults must be an integer in [1, 60]');
  }
  if (
    nextToken !== undefined &&
    (typeof nextToken !== 'string' || nextToken.length === 0 || nextToken.length > 100_000)
  ) {
    throw badRequest('nextToken is not valid');
  }
  const out = await ctx.upstream.call({ operation: OP.lookup, clientInput: true }, (client, abortSignal) =>
    client.send(
      new LookupDeveloperIdentityCommand({
        IdentityPoolId: ctx.options.identityPoolId,
        IdentityId: identityId,
        MaxResults: maxResults ?? 60,
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
      { abortSignal },
    ),
  );
  const userIds = [...(out.DeveloperUserIdentifierList ?? [])];
  return out.NextToken === undefined || out.NextToken === '' ? { userIds } : { userIds, nextToken: out.NextToken };
}

/** DescribeIdentity as Cognito answers it: `Logins` includes the developer provider. */
export async function describeRaw(
  ctx: BrokerContext,
  identityId: string,
  clientInput = false,
): Promise<{ identityId: string; allLogins: readonly string[]; out: CognitoIdentityDescription }> {
  const out = await ctx.upstream.call({ operation: OP.describe, clientInput }, (client, abortSignal) =>
    client.send(new DescribeIdentityCommand({ IdentityId: identityId }), { abortSignal }),
  );
  return { identityId: out.IdentityId ?? identityId, allLogins: [...(out.Logins ?? [])], out };
}

/** The public description: the developer provider is the broker's business, not a linked login. */
export async function describe(ctx: BrokerContext, identityId: string): Promise<IdentityDescription> {
  const { identityId: id, allLogins, out } = await describeRaw(ctx, identityId);
  return Object.freeze({
    identityId: id,
    logins: Object.freeze(allLogins.filter((p) => p !== ctx.options.developerProviderName)),
    ...(out.CreationDate instanceof Date ? { creationDate: out.CreationDate.getTime() } : {}),
    ...(out.LastModifiedDate instanceof Date ? { lastModifiedDate: out.LastModifiedDate.getTime() } : {}),
  });
}

/** `Broker.describeIdentity`: the user's identity and linked logins. */
export function describeIdentity(ctx: BrokerContext, userId: string): Promise<IdentityDescription> {
  return withIdentity(ctx, 'describeIdentity', userId, (token) => describe(ctx, token.identityId));
}
