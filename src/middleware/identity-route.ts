import type { RequestHandler } from 'express';
import type { IdentityDescription } from '../broker/types.js';
import { asyncHandler } from './async-handler.js';
import { assertRouteOptions, type RouteOptions } from './route-options.js';
import { defaultGetUserId, requireUserId } from './user-id.js';

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

/**
 * `GET /identity`: the logged-in user's identity id and linked logins.
 * @throws TypeError on invalid options. Request-time errors go to `next(err)` as `BrokerError`s.
 */
export function identityRoute(options: RouteOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker } = options;
  const getUserId = options.getUserId ?? defaultGetUserId;
  return asyncHandler(async (req, res) => {
    const userId = requireUserId(req, getUserId);
    const d = await broker.describeIdentity(userId);
    res.set('Cache-Control', 'no-store');
    res.json(identityBody(d));
  });
}
