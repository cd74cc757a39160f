import { BrokerError, isBrokerError } from '../errors.js';

/** STS's operation of the classic flow, as counted in `BrokerStats.upstreamCalls` and governed. */
export const ASSUME_ROLE_WEB_IDENTITY = 'AssumeRoleWithWebIdentity';

const REFUSED_ROLE =
  'STS refused to assume the role: its trust policy must allow sts:AssumeRoleWithWebIdentity for the principal cognito-identity.amazonaws.com with the condition cognito-identity.amazonaws.com:aud = the identity pool id and cognito-identity.amazonaws.com:amr = authenticated; or the pool does not allow the classic flow (AllowClassicFlow) or has role mappings';

/**
 * The refused-role error of a call whose token carries principal tags: the trust policy must then
 * allow sts:TagSession too. Any other error as it is.
 */
export function withTagSessionHint(err: unknown): unknown {
  if (!isBrokerError(err) || err.code !== 'ERR_MISCONFIGURED' || err.message !== REFUSED_ROLE) return err;
  return new BrokerError(
    'ERR_MISCONFIGURED',
    `${REFUSED_ROLE}; with principal tags, the trust policy must also allow sts:TagSession`,
    { cause: err.cause },
  );
}

/**
 * Maps what STS's AssumeRoleWithWebIdentity refuses (by the SDK's error name; never its message,
 * which may quote the policy) to a {@link BrokerError}; `undefined` for anything else, which the
 * common mapping (error-mapping.ts: throttling, outages, timeouts, network) handles.
 *
 * | STS | code | status | retryable |
 * |---|---|---|---|
 * | MalformedPolicyDocument, PackedPolicyTooLarge | ERR_BAD_POLICY | 400 | no |
 * | ExpiredTokenException (the OpenID token) | ERR_COGNITO_REJECTED (the broker reloads the token once first) | 502 | yes |
 * | InvalidIdentityToken | ERR_COGNITO_REJECTED | 502 | no |
 * | IDPCommunicationError | ERR_COGNITO_UNAVAILABLE | 502 | yes |
 * | AccessDenied, IDPRejectedClaim (the role's trust policy) | ERR_MISCONFIGURED | 500 | no |
 * | RegionDisabledException, ValidationError | ERR_MISCONFIGURED | 500 | no |
 */
export function stsBrokerError(err: unknown): BrokerError | undefined {
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  switch (name) {
    case 'MalformedPolicyDocumentException':
    case 'MalformedPolicyDocument':
      return new BrokerError('ERR_BAD_POLICY', 'STS refused the session policy as malformed', { cause: err });
    case 'PackedPolicyTooLargeException':
    case 'PackedPolicyTooLarge':
      return new BrokerError(
        'ERR_BAD_POLICY',
        'The session policy, policy ARNs and principal tags are too large once packed: shorten them',
        { cause: err },
      );
    case 'ExpiredTokenException':
    case 'ExpiredToken':
      return new BrokerError('ERR_COGNITO_REJECTED', 'STS found the identity token expired', {
        cause: err,
        retryable: true,
      });
    case 'InvalidIdentityTokenException':
    case 'InvalidIdentityToken':
      return new BrokerError('ERR_COGNITO_REJECTED', 'STS refused the identity token', { cause: err });
    case 'IDPCommunicationErrorException':
    case 'IDPCommunicationError':
      return new BrokerError('ERR_COGNITO_UNAVAILABLE', 'STS could not reach the identity provider', {
        cause: err,
        retryable: true,
      });
    case 'AccessDenied':
    case 'AccessDeniedException':
    case 'IDPRejectedClaimException':
    case 'IDPRejectedClaim':
      return new BrokerError('ERR_MISCONFIGURED', REFUSED_ROLE, { cause: err });
    case 'RegionDisabledException':
      return new BrokerError('ERR_MISCONFIGURED', "STS is not activated in the pool's region for this account", {
        cause: err,
      });
    case 'ValidationError':
      return new BrokerError(
        'ERR_MISCONFIGURED',
        "STS refused the request's parameters (the duration may exceed the role's maximum session duration)",
        { cause: err },
      );
    default:
      return undefined;
  }
}
