import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { isBrokerError } from '../errors.js';
import { asyncHandler } from './user-route.js';
import { clearGuestId, isIdentityId, isPermanentGuestFailure, readGuestId } from './guest-session.js';
import { assertRouteOptions, type RouteOptions } from './route-options.js';
import { defaultGetUserId, requireUserId } from './user-id.js';

/** Options of {@link afterLogin}. */
export interface AfterLoginOptions extends RouteOptions {
  /** Where failures are logged (by code). Default: not logged. */
  readonly logger?: Logger;
}

/** What {@link afterLogin} leaves in `res.locals.cognito` for the app's login response. */
export interface AfterLoginResult {
  /** The user's identity id, when it could be resolved. */
  readonly identityId?: string;
  /** True when a guest identity was upgraded (the user now owns it). */
  readonly guestUpgraded: boolean;
}

function bodyGuestId(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as { guestIdentityId?: unknown }).guestIdentityId;
  return isIdentityId(v) ? v : undefined;
}

/**
 * A step to put right after `passport.authenticate(...)` on the login route. It warms the user's
 * token (so the first `/credentials` does not wait on Cognito) and, when the client presents a
 * guest identity (kept in the session by `POST /guest`, or `guestIdentityId` in the login body for
 * clients without a session), links it to the user so they keep the guest's identity (the broker
 * refuses any identity that is not a guest). The guest id leaves the session once the upgrade
 * succeeded or failed for good (not a guest any more, deleted, invalid); after a temporary failure
 * (throttling, timeout) it stays, the token is not warmed (that would give the user a new identity
 * and orphan the guest) and the user's next request to the router (or the next login) tries again
 * before anything else resolves the user's identity. Never fails the login: Cognito
 * errors are logged and the request continues. Leaves an {@link AfterLoginResult} in
 * `res.locals.cognito`.
 * @throws TypeError on invalid options.
 */
export function afterLogin(options: AfterLoginOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker } = options;
  const getUserId = options.getUserId ?? defaultGetUserId;
  const log = options.logger?.child({ component: 'cognito-middleware' });
  return asyncHandler(async (req, res, next) => {
    let userId: string;
    try {
      userId = requireUserId(req, getUserId);
    } catch {
      next();
      return;
    }
    const guestId = readGuestId(req) ?? bodyGuestId(req.body);
    let result: AfterLoginResult = { guestUpgraded: false };
    let retryGuestLater = false;
    if (guestId !== undefined) {
      try {
        // The broker refuses an identity that is not a guest (one with logins), so a presented id
        // can never hand someone else's identity to this user.
        const t = await broker.upgradeGuest(userId, guestId);
        result = { identityId: t.identityId, guestUpgraded: t.identityId === guestId };
        clearGuestId(req);
      } catch (err) {
        // Forget the guest only when it can never be upgraded; after a temporary failure
        // (throttling, timeout) keep it so that the next login tries again.
        if (isPermanentGuestFailure(err)) clearGuestId(req);
        else retryGuestLater = true;
        log?.warn(
          { step: 'afterLogin', code: isBrokerError(err) ? err.code : 'ERR_INTERNAL' },
          'guest identity not upgraded',
        );
      }
    }
    // Warming the token now would give a user without an identity a new one, orphaning the guest
    // that is still to be upgraded: skip it after a temporary upgrade failure.
    if (result.identityId === undefined && !retryGuestLater) {
      try {
        const t = await broker.getToken(userId);
        result = { identityId: t.identityId, guestUpgraded: false };
      } catch (err) {
        log?.warn(
          { step: 'afterLogin', code: isBrokerError(err) ? err.code : 'ERR_INTERNAL' },
          'could not warm the token at login',
        );
      }
    }
    res.locals.cognito = result;
    next();
  });
}
