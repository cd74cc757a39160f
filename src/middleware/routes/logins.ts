import type { RequestHandler } from 'express';
import { z } from 'zod';
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

/** The body of `POST /logins`. Lengths are Cognito's limits on a `Logins` entry. */
export const linkLoginBody = z.object({
  provider: z.string().min(1).max(128),
  token: z.string().min(1).max(50_000),
});

const providerParam = z.object({ provider: z.string().min(1).max(128) });

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
    const { provider, token } = linkLoginBody.parse(req.body);
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
    const { provider } = providerParam.parse(req.params);
    assertAllowedProvider(allowed, provider);
    rateLimiter?.consume(userId);
    const d = await broker.unlinkLogin(userId, provider);
    res.set('Cache-Control', 'no-store');
    res.json(identityBody(d));
  });
}
