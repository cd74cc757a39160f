import type { Response } from 'express';
import { ERROR_KINDS, type BrokerErrorCode } from '../errors.js';

/** The media type of every error response of the middleware (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The base of every problem `type` URI: `tag:cognito-identity-broker,2026:ERR_CONFLICT`. */
export const PROBLEM_TYPE_BASE = 'tag:cognito-identity-broker,2026:';

/** An RFC 9457 problem document as the middleware sends it. */
export interface Problem {
  /** A URI naming the kind of problem: `tag:cognito-identity-broker,2026:` followed by the code. */
  readonly type: string;
  /** A short, fixed, human-readable summary of the kind of problem. */
  readonly title: string;
  /** The HTTP status code. */
  readonly status: number;
  /** The stable code clients switch on. */
  readonly code: BrokerErrorCode;
  /** A generic explanation of this occurrence; never a token, secret, login map or user id. */
  readonly detail?: string;
}

/** Extra headers a problem response may carry. */
export interface ProblemHeaders {
  /** Seconds for `Retry-After` (sent on 429 and 503). */
  readonly retryAfterSeconds?: number;
  /** The `WWW-Authenticate` challenge (sent on 401). */
  readonly wwwAuthenticate?: string;
}

/** Builds a problem document for `code`; `detail` is sent as given, so keep it generic. */
export function problem(code: BrokerErrorCode, status: number, detail?: string): Problem {
  return {
    type: PROBLEM_TYPE_BASE + code,
    title: ERROR_KINDS[code].title,
    status,
    code,
    ...(detail === undefined ? {} : { detail }),
  };
}

/**
 * Writes `body` as `application/problem+json` with `Cache-Control: no-store`, `Retry-After` on
 * 429/503 and `WWW-Authenticate` on 401.
 */
export function sendProblem(res: Response, body: Problem, headers: ProblemHeaders = {}): void {
  res.status(body.status);
  res.set('Cache-Control', 'no-store');
  if (body.status === 429 || body.status === 503) {
    const seconds = Math.max(1, Math.ceil(headers.retryAfterSeconds ?? 1));
    res.set('Retry-After', String(seconds));
  }
  if (body.status === 401) {
    // Keep a challenge an authentication step already set (passport sets the strategy's own).
    const existing = res.getHeader('WWW-Authenticate');
    if (headers.wwwAuthenticate !== undefined) res.set('WWW-Authenticate', headers.wwwAuthenticate);
    else if (existing === undefined) res.set('WWW-Authenticate', 'Bearer realm="aws"');
  }
  res.type(PROBLEM_CONTENT_TYPE);
  res.send(JSON.stringify(body));
}
