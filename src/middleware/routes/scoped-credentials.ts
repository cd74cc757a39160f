import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Broker, ScopedCredentialsOptions } from '../../broker/index.js';
import { BrokerError, isBrokerError } from '../../errors.js';
import { assertRouteOptions, type RouteOptions } from '../route-options.js';
import { sendNoStoreJson } from '../send-json.js';
import { userRoute } from '../user-route.js';
import { credentialsBody } from './credentials.js';

/**
 * The scope of the credentials a request gets, computed by the app from the request and the
 * logged-in user's id (e.g. a session policy for the user's own upload prefix). `undefined`,
 * `null`, `false` or `''`: this request gets none (403 `ERR_FORBIDDEN`). May be async. A scope the
 * broker or STS refuses (`ERR_BAD_POLICY`, `ERR_BAD_REQUEST` from `getScopedCredentials`) is the
 * app's bug, not the browser's: 500 `ERR_MISCONFIGURED`, logged with the scope's hash (never the
 * policy) by `brokerErrorHandler`.
 */
export type ScopeForRequest = (
  req: Request,
  userId: string,
) => ScopedCredentialsOptions | NoScope | Promise<ScopedCredentialsOptions | NoScope>;

/** What a {@link ScopeForRequest} returns for a request that gets no credentials. */
export type NoScope = null | undefined | false | '';

/** Options of {@link scopedCredentialsRoute}. */
export interface ScopedCredentialsRouteOptions extends RouteOptions {
  /** The scope of each request's credentials. Required. */
  readonly scopedCredentials: ScopeForRequest;
}

function forbidden(): BrokerError {
  return new BrokerError('ERR_FORBIDDEN', 'No scoped credentials for this request');
}

/** A scope the app computed that the broker refuses: its hash (for the log), never its text. */
export class RefusedScopeError extends BrokerError {
  /** The scope's hash (`givenScopeInputHash`). */
  readonly scope: string;
  constructor(scope: string, cause: BrokerError) {
    super('ERR_MISCONFIGURED', `The scopedCredentials function computed a scope the broker refuses (${cause.code})`, {
      cause,
    });
    this.scope = scope;
  }
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
      return (scope as Promise<ScopedCredentialsOptions | NoScope>).then((s) => serve(broker, userId, s, res));
    }
    return serve(broker, userId, scope as ScopedCredentialsOptions | NoScope, res);
  });
}

function serve(
  broker: Broker,
  userId: string,
  scope: ScopedCredentialsOptions | NoScope,
  res: Response,
): Promise<void> | undefined {
  if (scope === null || scope === undefined || scope === false || scope === '') throw forbidden();
  const body = broker.freshScopedCredentialsBody?.(userId, scope);
  if (body !== undefined) {
    sendNoStoreJson(res, body);
    return undefined;
  }
  return broker.getScopedCredentials(userId, scope).then(
    (c) => {
      sendNoStoreJson(res, JSON.stringify(credentialsBody(c)));
    },
    (err: unknown) => {
      // The user id (checked by requireUserId) comes from the app's authentication, the scope from
      // the app's function: neither is the browser's.
      if (isBrokerError(err) && (err.code === 'ERR_BAD_POLICY' || err.code === 'ERR_BAD_REQUEST')) {
        throw new RefusedScopeError(givenScopeInputHash(scope), err);
      }
      throw err;
    },
  );
}

/**
 * A hash of a scope as the app gave it, checked or not, for logs (never the policy text):
 * `unserializable` when it cannot be written as JSON.
 */
function givenScopeInputHash(input: unknown): string {
  let text: string | undefined;
  try {
    text = jsonOf(input);
  } catch {
    return 'unserializable';
  }
  return createHash('sha256')
    .update(text ?? typeof input)
    .digest('base64url')
    .slice(0, 32);
}

/** `JSON.stringify`, typed as it behaves: `undefined` for undefined, a function or a symbol. */
function jsonOf(value: unknown): string | undefined {
  return JSON.stringify(value);
}
