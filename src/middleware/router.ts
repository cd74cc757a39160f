import express, { type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import type { Broker } from '../broker/types.js';
import { afterLogin } from './after-login.js';
import { credentialsRoute } from './credentials-route.js';
import { sameOriginOnly } from './csrf.js';
import { brokerErrorHandler } from './error-handler.js';
import { guestRoute } from './guest-route.js';
import { identityRoute } from './identity-route.js';
import { linkLoginRoute } from './link-login-route.js';
import { forgetOnLogout } from './logout.js';
import { mergeRoute, type VerifyMergeSource } from './merge-route.js';
import { normaliseProviders } from './providers.js';
import { createRateLimiter, type MiddlewareClock, type RateLimitOptions } from './rate-limit.js';
import { assertOptionalFunction, assertRouteOptions } from './route-options.js';
import { tokenRoute } from './token-route.js';
import { unlinkLoginRoute } from './unlink-login-route.js';
import type { GetUserId } from './user-id.js';

/** Options of {@link cognitoRouter}. */
export interface CognitoRouterOptions {
  /** The broker, from `createBroker()`. */
  readonly broker: Broker;
  /**
   * Public login providers users may link and unlink (`["graph.facebook.com"]`). Required, so
   * that linking is a decision; `[]` allows none.
   */
  readonly allowedProviders: readonly string[];
  /** Reads the logged-in user's id from `req.user`. Default: `req.user?.id`. */
  readonly getUserId?: GetUserId;
  /** Proves the other account for `POST /merge`. Default: none, so every merge is refused (403). */
  readonly verifyMergeSource?: VerifyMergeSource;
  /**
   * Per-user limit on linking, unlinking and merging (and per client address on new guest
   * identities). Default `{ max: 10, windowSeconds: 60 }`; `false` turns it off.
   */
  readonly rateLimit?: RateLimitOptions | false;
  /** Origins besides the request's own host allowed to send state-changing requests. Default none. */
  readonly trustedOrigins?: readonly string[];
  /** Serve `POST /guest`. The pool must allow unauthenticated identities. Default false. */
  readonly allowGuests?: boolean;
  /** Logger for failures (codes only). Default: silent. */
  readonly logger?: Logger;
  /** Largest accepted JSON body, in bytes. Default 8192. */
  readonly bodyLimitBytes?: number;
  /** Clock for `expiresIn` and the rate limiter. Default `Date`. */
  readonly clock?: MiddlewareClock;
}

/** The router, plus the login and logout steps bound to the same options. */
export interface CognitoRouter extends Router {
  /** {@link afterLogin} with the router's broker, `getUserId` and logger. */
  afterLogin(): RequestHandler;
  /** {@link forgetOnLogout} with the router's broker and `getUserId`. */
  logout(): RequestHandler;
}

/**
 * Creates the Express router that serves a logged-in user's Cognito identity. Mount it after the
 * app's own session and passport setup, e.g. `app.use('/aws', cognitoRouter({...}))`.
 *
 * Routes: `GET /credentials`, `GET /token`, `GET /identity`, `POST /logins`,
 * `DELETE /logins/:provider`, `POST /merge`, and `POST /guest` when `allowGuests`. Every response
 * has `Cache-Control: no-store`; every error is `application/problem+json` with a stable `code`.
 * State-changing routes refuse cross-site requests on cookie sessions (403).
 * @throws TypeError when an option is invalid.
 */
export function cognitoRouter(options: CognitoRouterOptions): CognitoRouter {
  assertRouteOptions(options);
  normaliseProviders(options.allowedProviders);
  assertOptionalFunction(options.verifyMergeSource, 'verifyMergeSource');
  const bodyLimitBytes = options.bodyLimitBytes ?? 8192;
  if (!Number.isInteger(bodyLimitBytes) || bodyLimitBytes < 64 || bodyLimitBytes > 1_048_576) {
    throw new TypeError('bodyLimitBytes must be an integer in [64, 1048576]');
  }
  if (options.allowGuests !== undefined && typeof options.allowGuests !== 'boolean') {
    throw new TypeError('allowGuests must be a boolean');
  }
  if (options.rateLimit !== undefined && options.rateLimit !== false && (typeof options.rateLimit !== 'object' || (options.rateLimit as unknown) === null)) {
    throw new TypeError('rateLimit must be an object or false');
  }
  const limits = options.rateLimit === false ? undefined : { ...(options.clock ? { clock: options.clock } : {}), ...options.rateLimit };
  const rateLimiter = limits === undefined ? undefined : createRateLimiter(limits);
  const guestLimiter =
    limits === undefined ? undefined : createRateLimiter({ ...limits, max: (limits.max ?? 10) * 3 });
  const sameOrigin = sameOriginOnly(options.trustedOrigins === undefined ? {} : { trustedOrigins: options.trustedOrigins });
  const json = express.json({ limit: bodyLimitBytes, type: ['application/json', 'application/*+json'], strict: true });
  const base = { broker: options.broker, ...(options.getUserId ? { getUserId: options.getUserId } : {}), ...(options.clock ? { clock: options.clock } : {}) };
  const logins = { ...base, allowedProviders: options.allowedProviders, ...(rateLimiter ? { rateLimiter } : {}) };

  const router = express.Router();
  router.get('/credentials', credentialsRoute(base));
  router.get('/token', tokenRoute(base));
  router.get('/identity', identityRoute(base));
  router.post('/logins', sameOrigin, json, linkLoginRoute(logins));
  router.delete('/logins/:provider', sameOrigin, unlinkLoginRoute(logins));
  router.post(
    '/merge',
    sameOrigin,
    json,
    mergeRoute({
      ...base,
      ...(options.verifyMergeSource ? { verifyMergeSource: options.verifyMergeSource } : {}),
      ...(rateLimiter ? { rateLimiter } : {}),
    }),
  );
  if (options.allowGuests === true) {
    router.post('/guest', sameOrigin, guestRoute({ ...base, ...(guestLimiter ? { rateLimiter: guestLimiter } : {}) }));
  }
  router.use(brokerErrorHandler(options.logger ? { logger: options.logger } : {}));

  const loginStep = afterLogin({ ...base, ...(options.logger ? { logger: options.logger } : {}) });
  const logoutStep = forgetOnLogout(base);
  return Object.assign(router, {
    afterLogin: () => loginStep,
    logout: () => logoutStep,
  });
}
