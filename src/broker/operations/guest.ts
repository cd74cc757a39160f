import {
  GetIdCommand,
  GetOpenIdTokenForDeveloperIdentityCommand,
  LookupDeveloperIdentityCommand,
  type GetOpenIdTokenForDeveloperIdentityResponse,
} from '@aws-sdk/client-cognito-identity';
import { BrokerError, isBrokerError } from '../../errors.js';
import type { BrokerContext } from '../context.js';
import { incomplete } from '../entries.js';
import { upstreamErrorName } from '../error-mapping.js';
import { checkIdentityId, checkUserId } from '../input.js';
import { beforeChange, invalidate, recordChange } from '../invalidation.js';
import { credentialsKey, tokenKey } from '../keys.js';
import { tagsFor } from '../principal-tags.js';
import type { IdentityCredentials, IdentityToken } from '../types.js';
import { OP } from '../upstream.js';
import { unlinkDeveloper } from './logins.js';
import { describeRaw, lookupIdentity } from './lookup.js';
import { tokenFor, tokenInput } from './tokens.js';

/** `Broker.getGuestCredentials`: a new guest identity (GetId), or the given one, with credentials. */
export async function getGuestCredentials(ctx: BrokerContext, guestIdentityId?: string): Promise<IdentityCredentials> {
  let identityId = guestIdentityId;
  if (identityId === undefined) {
    const out = await ctx.upstream.call({ operation: OP.getId, caller: { priority: 'guest' } }, (client, abortSignal) =>
      client.send(new GetIdCommand({ IdentityPoolId: ctx.options.identityPoolId }), { abortSignal }),
    );
    if (out.IdentityId === undefined) throw incomplete(OP.getId);
    identityId = out.IdentityId;
  } else {
    checkIdentityId(identityId);
  }
  const read = await ctx.credentials.get(credentialsKey(identityId, true, undefined), {
    identityId,
    userId: undefined,
    guest: true,
    clientInput: guestIdentityId !== undefined,
    tags: undefined,
  });
  ctx.log.debug({ operation: 'getGuestCredentials', cache: read.hit ? 'hit' : 'miss' }, 'credentials served');
  return ctx.entries.publicCredentials(read.value);
}

/**
 * `Broker.upgradeGuest`: links the user to a guest identity at login. One upgrade of a guest runs
 * at a time in this process (`ctx.upgrading`): another request of the same user joins it, another
 * user's is refused (ERR_CONFLICT); after the link, {@link checkSoleUser} catches another
 * instance's concurrent upgrade.
 */
export async function upgradeGuest(
  ctx: BrokerContext,
  userId: string,
  guestIdentityId: string,
): Promise<IdentityToken> {
  checkUserId(userId);
  checkIdentityId(guestIdentityId);
  // One upgrade of a guest at a time in this process: the guest check and the link below are two
  // calls, and two users passing the check together would both be linked to the one identity. The
  // same user's second request (a page asking for its token and credentials at once after a
  // login whose upgrade failed) waits for the first rather than resolving a new identity.
  const running = ctx.upgrading.get(guestIdentityId);
  if (running !== undefined) {
    if (running.userId === userId) return running.result;
    throw new BrokerError('ERR_CONFLICT', 'The guest identity is being upgraded by another request');
  }
  const result = upgradeLocked(ctx, userId, guestIdentityId);
  ctx.upgrading.set(guestIdentityId, { userId, result });
  try {
    return await result;
  } finally {
    ctx.upgrading.delete(guestIdentityId);
  }
}

/**
 * {@link runUpgrade} under the fleet's lock of the guest, when the broker is one of a fleet: another
 * user's upgrade of the same guest on any instance is refused before any call (the sole-user check
 * stays, for an upgrade that runs while Redis is out).
 */
async function upgradeLocked(ctx: BrokerContext, userId: string, guestIdentityId: string): Promise<IdentityToken> {
  if (ctx.fleet === undefined) return runUpgrade(ctx, userId, guestIdentityId);
  // The upgrade's calls, each within the call timeout: lookup, describe, link, check, and an unlink.
  const lock = await ctx.fleet.lock(`guest:${guestIdentityId}`, userId, 6 * ctx.options.timeoutMs);
  if (lock === 'held-by-other') {
    throw new BrokerError('ERR_CONFLICT', 'The guest identity is being upgraded by another request');
  }
  try {
    return await runUpgrade(ctx, userId, guestIdentityId);
  } finally {
    lock.release();
  }
}

async function runUpgrade(ctx: BrokerContext, userId: string, guestIdentityId: string): Promise<IdentityToken> {
  const existing = await lookupIdentity(ctx, userId);
  if (existing !== null) {
    // A retry after a link whose sole-user check below failed (throttled, timed out) finds the user
    // already on the guest identity: check again before serving it.
    if (existing === guestIdentityId) await checkSoleUser(ctx, userId, guestIdentityId);
    return ctx.entries.publicToken(await tokenFor(ctx, userId));
  }
  // Only a real guest may be upgraded: linking a user to an identity that already has logins would
  // hand that identity to whoever sent its id.
  const guest = await describeRaw(ctx, guestIdentityId, true, { userId });
  if (guest.allLogins.length > 0) {
    throw new BrokerError('ERR_FORBIDDEN', 'The identity is not a guest identity');
  }
  await beforeChange(ctx);
  const tags = tagsFor(ctx, userId);
  const sentAt = ctx.options.clock.now();
  let out: GetOpenIdTokenForDeveloperIdentityResponse;
  try {
    out = await ctx.upstream.call(
      { operation: OP.token, clientInput: true, caller: { userId } },
      (client, abortSignal) =>
        client.send(
          new GetOpenIdTokenForDeveloperIdentityCommand(tokenInput(ctx, userId, tags, { IdentityId: guestIdentityId })),
          { abortSignal },
        ),
    );
  } catch (err) {
    // The user got an identity meanwhile (another request): keep it, leave the guest alone.
    if (isBrokerError(err) && upstreamErrorName(err) === 'DeveloperUserAlreadyRegisteredException') {
      return ctx.entries.publicToken(await tokenFor(ctx, userId));
    }
    throw err;
  }
  // The sole-user check runs even when the change could not be recorded: it may undo the link.
  let unrecorded: Error | undefined;
  try {
    await recordChange(ctx, 'upgradeGuest', [userId], [guestIdentityId, out.IdentityId]);
  } catch (err) {
    unrecorded = err instanceof Error ? err : new Error('the change could not be recorded');
  }
  await checkSoleUser(ctx, userId, out.IdentityId ?? guestIdentityId);
  if (unrecorded !== undefined) throw unrecorded;
  const entry = ctx.entries.token(userId, out, sentAt);
  ctx.tokens.set(tokenKey(userId, tags), entry);
  return ctx.entries.publicToken(entry);
}

/**
 * After linking `userId` to a guest identity: its developer users must be exactly [userId]. Another
 * instance of the broker may have linked another user between our guest check and our link (the
 * per-process guard cannot see that); then this user's link is undone and the upgrade fails with
 * ERR_CONFLICT, so that no identity is ever shared by two users.
 */
async function checkSoleUser(ctx: BrokerContext, userId: string, identityId: string): Promise<void> {
  const out = await ctx.upstream.call({ operation: OP.lookup, caller: { userId } }, (client, abortSignal) =>
    client.send(
      new LookupDeveloperIdentityCommand({
        IdentityPoolId: ctx.options.identityPoolId,
        IdentityId: identityId,
        MaxResults: 60,
      }),
      { abortSignal },
    ),
  );
  const users = out.DeveloperUserIdentifierList ?? [];
  if (users.length === 1 && users[0] === userId && (out.NextToken === undefined || out.NextToken === '')) return;
  ctx.log.warn(
    { operation: 'upgradeGuest', developerUsers: users.length },
    'guest identity upgraded concurrently: link undone',
  );
  try {
    await unlinkDeveloper(ctx, identityId, userId, 'load');
  } finally {
    invalidate(ctx, 'upgradeGuest', [userId], [identityId]);
  }
  throw new BrokerError('ERR_CONFLICT', 'The guest identity was upgraded by another request');
}
