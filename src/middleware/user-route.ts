import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { readGuestId, upgradePendingGuest } from './guest-session.js';
import { assertRouteOptions, type RouteOptions } from './route-options.js';
import { defaultGetUserId, requireUserId } from './user-id.js';

/**
 * Wraps an async handler so that a rejection reaches `next(err)` explicitly (Express 4 does not
 * catch rejected promises; Express 5 would).
 */
export function asyncHandler(fn: (req: Request, res: Response, next: NextFunction) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    fn(req, res, next).catch(next);
  };
}

/**
 * The handler of a route for the logged-in user: validates the shared options, reads the user id
 * (`ERR_UNAUTHENTICATED` when nobody is logged in), finishes a guest upgrade the session still
 * holds ({@link upgradePendingGuest}) and runs `handle`. A throw or a rejection goes to
 * `next(err)`. `handle` may answer synchronously (returning nothing), with no promise made.
 * @throws TypeError on invalid options.
 */
export function userRoute(
  options: RouteOptions,
  handle: (userId: string, req: Request, res: Response) => Promise<void> | undefined,
): RequestHandler {
  assertRouteOptions(options);
  const { broker } = options;
  const getUserId = options.getUserId ?? defaultGetUserId;
  return (req, res, next) => {
    let pending: Promise<void> | undefined;
    try {
      const userId = requireUserId(req, getUserId);
      // A session with a guest id left by a failed upgrade at login: upgrade it before anything
      // resolves the user's identity. Otherwise (every request but the first after such a login)
      // nothing is awaited.
      pending =
        readGuestId(req) === undefined
          ? handle(userId, req, res)
          : upgradePendingGuest(broker, req, userId).then(() => handle(userId, req, res));
    } catch (err) {
      next(err);
      return;
    }
    pending?.catch(next);
  };
}
