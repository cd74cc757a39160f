import { performance } from 'node:perf_hooks';
import {
  GetCredentialsForIdentityCommand,
  type GetCredentialsForIdentityResponse,
} from '@aws-sdk/client-cognito-identity';
import { BrokerError, isBrokerError } from '../../errors.js';
import { RE_RESOLVE, type BrokerContext } from '../context.js';
import type { CredentialsContext, CredentialsEntry } from '../entries.js';
import { checkUserId, isUserId } from '../input.js';
import { dropUserIdentity } from '../invalidation.js';
import { credentialsKey, tokenKey } from '../keys.js';
import { unpackString } from '../offheap.js';
import type { PrincipalTags } from '../options.js';
import { tagsFor } from '../principal-tags.js';
import type { AwsCredentialIdentityProvider, IdentityCredentials, UserCallOptions } from '../types.js';
import { OP } from '../upstream.js';
import { tokenFor } from './tokens.js';

function identityChanged(): BrokerError {
  return new BrokerError('ERR_IDENTITY_DISABLED', 'The identity of the user changed', {
    cause: new Error('the user now resolves to another identity (merged)'),
  });
}

/**
 * The credentials cache's loader: one GetCredentialsForIdentity call (cancelled with `signal`),
 * with the user's token in `Logins` (none for guests).
 */
export async function loadCredentials(
  ctx: BrokerContext,
  c: CredentialsContext,
  signal: AbortSignal,
): Promise<CredentialsEntry> {
  const o = ctx.options;
  // A valid token is needed only now, when credentials are loaded: cached credentials outlive
  // tokens, and serving them must not cost a GetOpenIdTokenForDeveloperIdentity call.
  let token: string | undefined;
  if (c.userId !== undefined) {
    const t =
      c.token !== undefined && o.clock.now() < c.token.validUntil
        ? c.token
        : await tokenFor(ctx, c.userId, signal, { tags: c.tags });
    if (t.identityId !== c.identityId) throw identityChanged();
    token = unpackString(t.token);
  }
  const sentAt = o.clock.now();
  let out: GetCredentialsForIdentityResponse;
  try {
    out = await ctx.upstream.call(
      { operation: OP.credentials, clientInput: c.clientInput },
      (client, abortSignal) =>
        client.send(
          new GetCredentialsForIdentityCommand({
            IdentityId: c.identityId,
            ...(token === undefined ? {} : { Logins: { [o.loginsKey]: token } }),
            ...(c.guest || o.customRoleArn === undefined ? {} : { CustomRoleArn: o.customRoleArn }),
          }),
          { abortSignal },
        ),
      signal,
    );
  } catch (err) {
    // Also in a background refresh: forget the user's token so the next read re-resolves.
    if (c.userId !== undefined && isBrokerError(err) && RE_RESOLVE.has(err.code)) {
      dropUserIdentity(ctx, c.userId, c.identityId, false);
    }
    throw err;
  }
  return ctx.entries.credentials(c, out, sentAt);
}

/** `Broker.getCredentials`: through the identity of any token entry of the user; re-resolved once. */
export async function getCredentials(
  ctx: BrokerContext,
  userId: string,
  options?: UserCallOptions,
): Promise<IdentityCredentials> {
  checkUserId(userId);
  const signal = options?.signal;
  const started = performance.now();
  for (let attempt = 0; ; attempt += 1) {
    // The identity id from any token entry of the user, even one past its validity: credentials
    // are keyed by identity and usually outlive the token.
    const tags = tagsFor(ctx, userId);
    const known = ctx.tokens.peek(tokenKey(userId, tags)) ?? (await tokenFor(ctx, userId, signal, { tags }));
    const identityId = known.identityId;
    try {
      const read = await ctx.credentials.get(
        credentialsKey(identityId, false, tags),
        { identityId, userId, guest: false, clientInput: false, tags, token: known },
        signal,
      );
      if (ctx.log.isLevelEnabled('debug')) {
        ctx.log.debug(
          {
            operation: 'getCredentials',
            cache: read.hit ? 'hit' : 'miss',
            durationMs: Math.round(performance.now() - started),
          },
          'credentials served',
        );
      }
      return ctx.entries.publicCredentials(read.value);
    } catch (err) {
      if (attempt > 0 || !isBrokerError(err) || !RE_RESOLVE.has(err.code)) throw err;
      ctx.log.info({ operation: 'getCredentials', code: err.code }, 'identity re-resolved');
      dropUserIdentity(ctx, userId, identityId, true);
    }
  }
}

/**
 * `Broker.freshCredentialsBody`: the cached body of the user's credentials when they are fresh,
 * synchronously, with no copy (a view of the broker's bytes); `undefined` whenever `getCredentials`
 * would do more.
 */
export function freshCredentialsBody(ctx: BrokerContext, userId: string): Uint8Array | undefined {
  if (!isUserId(userId)) return undefined;
  let tags: PrincipalTags | undefined;
  if (ctx.options.principalTags !== undefined) {
    try {
      tags = tagsFor(ctx, userId, true);
    } catch {
      return undefined;
    }
  }
  const known = ctx.tokens.peek(tokenKey(userId, tags));
  if (known === undefined) return undefined;
  const value = ctx.credentials.getFresh(credentialsKey(known.identityId, false, tags));
  if (value === undefined) return undefined;
  if (ctx.log.isLevelEnabled('debug'))
    ctx.log.debug({ operation: 'getCredentials', cache: 'hit', durationMs: 0 }, 'credentials served');
  return Buffer.from(value.body);
}

/** `Broker.credentialProvider`: an AWS SDK v3 provider on the same cache. */
export function credentialProvider(ctx: BrokerContext, userId: string): AwsCredentialIdentityProvider {
  checkUserId(userId);
  return async () => {
    const c = await getCredentials(ctx, userId);
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: new Date(c.expiration),
    };
  };
}
