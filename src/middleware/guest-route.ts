import type { RequestHandler } from 'express';
import { asyncHandler } from './async-handler.js';
import { credentialsBody } from './credentials-route.js';
import { readGuestId, writeGuestId } from './guest-session.js';
import type { RateLimiter } from './rate-limit.js';
import { assertRouteOptions, type RouteOptions } from './route-options.js';

/** Options of {@link guestRoute}. */
export interface GuestRouteOptions extends RouteOptions {
  /** Counts each new guest identity per client address (each costs a Cognito identity). */
  readonly rateLimiter?: RateLimiter;
}

/**
 * `POST /guest`: credentials for a guest (unauthenticated) identity. Cookie clients keep the guest
 * identity id in their session (and get the same identity back); clients without a session get
 * the id in the body and present it at login as `guestIdentityId` to keep it. Never accepts an
 * identity id from the request, so no one can ask for someone else's identity here.
 * @throws TypeError on invalid options. Request-time errors go to `next(err)`.
 */
export function guestRoute(options: GuestRouteOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker, rateLimiter } = options;
  return asyncHandler(async (req, res) => {
    const existing = readGuestId(req);
    if (existing === undefined) rateLimiter?.consume(`guest:${req.ip ?? 'unknown'}`);
    const c = await broker.getGuestCredentials(existing);
    writeGuestId(req, c.identityId);
    res.set('Cache-Control', 'no-store');
    res.json(credentialsBody(c));
  });
}
