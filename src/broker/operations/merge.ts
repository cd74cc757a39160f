import { MergeDeveloperIdentitiesCommand } from '@aws-sdk/client-cognito-identity';
import { isBrokerError } from '../../errors.js';
import type { BrokerContext } from '../context.js';
import { badRequest, checkUserId } from '../input.js';
import { beforeChange, recordChange } from '../invalidation.js';
import { tokenKey } from '../keys.js';
import { tagsFor } from '../principal-tags.js';
import { OP } from '../upstream.js';
import { lookupIdentity } from './lookup.js';
import { tokenFor } from './tokens.js';

/**
 * `Broker.mergeUsers`: MergeDeveloperIdentities of `sourceUserId` into `userId`'s identity. A source
 * user that never had an identity is registered first. Every cache entry of both users and of the
 * identities involved is dropped.
 */
export async function mergeUsers(
  ctx: BrokerContext,
  userId: string,
  sourceUserId: string,
): Promise<{ identityId: string }> {
  checkUserId(userId);
  checkUserId(sourceUserId, 'source user id');
  if (userId === sourceUserId) throw badRequest('A user cannot be merged into itself');
  // Makes sure the destination has an identity (usually a cache hit) and names it for invalidation.
  const destination = await tokenFor(ctx, userId);
  // Cognito moves every login of the source identity, other users' included: their cache entries
  // point at that identity, so name it even when the source user is not cached (one lookup).
  let source: { identityId: string } | undefined = ctx.tokens.peek(tokenKey(sourceUserId, tagsFor(ctx, sourceUserId)));
  if (source === undefined) {
    const found = await lookupIdentity(ctx, sourceUserId, false, 'account', userId);
    if (found !== null) source = { identityId: found };
  }
  const merge = () =>
    ctx.upstream.call(
      { operation: OP.merge, clientInput: true, caller: { priority: 'account', userId } },
      (client, abortSignal) =>
        client.send(
          new MergeDeveloperIdentitiesCommand({
            SourceUserIdentifier: sourceUserId,
            DestinationUserIdentifier: userId,
            DeveloperProviderName: ctx.options.developerProviderName,
            IdentityPoolId: ctx.options.identityPoolId,
          }),
          { abortSignal },
        ),
    );
  let out: Awaited<ReturnType<typeof merge>>;
  await beforeChange(ctx);
  try {
    out = await merge();
  } catch (err) {
    // The destination exists (resolved above), so ResourceNotFound means the source user never
    // had an identity: Cognito can only merge registered users. Register it, then merge.
    if (!isBrokerError(err) || err.code !== 'ERR_NOT_FOUND') throw err;
    source = await tokenFor(ctx, sourceUserId);
    out = await merge();
  }
  await recordChange(
    ctx,
    'mergeUsers',
    [userId, sourceUserId],
    [destination.identityId, source?.identityId, out.IdentityId],
  );
  return { identityId: out.IdentityId ?? destination.identityId };
}
