/**
 * The stable error codes a {@link BrokerError} carries. Callers switch on `code`, never on message
 * text. Each code has one HTTP status (see {@link STATUS_BY_CODE}).
 */
export type BrokerErrorCode =
  /** No authenticated principal on the request. 401. */
  | 'ERR_UNAUTHENTICATED'
  /** The request body, parameters or provider name are not acceptable. 400. */
  | 'ERR_BAD_REQUEST'
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
  /** A provider token (Facebook, Google, …) was refused by Cognito. 401. */
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
  /** The pool, provider name or roles are misconfigured. 500; details only in the log. */
  | 'ERR_MISCONFIGURED'
  /** An unexpected failure inside the broker. 500. */
  | 'ERR_INTERNAL';

/** The HTTP status each code maps to. */
export const STATUS_BY_CODE: Readonly<Record<BrokerErrorCode, number>> = Object.freeze({
  ERR_UNAUTHENTICATED: 401,
  ERR_BAD_REQUEST: 400,
  ERR_FORBIDDEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_CONFLICT: 409,
  ERR_LIMIT_EXCEEDED: 409,
  ERR_PROVIDER_TOKEN_REJECTED: 401,
  ERR_RATE_LIMITED: 429,
  ERR_COGNITO_THROTTLED: 503,
  ERR_COGNITO_REJECTED: 502,
  ERR_COGNITO_UNAVAILABLE: 502,
  ERR_COGNITO_TIMEOUT: 504,
  ERR_IDENTITY_DISABLED: 409,
  ERR_MISCONFIGURED: 500,
  ERR_INTERNAL: 500,
});

/** Options for {@link BrokerError}. */
export interface BrokerErrorOptions {
  /** The underlying error (an SDK exception, a network error). Kept for logs; never sent to clients. */
  cause?: unknown;
  /** Override the status from {@link STATUS_BY_CODE} (for example 503 instead of 502 when Cognito is down). */
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
    this.status = options.status ?? STATUS_BY_CODE[code];
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
