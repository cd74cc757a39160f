/**
 * The stable error codes a {@link BrokerError} carries. Callers switch on `code`, never on message
 * text. Each code has one HTTP status (see {@link ERROR_KINDS}).
 */
export type BrokerErrorCode =
  /** No authenticated principal on the request. 401. */
  | 'ERR_UNAUTHENTICATED'
  /** The request body, parameters or provider name are not acceptable. 400. */
  | 'ERR_BAD_REQUEST'
  /**
   * A session policy of the classic flow (`getScopedCredentials`: `policy`, `policyArns`) is not
   * acceptable: not JSON, too long, malformed ARNs, or refused by STS (MalformedPolicyDocument,
   * PackedPolicyTooLarge). 400.
   */
  | 'ERR_BAD_POLICY'
  /** The caller is not allowed to do this (cross-site request, merge without proof, provider not allowed). 403. */
  | 'ERR_FORBIDDEN'
  /** The route or identity does not exist. 404. */
  | 'ERR_NOT_FOUND'
  /** The request body is larger than the configured limit. 413. */
  | 'ERR_PAYLOAD_TOO_LARGE'
  /** The login is already linked to another identity, or the developer user is registered elsewhere. 409. */
  | 'ERR_CONFLICT'
  /** The identity already has the maximum number of linked logins (or another service limit). 409. */
  | 'ERR_LIMIT_EXCEEDED'
  /**
   * A provider token (Facebook, Google, …) sent to be linked was refused by Cognito. 422: the
   * caller's own session is fine, so no 401 and no `WWW-Authenticate` (OAuth-aware clients read those
   * as "log the user out").
   */
  | 'ERR_PROVIDER_TOKEN_REJECTED'
  /** Too many requests from this user to the broker's own rate limiter. 429. */
  | 'ERR_RATE_LIMITED'
  /** Cognito throttled the call (TooManyRequestsException). 503, retryable. */
  | 'ERR_COGNITO_THROTTLED'
  /** Cognito rejected the call in a way that is not the client's fault (NotAuthorized on developer credentials…). 502. */
  | 'ERR_COGNITO_REJECTED'
  /** Cognito or its upstream (STS, an identity provider) failed, or could not be reached. 502/503, retryable. */
  | 'ERR_COGNITO_UNAVAILABLE'
  /** The call to Cognito took longer than the broker's per-call timeout. 504, retryable. */
  | 'ERR_COGNITO_TIMEOUT'
  /** The identity was disabled (merged away) or has no logins left. 409. */
  | 'ERR_IDENTITY_DISABLED'
  /**
   * Fleet mode: a change of identities (link, unlink, merge, guest upgrade) could not be recorded in
   * Redis, so the other instances could not learn it. 503, retryable, with `retryAfterSeconds`.
   */
  | 'ERR_FLEET_UNAVAILABLE'
  /** The pool, provider name or roles are misconfigured. 500; details only in the log. */
  | 'ERR_MISCONFIGURED'
  /** An unexpected failure inside the broker. 500. */
  | 'ERR_INTERNAL';

/** What each code means on the wire: its HTTP status and the fixed `title` of its problem document. */
export interface BrokerErrorKind {
  readonly status: number;
  readonly title: string;
}

/** The one table of codes: code → HTTP status and problem title. */
export const ERROR_KINDS: Readonly<Record<BrokerErrorCode, BrokerErrorKind>> = Object.freeze({
  ERR_UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  ERR_BAD_REQUEST: { status: 400, title: 'Bad request' },
  ERR_BAD_POLICY: { status: 400, title: 'Session policy rejected' },
  ERR_FORBIDDEN: { status: 403, title: 'Forbidden' },
  ERR_NOT_FOUND: { status: 404, title: 'Not found' },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  ERR_CONFLICT: { status: 409, title: 'Conflict' },
  ERR_LIMIT_EXCEEDED: { status: 409, title: 'Limit exceeded' },
  ERR_PROVIDER_TOKEN_REJECTED: { status: 422, title: 'Provider token rejected' },
  ERR_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  ERR_COGNITO_THROTTLED: { status: 503, title: 'Cognito is throttling requests' },
  ERR_COGNITO_REJECTED: { status: 502, title: 'Cognito rejected the request' },
  ERR_COGNITO_UNAVAILABLE: { status: 502, title: 'Cognito is unavailable' },
  ERR_COGNITO_TIMEOUT: { status: 504, title: 'Cognito did not answer in time' },
  ERR_IDENTITY_DISABLED: { status: 409, title: 'Identity disabled' },
  ERR_FLEET_UNAVAILABLE: { status: 503, title: 'Fleet tier unavailable' },
  ERR_MISCONFIGURED: { status: 500, title: 'Server misconfigured' },
  ERR_INTERNAL: { status: 500, title: 'Internal error' },
});

/** Options for {@link BrokerError}. */
export interface BrokerErrorOptions {
  /** The underlying error (an SDK exception, a network error). Kept for logs; never sent to clients. */
  cause?: unknown;
  /** Override the status from {@link ERROR_KINDS} (for example 503 instead of 502 when Cognito is down). */
  status?: number;
  /** Whether trying the same call again later may succeed. Default: false. */
  retryable?: boolean;
  /** A hint, in seconds, for `Retry-After`. Set for throttling and rate limiting. */
  retryAfterSeconds?: number;
}

/**
 * The one error type the broker and the middleware throw at runtime. Bad options are a `TypeError`
 * at construction instead.
 *
 * Messages are generic and never contain tokens, `Logins` maps, secrets or user ids; the detail
 * lives in `cause`, which is for logs only.
 */
export class BrokerError extends Error {
  /** The stable code callers switch on. */
  readonly code: BrokerErrorCode;
  /** The HTTP status to answer with (400–599). */
  readonly status: number;
  /** Whether the message may be shown to the client (true for 4xx). */
  readonly expose: boolean;
  /** Whether the same call may succeed later. */
  readonly retryable: boolean;
  /** Seconds to wait before retrying, where known. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: BrokerErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerError';
    this.code = code;
    this.status = options.status ?? ERROR_KINDS[code].status;
    this.expose = this.status < 500;
    this.retryable = options.retryable ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** True when `err` is a {@link BrokerError} (also across copies of this package). */
export function isBrokerError(err: unknown): err is BrokerError {
  return (
    err instanceof BrokerError ||
    (typeof err === 'object' &&
      err !== null &&
      (err as { name?: unknown }).name === 'BrokerError' &&
      typeof (err as { code?: unknown }).code === 'string' &&
      typeof (err as { status?: unknown }).status === 'number')
  );
}
