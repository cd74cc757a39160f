import type { BrokerContext } from './context.js';

/**
 * Drops every cache entry of the given users and identities, including loads in progress (their
 * waiters read again). Identities of the users' cached tokens are dropped too. Runs after link,
 * unlink, merge, guest upgrade and `forgetUser`; with a fleet, the change is also published to the
 * other instances (unless it came from one: `publish` false).
 */
export function invalidate(
  ctx: BrokerContext,
  operation: string,
  userIds: readonly string[],
  identityIds: readonly (string | undefined)[],
  publish = true,
): void {
  const { tokens, credentials } = ctx;
  const users = new Set(userIds);
  const ids = new Set(identityIds.filter((id): id is string => id !== undefined));
  const tokenEntries = tokens.entries();
  for (const [, value] of tokenEntries) {
    if (value !== undefined && users.has(value.userId)) ids.add(value.identityId);
  }
  let droppedTokens = 0;
  for (const [key, value, loading] of tokenEntries) {
    if (
      (value !== undefined && (users.has(value.userId) || ids.has(value.identityId))) ||
      (loading !== undefined && users.has(loading.userId))
    ) {
      tokens.delete(key);
      droppedTokens += 1;
    }
  }
  let droppedCredentials = 0;
  for (const [key, value, loading] of credentials.entries()) {
    if ((value !== undefined && ids.has(value.identityId)) || (loading !== undefined && ids.has(loading.identityId))) {
      credentials.delete(key);
      droppedCredentials += 1;
    }
  }
  // The classic flow's entries: by user (as their loads are) and by identity (a merge's source).
  let droppedScoped = 0;
  for (const [key, value, loading] of ctx.scoped.entries()) {
    if (
      (value !== undefined && (users.has(value.userId) || ids.has(value.identityId))) ||
      (loading !== undefined && users.has(loading.userId))
    ) {
      ctx.scoped.delete(key);
      droppedScoped += 1;
    }
  }
  if (publish) ctx.fleet?.invalidated(userIds, [...ids]);
  ctx.log.debug(
    { operation, tokens: droppedTokens, credentials: droppedCredentials, scoped: droppedScoped },
    'cache entries dropped',
  );
}

/** Drops every entry of this process, loads in progress included (a fleet that may have missed changes). */
export function dropEverything(ctx: BrokerContext): void {
  for (const [key] of ctx.tokens.entries()) ctx.tokens.delete(key);
  for (const [key] of ctx.credentials.entries()) ctx.credentials.delete(key);
  for (const [key] of ctx.scoped.entries()) ctx.scoped.delete(key);
  ctx.log.info('fleet: every cache entry dropped (changes of other instances may have been missed)');
}

/**
 * Drops the user's token entries for `identityId` (and, with `credentialsToo`, that identity's
 * cached credentials) after Cognito refused it. Loads in progress are left alone, so concurrent
 * re-resolutions do not cancel each other.
 */
export function dropUserIdentity(
  ctx: BrokerContext,
  userId: string,
  identityId: string,
  credentialsToo: boolean,
): void {
  for (const [key, value] of ctx.tokens.entries()) {
    if (value !== undefined && value.userId === userId && value.identityId === identityId) ctx.tokens.delete(key);
  }
  // The fleet's copies are as stale as ours: a re-resolution must not be served them again.
  ctx.fleet?.invalidated([userId], [identityId]);
  if (!credentialsToo) return;
  for (const [key, value] of ctx.credentials.entries()) {
    if (value !== undefined && !value.guest && value.identityId === identityId) ctx.credentials.delete(key);
  }
  for (const [key, value] of ctx.scoped.entries()) {
    if (value !== undefined && value.identityId === identityId) ctx.scoped.delete(key);
  }
}
