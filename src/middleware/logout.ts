import type { RequestHandler } from 'express';
import { clearGuestId } from './guest-session.js';
import { assertRouteOptions, type RouteOptions } from './route-options.js';

/**
 * A step to put on the logout route before `req.logout()`: drops what the session holds for
 * Cognito (the guest identity id kept by `POST /guest`), so that the next person on the device
 * starts without it. The user's cached token and credentials stay in the broker while they are
 * valid: AWS credentials already issued cannot be revoked, so dropping them buys no security, and
 * the user's next login is then served from the cache instead of costing two Cognito calls. An app
 * that really must drop a user's entries (account deletion) calls `broker.forgetUser(userId)`.
 * Never calls Cognito, never fails.
 * @throws TypeError on invalid options.
 */
export function forgetOnLogout(options: RouteOptions): RequestHandler {
  assertRouteOptions(options);
  return (req, _res, next) => {
    clearGuestId(req);
    next();
  };
}
