import type { Request, RequestHandler, Response } from 'express';
import type { Broker, ScopedCredentialsOptions } from '../../broker/index.js';
import { BrokerError } from '../../errors.js';
import { assertRouteOptions, type RouteOptions } from '../route-options.js';
import { sendNoStoreJson } from '../send-json.js';
import { userRoute } from '../user-route.js';
import { credentialsBody } from './credentials.js';

/**
 * The scope of the credentials a request gets, computed by the app from the request and the
 * logged-in user's id (e.g. a session policy for the user's own upload prefix). `undefined` or
 * `null`: this request gets none (403 `ERR_FORBIDDEN`). May be async. A bad scope is answered 400
 * (`ERR_BAD_POLICY`, `ERR_BAD_REQUEST`) before any call.
 */
export type ScopeForRequest = (
  req: Request,
  userId: string,
) => ScopedCredentialsOptions | null | undefined | Promise<ScopedCredentialsOptions | null | undefined>;

/** Options of {@link scopedCredentialsRoute}. */
export interface ScopedCredentialsRouteOptions extends RouteOptions {
  /** The scope of each request's credentials. Required. */
  readonly scopedCredentials: ScopeForRequest;
}

function forbidden(): BrokerError {
  return new BrokerError('ERR_FORBIDDEN', 'No scoped credentials for this request');
}

/**
 * `GET /credentials/scoped`: scoped-down credentials for the logged-in user through the classic flow
 * (`broker.getScopedCredentials`), with the scope the app computes from the request; the same body
 * as `GET /credentials`, sent with `Cache-Control: no-store`. Fresh cached credentials are sent
 * synchronously as the broker's bytes when the scope is computed synchronously. The broker's quota
 * governor and per-user budget apply to the STS calls a request causes.
 *
 * @example
 * ```ts
 * cognitoRouter({ broker, allowedProviders: [],
 *   scopedCredentials: (req, userId) => ({ policy: uploadPolicyFor(userId), durationSeconds: 900 }) });
 * // the browser: fromBroker({ url: '/aws/credentials/scoped' })
 * ```
 * @throws TypeError on invalid options. Request-time errors go to `next(err)` as `BrokerError`s.
 */
export function scopedCredentialsRoute(options: ScopedCredentialsRouteOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker, scopedCredentials } = options;
  if (typeof scopedCredentials !== 'function') throw new TypeError('scopedCredentials must be a function');
  if (typeof broker.getScopedCredentials !== 'function') {
    throw new TypeError('broker.getScopedCredentials must be a function; pass the object createBroker() returns');
  }
  return userRoute(options, (userId, req, res) => {
    const scope = scopedCredentials(req, userId);
    if (scope !== null && typeof (scope as { then?: unknown } | undefined)?.then === 'function') {
      return (scope as Promise<ScopedCredentialsOptions | null | undefined>).then((s) => serve(broker, userId, s, res));
    }
    return serve(broker, userId, scope as ScopedCredentialsOptions | null | undefined, res);
  });
}

function serve(
  broker: Broker,
  userId: string,
  scope: ScopedCredentialsOptions | null | undefined,
  res: Response,
): Promise<void> | undefined {
  if (scope === null || scope === undefined) throw forbidden();
  const body = broker.freshScopedCredentialsBody?.(userId, scope);
  if (body !== undefined) {
    sendNoStoreJson(res, body);
    return undefined;
  }
  return broker.getScopedCredentials(userId, scope).then((c) => {
    sendNoStoreJson(res, JSON.stringify(credentialsBody(c)));
  });
}
