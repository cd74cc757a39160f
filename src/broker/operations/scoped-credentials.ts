import { performance } from 'node:perf_hooks';
import { AssumeRoleWithWebIdentityCommand, type AssumeRoleWithWebIdentityResponse } from '@aws-sdk/client-sts';
import { isBrokerError } from '../../errors.js';
import type { BrokerContext } from '../context.js';
import type { TokenEntry } from '../entries.js';
import { checkUserId, isUserId } from '../input.js';
import { tokenKey } from '../keys.js';
import { unpackCredentials, unpackString } from '../offheap.js';
import type { PrincipalTags } from '../options.js';
import { tagsFor } from '../principal-tags.js';
import { checkScope, defaultSessionName } from '../scope.js';
import { givenScopeHash, scopedEntry, scopedKey, type ScopedContext, type ScopedEntry } from '../scoped-entries.js';
import { ASSUME_ROLE_WEB_IDENTITY, withTagSessionHint } from '../sts-errors.js';
import type {
  AwsCredentialIdentityProvider,
  IdentityCredentials,
  ScopedCredentialsOptions,
  UserCallOptions,
} from '../types.js';
import { loadCaller, tokenFor } from './tokens.js';

// The classic (basic) flow: the user's OpenID token (from the token cache: no extra Cognito call
// while it is valid), then STS AssumeRoleWithWebIdentity with the scope's role, session policy,
// policy ARNs and duration. One STS call per (user, scope) per lifetime: cached, single-flight and
// refreshed ahead like the credentials (refreshing-cache.ts).

/** `PackedPolicySize` (percent of STS's limit) from which a scope is logged as close to the limit. */
export const PACKED_POLICY_WARN_PERCENT = 90;

/**
 * The scoped cache's loader: one AssumeRoleWithWebIdentity call with the user's token. When STS
 * refuses the token (expired: a clock ahead of ours; or invalid), the token entry is dropped and
 * the call made once more with a new one.
 */
export async function loadScoped(
  ctx: BrokerContext,
  c: ScopedContext,
  signal: AbortSignal,
  stale?: ScopedEntry,
): Promise<ScopedEntry> {
  const caller = loadCaller(ctx, c.userId, stale);
  const background = caller.priority === 'refresh';
  const roleArn = c.scope.roleArn ?? (await ctx.classic.role(ctx.upstream, signal));
  for (let attempt = 0; ; attempt += 1) {
    const token = await tokenFor(ctx, c.userId, signal, { tags: c.tags, background });
    const sessionName = c.scope.sessionName ?? defaultSessionName(token.identityId);
    const sentAt = ctx.options.clock.now();
    try {
      const out: AssumeRoleWithWebIdentityResponse = await ctx.upstream.call(
        { operation: ASSUME_ROLE_WEB_IDENTITY, caller },
        (_cognito, abortSignal) =>
          ctx.classic.sts().send(
            new AssumeRoleWithWebIdentityCommand({
              RoleArn: roleArn,
              RoleSessionName: sessionName,
              WebIdentityToken: unpackString(token.token),
              DurationSeconds: c.scope.durationSeconds,
              ...(c.scope.policy === undefined ? {} : { Policy: c.scope.policy }),
              ...(c.scope.policyArns.length === 0 ? {} : { PolicyArns: c.scope.policyArns.map((arn) => ({ arn })) }),
            }),
            { abortSignal },
          ),
        signal,
      );
      // How much of STS's packed-size limit the scope takes, in percent: near it, a slightly longer
      // policy (or more principal tags) would be refused with PackedPolicyTooLarge.
      const used = packedShare(out);
      if (used !== undefined && used >= PACKED_POLICY_WARN_PERCENT) {
        ctx.log.warn(
          { operation: ASSUME_ROLE_WEB_IDENTITY, scope: c.scopeHash, packedPolicySize: used },
          'session policy close to the packed size limit',
        );
      }
      return scopedEntry(ctx, c, token.identityId, out, sentAt);
    } catch (thrown) {
      const err = c.tags === undefined ? thrown : withTagSessionHint(thrown);
      if (attempt > 0 || !isBrokerError(err) || err.code !== 'ERR_COGNITO_REJECTED') throw err;
      ctx.log.info({ operation: ASSUME_ROLE_WEB_IDENTITY, code: err.code, scope: c.scopeHash }, 'token reloaded');
      dropToken(ctx, c.userId, c.tags, token);
    }
  }
}

/**
 * The answer's share of STS's size limit, percent: `SessionTokenUtilization` where STS answers it,
 * else `PackedPolicySize` (the SDK marks it deprecated for the former; the service's model in
 * ../shared/reference and the emulator answer it).
 */
function packedShare(out: AssumeRoleWithWebIdentityResponse): number | undefined {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- still answered: see above
  return out.SessionTokenUtilization ?? out.PackedPolicySize;
}

/** Drops the user's token entry if it is still `used` (a concurrent reload may have replaced it). */
function dropToken(ctx: BrokerContext, userId: string, tags: PrincipalTags | undefined, used: TokenEntry): void {
  const key = tokenKey(userId, tags);
  if (ctx.tokens.peek(key) === used) ctx.tokens.delete(key);
}

/** The cache key and load context of a user's scope, after every check. @throws BrokerError */
function scopedRead(
  ctx: BrokerContext,
  userId: string,
  input: ScopedCredentialsOptions | undefined,
  quietTags = false,
): { key: string; context: ScopedContext } {
  checkUserId(userId);
  const o = ctx.options;
  const scope = checkScope(input, o.classicFlow.durationSeconds, o.skewGraceSeconds);
  const tags = tagsFor(ctx, userId, quietTags);
  const hash = givenScopeHash(scope);
  const key = scopedKey(userId, tags, hash);
  // The user's least recently used scopes past classicFlow.maxScopesPerUser leave the cache.
  for (const old of ctx.scopeCap.use(userId, key)) ctx.scoped.delete(old);
  return { key, context: { userId, tags, scope, scopeHash: hash } };
}

/** `Broker.getScopedCredentials`. */
export async function getScopedCredentials(
  ctx: BrokerContext,
  userId: string,
  input?: ScopedCredentialsOptions,
  options?: UserCallOptions,
): Promise<IdentityCredentials> {
  const started = performance.now();
  const { key, context } = scopedRead(ctx, userId, input);
  const read = await ctx.scoped.get(key, context, options?.signal);
  if (ctx.log.isLevelEnabled('debug')) {
    ctx.log.debug(
      {
        operation: 'getScopedCredentials',
        scope: context.scopeHash,
        cache: read.hit ? 'hit' : 'miss',
        durationMs: Math.round(performance.now() - started),
      },
      'scoped credentials served',
    );
  }
  return unpackCredentials(read.value.body, read.value.expiration);
}

/**
 * `Broker.freshScopedCredentialsBody`: the cached body of the user's credentials for the scope when
 * they are fresh, synchronously, with no copy; `undefined` whenever `getScopedCredentials` would do
 * more (or throw).
 */
export function freshScopedCredentialsBody(
  ctx: BrokerContext,
  userId: string,
  input?: ScopedCredentialsOptions,
): Uint8Array | undefined {
  if (!isUserId(userId)) return undefined;
  let key: string;
  try {
    key = scopedRead(ctx, userId, input, true).key;
  } catch {
    return undefined;
  }
  const value = ctx.scoped.getFresh(key);
  if (value === undefined) return undefined;
  if (ctx.log.isLevelEnabled('debug'))
    ctx.log.debug({ operation: 'getScopedCredentials', cache: 'hit', durationMs: 0 }, 'scoped credentials served');
  return Buffer.from(value.body);
}

/**
 * `Broker.scopedCredentialProvider`: an AWS SDK v3 provider of the user's credentials for one scope,
 * on the same cache. The scope is checked now.
 * @throws BrokerError as `getScopedCredentials` for a bad user id or scope.
 */
export function scopedCredentialProvider(
  ctx: BrokerContext,
  userId: string,
  input?: ScopedCredentialsOptions,
): AwsCredentialIdentityProvider {
  // A copy, policy ARNs included, checked as copied: the caller's object may change after this call.
  const scope = copyScope(input);
  scopedRead(ctx, userId, scope);
  return async () => {
    const c = await getScopedCredentials(ctx, userId, scope);
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: new Date(c.expiration),
    };
  };
}

/** A copy of `input` two levels deep (its policy ARNs too); anything not an object as it is. */
function copyScope(input: ScopedCredentialsOptions | undefined): ScopedCredentialsOptions | undefined {
  if (typeof input !== 'object' || (input as unknown) === null || Array.isArray(input)) return input;
  const copy: Record<string, unknown> = { ...input };
  if (Array.isArray(copy.policyArns)) copy.policyArns = Array.from(copy.policyArns);
  return copy;
}
