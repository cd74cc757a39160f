import {
  DescribeIdentityPoolCommand,
  GetIdentityPoolRolesCommand,
  type DescribeIdentityPoolCommandOutput,
  type GetIdentityPoolRolesCommandOutput,
} from '@aws-sdk/client-cognito-identity';
import { BrokerError, isBrokerError } from '../../errors.js';
import type { BrokerContext } from '../context.js';
import { upstreamErrorName } from '../error-mapping.js';
import type { PreflightOptions, PreflightResult } from '../types.js';

/** The control-plane operations the preflight calls (counted in `stats().upstreamCalls` as such). */
const DESCRIBE_POOL = 'DescribeIdentityPool';
const POOL_ROLES = 'GetIdentityPoolRoles';

/** Errors that say the SDK found no credentials, or Cognito refused the ones it signed with. */
const NO_CREDENTIALS: ReadonlySet<string> = new Set(['CredentialsProviderError']);
const BAD_CREDENTIALS: ReadonlySet<string> = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
]);
const NOT_ALLOWED: ReadonlySet<string> = new Set(['AccessDeniedException', 'NotAuthorizedException']);

function misconfigured(reason: string, cause?: unknown): BrokerError {
  return new BrokerError('ERR_MISCONFIGURED', reason, cause === undefined ? {} : { cause });
}

/**
 * Names what a failed control-plane call says about the deployment. Only `ERR_MISCONFIGURED`
 * becomes a reason; throttling, timeouts and outages pass through with their own (retryable) codes,
 * since the configuration may be right.
 */
function explain(err: unknown, ctx: BrokerContext, operation: string): unknown {
  if (!isBrokerError(err) || err.code !== 'ERR_MISCONFIGURED') return err;
  const name = upstreamErrorName(err);
  const { identityPoolId, region } = ctx.options;
  if (NO_CREDENTIALS.has(name)) {
    return misconfigured(
      'no AWS credentials: the SDK found none (environment variables, shared config and credentials files, SSO, container or instance role)',
      err.cause,
    );
  }
  if (BAD_CREDENTIALS.has(name)) {
    return misconfigured(
      `Cognito refused the AWS credentials (${name}): check the access key id, its secret and session token, and that they have not expired`,
      err.cause,
    );
  }
  if (NOT_ALLOWED.has(name)) {
    return misconfigured(
      `the AWS credentials may not call cognito-identity:${operation} on identity pool ${identityPoolId} (${name}): allow it in their IAM policy`,
      err.cause,
    );
  }
  if (name === 'ResourceNotFoundException') {
    return misconfigured(
      `identity pool ${identityPoolId} does not exist in ${region} for the account of these AWS credentials`,
      err.cause,
    );
  }
  return misconfigured(`Cognito refused ${operation} for identity pool ${identityPoolId} (${name})`, err.cause);
}

/**
 * `Broker.preflight`: checks that the broker can work with its pool, in two signed control-plane
 * calls (DescribeIdentityPool, GetIdentityPoolRoles): the SDK resolves the AWS credentials, the
 * pool exists, its developer provider name is the broker's, and it has an authenticated role (and,
 * with `guests`, allows guests and has an unauthenticated role).
 */
export async function preflight(ctx: BrokerContext, options: PreflightOptions = {}): Promise<PreflightResult> {
  // Types do not protect JavaScript callers.
  if (typeof (options as unknown) !== 'object' || (options as unknown) === null) {
    throw new TypeError('preflight options must be an object');
  }
  if (options.guests !== undefined && typeof options.guests !== 'boolean') {
    throw new TypeError('preflight options.guests must be a boolean');
  }
  if (options.classicFlow !== undefined && typeof options.classicFlow !== 'boolean') {
    throw new TypeError('preflight options.classicFlow must be a boolean');
  }
  const { identityPoolId, developerProviderName, region } = ctx.options;
  let pool: DescribeIdentityPoolCommandOutput;
  try {
    pool = await ctx.upstream.call(
      { operation: DESCRIBE_POOL },
      (client, abortSignal) =>
        client.send(new DescribeIdentityPoolCommand({ IdentityPoolId: identityPoolId }), { abortSignal }),
      options.signal,
    );
  } catch (err) {
    throw explain(err, ctx, DESCRIBE_POOL);
  }
  const poolProvider = pool.DeveloperProviderName;
  if (poolProvider === undefined || poolProvider === '') {
    throw misconfigured(
      `identity pool ${identityPoolId} has no developer provider name: set it to "${developerProviderName}" (custom authentication provider)`,
    );
  }
  if (poolProvider !== developerProviderName) {
    throw misconfigured(
      `identity pool ${identityPoolId} has developer provider name "${poolProvider}", not "${developerProviderName}": use the pool's name in the broker's developerProviderName`,
    );
  }
  const allowGuests = pool.AllowUnauthenticatedIdentities === true;
  if (options.guests === true && !allowGuests) {
    throw misconfigured(
      `identity pool ${identityPoolId} does not allow unauthenticated (guest) identities: allow them, or turn guests off`,
    );
  }
  let roles: GetIdentityPoolRolesCommandOutput;
  try {
    roles = await ctx.upstream.call(
      { operation: POOL_ROLES },
      (client, abortSignal) =>
        client.send(new GetIdentityPoolRolesCommand({ IdentityPoolId: identityPoolId }), { abortSignal }),
      options.signal,
    );
  } catch (err) {
    throw explain(err, ctx, POOL_ROLES);
  }
  const authenticated = roles.Roles?.authenticated;
  if (authenticated === undefined || authenticated === '') {
    throw misconfigured(
      `identity pool ${identityPoolId} has no authenticated role: set the IAM role for authenticated identities`,
    );
  }
  const unauthenticated = roles.Roles?.unauthenticated;
  if (options.guests === true && (unauthenticated === undefined || unauthenticated === '')) {
    throw misconfigured(
      `identity pool ${identityPoolId} has no unauthenticated role: set the IAM role for guest identities, or turn guests off`,
    );
  }
  const classicFlow = classicFlowUsable(identityPoolId, pool, roles);
  if (options.classicFlow === true && classicFlow.reason !== undefined) throw misconfigured(classicFlow.reason);
  return Object.freeze({
    identityPoolId,
    identityPoolName: pool.IdentityPoolName ?? '',
    region,
    developerProviderName: poolProvider,
    allowUnauthenticatedIdentities: allowGuests,
    roles: Object.freeze({
      authenticated,
      ...(unauthenticated === undefined || unauthenticated === '' ? {} : { unauthenticated }),
    }),
    classicFlow,
  });
}

/** Whether the pool lets the classic flow (STS AssumeRoleWithWebIdentity with its tokens) work. */
function classicFlowUsable(
  identityPoolId: string,
  pool: DescribeIdentityPoolCommandOutput,
  roles: GetIdentityPoolRolesCommandOutput,
): { readonly usable: boolean; readonly reason?: string } {
  if (pool.AllowClassicFlow !== true) {
    return Object.freeze({
      usable: false,
      reason: `identity pool ${identityPoolId} does not allow the classic flow: turn on AllowClassicFlow (basic authflow) to use getScopedCredentials`,
    });
  }
  if (Object.keys(roles.RoleMappings ?? {}).length > 0) {
    return Object.freeze({
      usable: false,
      reason: `identity pool ${identityPoolId} has role mappings, with which STS refuses the classic flow: remove them to use getScopedCredentials`,
    });
  }
  return Object.freeze({ usable: true });
}
