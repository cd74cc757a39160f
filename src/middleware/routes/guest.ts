import type { RequestHandler } from 'express';
import type { IdentityCredentials } from '../../broker/index.js';
import { clearGuestId, isPermanentGuestFailure, readGuestId, writeGuestId } from '../guest-session.js';
import { addressKey } from '../address-key.js';
import type { RateLimiter } from '../rate-limit.js';
import { assertRouteOptions, type RouteOptions } from '../route-options.js';
import { sendNoStoreJson } from '../send-json.js';
import { asyncHandler } from '../user-route.js';
import { credentialsBody } from './credentials.js';

/** Options of {@link guestRoute}. */
export interface GuestRouteOptions extends RouteOptions {
  /** Counts each new guest identity per client address, IPv6 by /64 (each costs a Cognito identity). */
  readonly rateLimiter?: Pick<RateLimiter, 'consume'>;
}

/**
 * `POST /guest`: credentials for a guest (unauthenticated) identity. Cookie clients keep the guest
 * identity id in their session (and get the same identity back); clients without a session get
 * the id in the body and present it at login as `guestIdentityId` to keep it. When the session's
 * guest is gone for good (upgraded by someone else, deleted: 403/404 from the broker), it is
 * dropped and a new guest identity issued (counted by the rate limiter like any new one); after a
 * temporary failure the error is answered and the session keeps its guest. Never accepts an
 * identity id from the request, so no one can ask for someone else's identity here.
 * @throws TypeError on invalid options. Request-time errors go to `next(err)`.
 */
export function guestRoute(options: GuestRouteOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker, rateLimiter } = options;
  return asyncHandler(async (req, res) => {
    const existing = readGuestId(req);
    let c: IdentityCredentials | undefined;
    if (existing !== undefined) {
      try {
        c = await broker.getGuestCredentials(existing);
      } catch (err) {
        // Temporary failures (throttling, timeout) go to the client and the session keeps its
        // guest; a guest that is gone for good is dropped and replaced below.
        if (!isPermanentGuestFailure(err)) throw err;
        clearGuestId(req);
      }
    }
    if (c === undefined) {
      // IPv6 clients by their /64: one subscriber holds a whole /64.
      rateLimiter?.consume(`guest:${addressKey(req.ip)}`);
      c = await broker.getGuestCredentials(undefined);
    }
    writeGuestId(req, c.identityId);
    sendNoStoreJson(res, JSON.stringify(credentialsBody(c)));
  });
}
