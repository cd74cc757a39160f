import type { RequestHandler } from 'express';
import type { IdentityDescription } from '../../broker/index.js';
import type { RateLimiter } from '../rate-limit.js';
import { assertRouteOptions, type RouteOptions } from '../route-options.js';
import { userRoute } from '../user-route.js';

/** The body of `GET /identity`, `POST /logins` and `DELETE /logins/:provider`. */
export interface IdentityResponse {
  readonly identityId: string;
  /** Provider names of the linked public logins. */
  readonly logins: readonly string[];
  /** ISO 8601, when known. */
  readonly creationDate?: string;
  /** ISO 8601, when known. */
  readonly lastModifiedDate?: string;
}

/** The wire form of an identity description. */
export function identityBody(d: IdentityDescription): IdentityResponse {
  return {
    identityId: d.identityId,
    logins: [...d.logins],
    ...(d.creationDate === undefined ? {} : { creationDate: new Date(d.creationDate).toISOString() }),
    ...(d.lastModifiedDate === undefined ? {} : { lastModifiedDate: new Date(d.lastModifiedDate).toISOString() }),
  };
}

/** Options of {@link identityRoute}. */
export interface IdentityRouteOptions extends RouteOptions {
  /**
   * Counts each request per user before it reaches Cognito: every one costs a `DescribeIdentity`
   * call, which has an account-wide quota. Past the limit: 429 `ERR_RATE_LIMITED` with `Retry-After`.
   */
  readonly rateLimiter?: Pick<RateLimiter, 'consume'>;
}

/**
 * `GET /identity`: the logged-in user's identity id and linked logins (one `DescribeIdentity` call
 * per request, so limited per user when a `rateLimiter` is given).
 * @throws TypeError on invalid options. Request-time errors go to `next(err)` as `BrokerError`s.
 */
export function identityRoute(options: IdentityRouteOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker, rateLimiter } = options;
  return userRoute(options, async (userId, _req, res) => {
    rateLimiter?.consume(userId);
    const d = await broker.describeIdentity(userId);
    res.set('Cache-Control', 'no-store');
    res.json(identityBody(d));
  });
}
