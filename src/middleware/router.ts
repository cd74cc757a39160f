import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Broker, Clock } from '../broker/index.js';
import { BrokerError } from '../errors.js';
import { afterLogin } from './after-login.js';
import { sameOriginOnly } from './csrf.js';
import { brokerErrorHandler } from './error-handler.js';
import { jsonBody } from './json-body.js';
import { forgetOnLogout } from './logout.js';
import { normaliseProviders } from './providers.js';
import { createRateLimiter, type RateLimitOptions } from './rate-limit.js';
import { assertOptionalFunction, assertRouteOptions } from './route-options.js';
import { credentialsRoute } from './routes/credentials.js';
import { guestRoute } from './routes/guest.js';
import { identityRoute } from './routes/identity.js';
import { linkLoginRoute, unlinkLoginRoute } from './routes/logins.js';
import { mergeRoute, type VerifyMergeSource } from './routes/merge.js';
import { scopedCredentialsRoute, type ScopeForRequest } from './routes/scoped-credentials.js';
import { tokenRoute } from './routes/token.js';
import type { GetUserId } from './user-id.js';

interface Route {
  readonly method: string;
  readonly path: RegExp;
  readonly handlers: readonly RequestHandler[];
}

/** Runs `handlers` in order; an error goes to `onError`; falling off the end goes to `next`. */
function runChain(
  handlers: readonly RequestHandler[],
  onError: ErrorRequestHandler,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  let i = 0;
  const step = (err?: unknown): void => {
    if (err !== undefined && err !== null && err !== 'route' && err !== 'router') {
      void onError(err, req, res, next);
      return;
    }
    const h = handlers[i++];
    if (h === undefined || err === 'route' || err === 'router') {
      next();
      return;
    }
    try {
      void h(req, res, step);
    } catch (e) {
      step(e ?? new Error('handler threw'));
    }
  };
  step();
}

/** Matches the request against the routes (paths relative to the mount point, case-insensitive). */
function dispatch(
  routes: readonly Route[],
  onError: ErrorRequestHandler,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const path = req.path;
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.path.exec(path);
    if (m === null) continue;
    const provider = m.groups?.provider;
    if (provider !== undefined) {
      try {
        req.params = { ...req.params, provider: decodeURIComponent(provider) };
      } catch {
        void onError(new BrokerError('ERR_BAD_REQUEST', 'The provider in the path is not valid.'), req, res, next);
        return;
      }
    }
    runChain(route.handlers, onError, req, res, next);
    return;
  }
  next();
}

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
   * identities). Default `{ max: 10, windowSeconds: 60 }`; `false` turns it off. `GET /identity`
   * (one Cognito `DescribeIdentity` call per request, an account-wide quota) has its own per-user
   * budget of three times `max` per window, apart from the linking budget. Past a limit: 429
   * `ERR_RATE_LIMITED` with `Retry-After`, before any Cognito call.
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
  readonly clock?: Clock;
  /**
   * Serve `GET /credentials/scoped`: scoped-down credentials through the classic flow
   * (`broker.getScopedCredentials`), with the scope this function computes from the request, e.g.
   * `(req, userId) => ({ policy: uploadPolicyFor(userId), durationSeconds: 900 })`; `undefined`
   * refuses the request (403). Default: not served.
   */
  readonly scopedCredentials?: ScopeForRequest;
  /**
   * Serve `GET /credentials` (the pool's role through the enhanced flow, no session policy).
   * Default true. Turn it off when `scopedCredentials` is the only credentials a user may get.
   */
  readonly credentials?: boolean;
  /**
   * Serve `GET /token` (the user's OpenID token). Default true. When the pool allows the classic
   * flow, anyone holding this token can call STS AssumeRoleWithWebIdentity themselves, for any role
   * that trusts the pool, with no session policy: turn it off when a session policy is meant to
   * narrow what users get.
   */
  readonly token?: boolean;
}

/**
 * The router: an Express middleware function (it dispatches its few routes itself, so the package
 * loads no Express code at runtime and works on Express 4 and 5), plus the login and logout steps
 * bound to the same options.
 */
export interface CognitoRouter extends RequestHandler {
  /** {@link afterLogin} with the router's broker, `getUserId` and logger. */
  afterLogin(): RequestHandler;
  /**
   * {@link forgetOnLogout}: drops the session's guest identity id; the user's cached token and
   * credentials stay for the next login.
   */
  logout(): RequestHandler;
}

/**
 * Creates the Express router that serves a logged-in user's Cognito identity. Mount it after the
 * app's own session and passport setup, e.g. `app.use('/aws', cognitoRouter({...}))`.
 *
 * Routes: `GET /credentials` and `GET /token` (unless `credentials: false`, `token: false`), `GET /identity`, `POST /logins`,
 * `DELETE /logins/:provider`, `POST /merge`, `POST /guest` when `allowGuests`, and
 * `GET /credentials/scoped` when `scopedCredentials`. Every response
 * has `Cache-Control: no-store`; every error is `application/problem+json` with a stable `code`.
 * State-changing routes refuse cross-site browser requests (403), with or without a session cookie;
 * bearer requests without a cookie pass.
 *
 * @example
 * ```ts
 * const aws = cognitoRouter({ broker, allowedProviders: ['graph.facebook.com'] });
 * // keepSessionInfo: the session's guest identity survives the login, for afterLogin() to upgrade.
 * app.post('/login', passport.authenticate('local', { keepSessionInfo: true }), aws.afterLogin(),
 *   (req, res) => res.json({ user: req.user }));
 * // The logout must answer: req.logout(next) alone ends in a 404.
 * app.post('/logout', aws.logout(), (req, res, next) => {
 *   req.logout((err) => (err ? next(err) : res.sendStatus(204)));
 * });
 * app.use('/aws', aws);
 * // The whole app: examples/minimal/app.ts.
 * app.use(brokerErrorHandler({ logger }));
 * ```
 * @throws TypeError when an option is invalid.
 */
export function cognitoRouter(options: CognitoRouterOptions): CognitoRouter {
  if (typeof options !== 'object' || (options as unknown) === null) throw new TypeError('cognitoRouter needs options');
  assertRouteOptions(options);
  normaliseProviders(options.allowedProviders);
  assertOptionalFunction(options.verifyMergeSource, 'verifyMergeSource');
  const bodyLimitBytes = options.bodyLimitBytes ?? 8192;
  if (!Number.isInteger(bodyLimitBytes) || bodyLimitBytes < 64 || bodyLimitBytes > 1_048_576) {
    throw new TypeError('bodyLimitBytes must be an integer in [64, 1048576]');
  }
  for (const name of ['allowGuests', 'credentials', 'token'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new TypeError(`${name} must be a boolean`);
    }
  }
  if (
    options.rateLimit !== undefined &&
    options.rateLimit !== false &&
    (typeof options.rateLimit !== 'object' || (options.rateLimit as unknown) === null)
  ) {
    throw new TypeError('rateLimit must be an object or false');
  }
  const limits =
    options.rateLimit === false
      ? undefined
      : { ...(options.clock ? { clock: options.clock } : {}), ...options.rateLimit };
  const rateLimiter = limits === undefined ? undefined : createRateLimiter(limits);
  const guestLimiter = limits === undefined ? undefined : createRateLimiter({ ...limits, max: (limits.max ?? 10) * 3 });
  const identityLimiter =
    limits === undefined ? undefined : createRateLimiter({ ...limits, max: (limits.max ?? 10) * 3 });
  const sameOrigin = sameOriginOnly(
    options.trustedOrigins === undefined ? {} : { trustedOrigins: options.trustedOrigins },
  );
  const json = jsonBody({ limitBytes: bodyLimitBytes });
  const base = {
    broker: options.broker,
    ...(options.getUserId ? { getUserId: options.getUserId } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  };
  const logins = { ...base, allowedProviders: options.allowedProviders, ...(rateLimiter ? { rateLimiter } : {}) };

  const routes: Route[] = [
    ...(options.credentials === false
      ? []
      : [{ method: 'GET', path: /^\/credentials\/?$/i, handlers: [credentialsRoute(base)] }]),
    ...(options.token === false ? [] : [{ method: 'GET', path: /^\/token\/?$/i, handlers: [tokenRoute(base)] }]),
    {
      method: 'GET',
      path: /^\/identity\/?$/i,
      handlers: [identityRoute({ ...base, ...(identityLimiter ? { rateLimiter: identityLimiter } : {}) })],
    },
    { method: 'POST', path: /^\/logins\/?$/i, handlers: [sameOrigin, json, linkLoginRoute(logins)] },
    { method: 'DELETE', path: /^\/logins\/(?<provider>[^/]+)\/?$/i, handlers: [sameOrigin, unlinkLoginRoute(logins)] },
    {
      method: 'POST',
      path: /^\/merge\/?$/i,
      handlers: [
        sameOrigin,
        json,
        mergeRoute({
          ...base,
          ...(options.verifyMergeSource ? { verifyMergeSource: options.verifyMergeSource } : {}),
          ...(rateLimiter ? { rateLimiter } : {}),
        }),
      ],
    },
  ];
  if (options.scopedCredentials !== undefined) {
    assertOptionalFunction(options.scopedCredentials, 'scopedCredentials');
    routes.unshift({
      method: 'GET',
      path: /^\/credentials\/scoped\/?$/i,
      handlers: [scopedCredentialsRoute({ ...base, scopedCredentials: options.scopedCredentials })],
    });
  }
  if (options.allowGuests === true) {
    routes.push({
      method: 'POST',
      path: /^\/guest\/?$/i,
      handlers: [sameOrigin, guestRoute({ ...base, ...(guestLimiter ? { rateLimiter: guestLimiter } : {}) })],
    });
  }
  const onError = brokerErrorHandler(options.logger ? { logger: options.logger } : {});
  const router: RequestHandler = (req, res, next) => {
    dispatch(routes, onError, req, res, next);
  };

  const loginStep = afterLogin({ ...base, ...(options.logger ? { logger: options.logger } : {}) });
  const logoutStep = forgetOnLogout(base);
  return Object.assign(router, {
    afterLogin: () => loginStep,
    logout: () => logoutStep,
  });
}
