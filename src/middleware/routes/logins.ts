import type { RequestHandler } from 'express';
import { BrokerError } from '../../errors.js';
import { assertAllowedProvider, normaliseProviders } from '../providers.js';
import type { RateLimiter } from '../rate-limit.js';
import { assertRouteOptions, type RouteOptions } from '../route-options.js';
import { userRoute } from '../user-route.js';
import { identityBody } from './identity.js';

/** Options of {@link linkLoginRoute} and {@link unlinkLoginRoute}. */
export interface LoginRouteOptions extends RouteOptions {
  /** Provider names that may be linked or unlinked. Required; `[]` allows none. */
  readonly allowedProviders: readonly string[];
  /** Counts each call per user. Default: no limit. */
  readonly rateLimiter?: Pick<RateLimiter, 'consume'>;
}

/** A string field of 1 to `max` characters; else `ERR_BAD_REQUEST` naming the field, never its value. */
function stringField(source: unknown, field: string, max: number): string {
  const value = typeof source === 'object' && source !== null ? (source as Record<string, unknown>)[field] : undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new BrokerError('ERR_BAD_REQUEST', `Invalid request: ${field} must be a string of 1 to ${max} characters`);
  }
  return value;
}

/**
 * The body of `POST /logins`, `{provider, token}` (other fields are ignored). Lengths are Cognito's
 * limits on a `Logins` entry.
 */
export function linkLoginBody(body: unknown): { provider: string; token: string } {
  return { provider: stringField(body, 'provider', 128), token: stringField(body, 'token', 50_000) };
}

/**
 * `POST /logins` `{provider, token}`: links a public-provider login to the logged-in user's
 * identity and answers with the identity (id and linked logins).
 * @throws TypeError on invalid options. Request-time errors go to `next(err)`: `ERR_UNAUTHENTICATED`,
 *   `ERR_BAD_REQUEST`, `ERR_FORBIDDEN` (provider not allowed), `ERR_RATE_LIMITED`, and the broker's
 *   `ERR_CONFLICT`, `ERR_LIMIT_EXCEEDED`, `ERR_PROVIDER_TOKEN_REJECTED`, …
 */
export function linkLoginRoute(options: LoginRouteOptions): RequestHandler {
  assertRouteOptions(options);
  const allowed = normaliseProviders(options.allowedProviders);
  const { broker, rateLimiter } = options;
  return userRoute(options, async (userId, req, res) => {
    const { provider, token } = linkLoginBody(req.body);
    assertAllowedProvider(allowed, provider);
    rateLimiter?.consume(userId);
    const d = await broker.linkLogin(userId, provider, token);
    res.set('Cache-Control', 'no-store');
    res.json(identityBody(d));
  });
}

/**
 * `DELETE /logins/:provider`: unlinks a public-provider login from the logged-in user's identity
 * and answers with the identity. The provider must be on the allow-list.
 * @throws TypeError on invalid options. Request-time errors go to `next(err)`.
 */
export function unlinkLoginRoute(options: LoginRouteOptions): RequestHandler {
  assertRouteOptions(options);
  const allowed = normaliseProviders(options.allowedProviders);
  const { broker, rateLimiter } = options;
  return userRoute(options, async (userId, req, res) => {
    const provider = stringField(req.params, 'provider', 128);
    assertAllowedProvider(allowed, provider);
    rateLimiter?.consume(userId);
    const d = await broker.unlinkLogin(userId, provider);
    res.set('Cache-Control', 'no-store');
    res.json(identityBody(d));
  });
}
