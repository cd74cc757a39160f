/**
 * The stable codes of a {@link BrokerClientError}. Apps switch on `code`, never on message text.
 * - `ERR_UNAUTHENTICATED`: the broker answered 401 (nobody is logged in, or the session or bearer
 *   token expired); send the user to the login screen.
 * - `ERR_UNAVAILABLE`: 429 or 503 still, after the retries the budget allows; `retryAfterSeconds`
 *   says when to try again, where the broker said.
 * - `ERR_HTTP`: any other non-2xx status (`status`, and the problem document's code in `serverCode`).
 * - `ERR_BAD_RESPONSE`: a 2xx answer that is not the JSON shape of the route, or credentials (the
 *   broker's, or Cognito's for `fromBrokerToken`) that are already expired or have no valid expiration.
 * - `ERR_NETWORK`: `fetch` failed (offline, DNS, CORS, an aborted request).
 * - `ERR_TIMEOUT`: no complete answer within `timeoutMs`.
 * - `ERR_COGNITO`: `fromBrokerToken` only: the SDK's `fromCognitoIdentity` failed (its error is the `cause`).
 */
export type BrokerClientErrorCode =
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_UNAVAILABLE'
  | 'ERR_HTTP'
  | 'ERR_BAD_RESPONSE'
  | 'ERR_NETWORK'
  | 'ERR_TIMEOUT'
  | 'ERR_COGNITO';

/** The optional parts of a {@link BrokerClientError}. */
export interface BrokerClientErrorDetails {
  readonly serverCode?: string;
  readonly retryAfterSeconds?: number;
  /** The underlying error (a fetch failure, the SDK's error); never the response body. */
  readonly cause?: unknown;
}

/**
 * The one error type of `cognito-identity-broker/client` at runtime (bad options are a `TypeError`
 * at construction). Messages are fixed texts: never a token, a key, a session token, a cookie, an
 * `Authorization` header, the URL or the response body.
 */
export class BrokerClientError extends Error {
  // `declare`: set by Object.assign in the constructor, which is shorter in the bundle than fields.
  /** The stable code apps switch on. */
  declare readonly code: BrokerClientErrorCode;
  /** The HTTP status of the broker's answer, when there was one. */
  declare readonly status: number | undefined;
  /** The `code` of the broker's problem document (e.g. `ERR_COGNITO_THROTTLED`), when it sent one. */
  declare readonly serverCode: string | undefined;
  /** The broker's `Retry-After`, in seconds, on `ERR_UNAVAILABLE`. */
  declare readonly retryAfterSeconds: number | undefined;

  constructor(code: BrokerClientErrorCode, message: string, status?: number, details: BrokerClientErrorDetails = {}) {
    // `details` doubles as the ErrorOptions: Error only reads its `cause`.
    super(status === undefined ? message : `${message} (HTTP ${status})`, details);
    Object.assign(this, { name: 'BrokerClientError', code, status }, details);
  }
}
