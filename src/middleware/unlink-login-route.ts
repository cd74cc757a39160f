import type { RequestHandler } from 'express';
import { z } from 'zod';
import { asyncHandler } from './async-handler.js';
import { identityBody } from './identity-route.js';
import type { LoginRouteOptions } from './link-login-route.js';
import { assertAllowedProvider, normaliseProviders } from './providers.js';
import { assertRouteOptions } from './route-options.js';
import { defaultGetUserId, requireUserId } from './user-id.js';

const providerParam = z.object({ provider: z.string().min(1).max(128) });

/**
 * `DELETE /logins/:provider`: unlinks a public-provider login from the logged-in user's identity
 * and answers with the identity. The provider must be on the allow-list.
 * @throws TypeError on invalid options. Request-time errors go to `next(err)`.
 */
export function unlinkLoginRoute(options: LoginRouteOptions): RequestHandler {
  assertRouteOptions(options);
  const allowed = normaliseProviders(options.allowedProviders);
  const { broker, rateLimiter } = options;
  const getUserId = options.getUserId ?? defaultGetUserId;
  return asyncHandler(async (req, res) => {
    const userId = requireUserId(req, getUserId);
    const { provider } = providerParam.parse(req.params);
    assertAllowedProvider(allowed, provider);
    rateLimiter?.consume(userId);
    const d = await broker.unlinkLogin(userId, provider);
    res.set('Cache-Control', 'no-store');
    res.json(identityBody(d));
  });
}
