import type { RequestHandler } from 'express';
import { clearGuestId } from './guest-session.js';
import { assertRouteOptions, type RouteOptions } from './route-options.js';
import { defaultGetUserId, requireUserId } from './user-id.js';

/**
 * A step to put on the logout route before `req.logout()`: drops every cache entry of the user
 * in the broker (`broker.forgetUser`) and the guest identity kept in the session. Never calls
 * Cognito, never fails.
 * @throws TypeError on invalid options.
 */
export function forgetOnLogout(options: RouteOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker } = options;
  const getUserId = options.getUserId ?? defaultGetUserId;
  return (req, _res, next) => {
    try {
      broker.forgetUser(requireUserId(req, getUserId));
    } catch {
      // Nobody logged in: nothing to forget.
    }
    clearGuestId(req);
    next();
  };
}
