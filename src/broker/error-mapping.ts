import { BrokerError, isBrokerError } from '../errors.js';
import { ASSUME_ROLE_WEB_IDENTITY, stsBrokerError } from './sts-errors.js';

/** What the broker was doing when an upstream call failed; decides between ambiguous codes. */
export interface UpstreamErrorContext {
  /** The Cognito operation, e.g. `GetOpenIdTokenForDeveloperIdentity`. */
  readonly operation: string;
  /** The call carried an end user's public-provider token (linking a login). */
  readonly providerToken?: boolean;
  /**
   * The call carried other end-user input (a guest identity id, a provider name, a paging token):
   * Cognito refusing it is the client's fault (4xx), not a misconfiguration.
   */
  readonly clientInput?: boolean;
}

/** Seconds to suggest in `Retry-After` when Cognito throttles (it sends no hint of its own). */
export const THROTTLE_RETRY_AFTER_SECONDS = 1;

const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPROTO',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const TIMEOUT_CODES: ReadonlySet<string> = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUT_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
/** Errors about the broker's own AWS credentials or signature: the deployment is misconfigured. */
const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'IncompleteSignatureException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
]);
/** Model members whose bad value means the broker's configuration is wrong. */
const CONFIG_MEMBERS = /^(?:identityPoolId|developerProviderName|tokenDuration|principalTags|customRoleArn)$/;

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

function shape(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? err : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/**
 * The model member a `ValidationException` names (`… at 'identityPoolId' failed to satisfy …`), or
 * `''`. Only the member name is read, never the value, which may be a token or a user id.
 */
export function validationMember(message: string): string {
  return /\bat '([\w.]+)'/.exec(message)?.[1] ?? '';
}

/** `Value '<anything>' at '<member>'` in a validation message: the value may be a token or a user id. */
const QUOTED_VALUE = /Value '[\s\S]*?' at '/g;

/**
 * Removes the values Cognito quotes in validation messages (`Value '<value>' at 'logins'`) from an
 * upstream error's `message` and `stack`, in place, so that logging the error — pino's `err`
 * serializer prints the whole `cause` chain — cannot leak a token, a `Logins` map or a user id.
 * The member names stay. Returns `err`.
 */
export function scrubUpstreamError<E>(err: E): E {
  if (!(err instanceof Error) || !err.message.includes("Value '")) return err;
  const original = err.message;
  const scrubbed = original.replace(QUOTED_VALUE, "Value '***' at '");
  err.message = scrubbed;
  if (typeof err.stack === 'string') err.stack = err.stack.split(original).join(scrubbed);
  return err;
}

/** Whether a Cognito message says the identity was disabled or is forbidden (merged away). */
export function saysIdentityDisabled(message: string): boolean {
  return /\bforbidden\b|\bdisabled\b/i.test(message);
}

function isNetworkError(s: SdkErrorShape): boolean {
  const code = str(s.code);
  if (NETWORK_CODES.has(code)) return true;
  const cause = shape(s.cause);
  return NETWORK_CODES.has(str(cause.code));
}

function isTimeoutError(s: SdkErrorShape): boolean {
  if (TIMEOUT_NAMES.has(str(s.name)) || TIMEOUT_CODES.has(str(s.code))) return true;
  const cause = shape(s.cause);
  return TIMEOUT_NAMES.has(str(cause.name)) || TIMEOUT_CODES.has(str(cause.code));
}

function misconfigured(err: unknown): BrokerError {
  return new BrokerError('ERR_MISCONFIGURED', 'The identity service is misconfigured', { cause: err });
}

/**
 * Maps anything an upstream Cognito call threw (an SDK service exception, a network error, a
 * timeout) to a {@link BrokerError}, keeping the original as `cause`. The one place that decides
 * codes; messages are generic and never contain the SDK's message, which may quote a value (and the
 * quoted values are scrubbed from the cause too, see {@link scrubUpstreamError}).
 *
 * | Cognito / transport | code | status | retryable |
 * |---|---|---|---|
 * | TooManyRequestsException, Throttling* | ERR_COGNITO_THROTTLED (+ retryAfterSeconds) | 503 | yes |
 * | ResourceConflictException, DeveloperUserAlreadyRegisteredException | ERR_CONFLICT | 409 | no |
 * | ConcurrentModificationException | ERR_CONFLICT | 409 | yes |
 * | LimitExceededException | ERR_LIMIT_EXCEEDED | 409 | no |
 * | NotAuthorizedException "forbidden"/"disabled" | ERR_IDENTITY_DISABLED | 409 | no |
 * | NotAuthorizedException with a provider token | ERR_PROVIDER_TOKEN_REJECTED | 422 | no |
 * | NotAuthorizedException on GetCredentialsForIdentity for an end user's guest id | ERR_FORBIDDEN | 403 | no |
 * | NotAuthorizedException on GetCredentialsForIdentity/UnlinkIdentity (our token refused) | ERR_COGNITO_REJECTED | 502 | no |
 * | NotAuthorizedException "unauthenticated" (guests not allowed) or about roles, other NotAuthorized on developer calls | ERR_MISCONFIGURED | 500 | no |
 * | ResourceNotFoundException naming the pool | ERR_MISCONFIGURED | 500 | no |
 * | ResourceNotFoundException (identity, user) | ERR_NOT_FOUND | 404 | no |
 * | InvalidIdentityPoolConfigurationException, AWS credential/signature errors | ERR_MISCONFIGURED | 500 | no |
 * | InvalidParameterException, ValidationException on end-user input | ERR_BAD_REQUEST | 400 | no |
 * | InvalidParameterException, ValidationException otherwise | ERR_MISCONFIGURED | 500 | no |
 * | InternalErrorException, ExternalServiceException, other 5xx | ERR_COGNITO_UNAVAILABLE | 502 (503 if Cognito said 503) | yes |
 * | ECONNREFUSED, ECONNRESET, ENOTFOUND… | ERR_COGNITO_UNAVAILABLE | 502 | yes |
 * | TimeoutError, AbortError, ETIMEDOUT | ERR_COGNITO_TIMEOUT | 504 | yes |
 * | any other 4xx from Cognito | ERR_COGNITO_REJECTED | 502 | no |
 * | anything else | ERR_INTERNAL | 500 | no |
 *
 * STS's AssumeRoleWithWebIdentity (the classic flow) is mapped by `stsBrokerError` first.
 * A `BrokerError` passes through unchanged.
 */
export function toBrokerError(err: unknown, context: UpstreamErrorContext): BrokerError {
  if (isBrokerError(err)) return err;
  const s = shape(scrubUpstreamError(err));
  const name = str(s.name);
  const message = str(s.message);
  const httpStatus = typeof s.$metadata?.httpStatusCode === 'number' ? s.$metadata.httpStatusCode : 0;
  const clientInput = context.clientInput === true || context.providerToken === true;
  // The classic flow's STS call has errors of its own (sts-errors.ts); the rest is mapped as below.
  if (context.operation === ASSUME_ROLE_WEB_IDENTITY) {
    const sts = stsBrokerError(err);
    if (sts !== undefined) return sts;
  }

  switch (name) {
    case 'TooManyRequestsException':
    case 'ThrottlingException':
    case 'Throttling':
    case 'RequestLimitExceeded':
    case 'SlowDown':
      return new BrokerError('ERR_COGNITO_THROTTLED', 'The identity service is busy; try again shortly', {
        cause: err,
        retryable: true,
        retryAfterSeconds: THROTTLE_RETRY_AFTER_SECONDS,
      });
    case 'ResourceConflictException':
      return new BrokerError('ERR_CONFLICT', 'The login is already linked to another identity', { cause: err });
    case 'DeveloperUserAlreadyRegisteredException':
      return new BrokerError('ERR_CONFLICT', 'The user is already registered with another identity', { cause: err });
    case 'ConcurrentModificationException':
      return new BrokerError('ERR_CONFLICT', 'The identity was changed concurrently; try again', {
        cause: err,
        retryable: true,
      });
    case 'LimitExceededException':
      return new BrokerError('ERR_LIMIT_EXCEEDED', 'The identity has reached a service limit', { cause: err });
    case 'NotAuthorizedException':
      if (saysIdentityDisabled(message)) {
        return new BrokerError('ERR_IDENTITY_DISABLED', 'The identity is disabled', { cause: err });
      }
      // Guests not allowed by the pool, or a role the pool will not give: the deployment's fault.
      if (/unauthenticated|\brole\b/i.test(message)) return misconfigured(err);
      if (context.providerToken === true && !/not authorized to perform|developer/i.test(message)) {
        return new BrokerError('ERR_PROVIDER_TOKEN_REJECTED', 'The provider token was not accepted', { cause: err });
      }
      if (context.operation === 'GetCredentialsForIdentity' && context.clientInput === true) {
        return new BrokerError('ERR_FORBIDDEN', 'The identity cannot be used as a guest', { cause: err });
      }
      if (context.operation === 'GetCredentialsForIdentity' || context.operation === 'UnlinkIdentity') {
        return new BrokerError('ERR_COGNITO_REJECTED', 'The identity service refused the identity token', {
          cause: err,
        });
      }
      return misconfigured(err);
    case 'ResourceNotFoundException':
      // "IdentityPool 'x' not found." is the pool; "Identity 'x' not found in IdentityPool 'y'." is not.
      if (/^identity ?pool\b/i.test(message) || (message === '' && !clientInput)) return misconfigured(err);
      return new BrokerError('ERR_NOT_FOUND', 'The identity or user was not found', { cause: err });
    case 'InvalidIdentityPoolConfigurationException':
      return misconfigured(err);
    case 'InvalidParameterException':
    case 'ValidationException': {
      const member = validationMember(message);
      if (CONFIG_MEMBERS.test(member) || /developer ?provider|identity ?pool|role/i.test(message) || !clientInput) {
        return misconfigured(err);
      }
      return new BrokerError('ERR_BAD_REQUEST', 'The identity service rejected the request', { cause: err });
    }
    case 'InternalErrorException':
    case 'ExternalServiceException':
    case 'InternalFailure':
    case 'ServiceUnavailable':
    case 'ServiceUnavailableException':
      return new BrokerError('ERR_COGNITO_UNAVAILABLE', 'The identity service is unavailable', {
        cause: err,
        retryable: true,
        ...(httpStatus === 503 ? { status: 503 } : {}),
      });
    default:
      break;
  }
  if (CREDENTIAL_ERRORS.has(name)) return misconfigured(err);
  if (isTimeoutError(s)) {
    return new BrokerError('ERR_COGNITO_TIMEOUT', 'The identity service did not answer in time', {
      cause: err,
      retryable: true,
    });
  }
  if (isNetworkError(s)) {
    return new BrokerError('ERR_COGNITO_UNAVAILABLE', 'The identity service could not be reached', {
      cause: err,
      retryable: true,
    });
  }
  if (httpStatus >= 500 || s.$fault === 'server') {
    return new BrokerError('ERR_COGNITO_UNAVAILABLE', 'The identity service is unavailable', {
      cause: err,
      retryable: true,
      ...(httpStatus === 503 ? { status: 503 } : {}),
    });
  }
  if (httpStatus >= 400 || s.$fault === 'client') {
    return new BrokerError('ERR_COGNITO_REJECTED', 'The identity service rejected the request', { cause: err });
  }
  return new BrokerError('ERR_INTERNAL', 'Unexpected failure calling the identity service', { cause: err });
}

/** The SDK exception name (or Node error code) of an error's cause, for log lines. Never the message. */
export function upstreamErrorName(err: unknown): string {
  const s = shape(isBrokerError(err) ? err.cause : err);
  return str(s.name) === 'Error' && str(s.code) !== '' ? str(s.code) : str(s.name) || str(s.code) || 'unknown';
}
