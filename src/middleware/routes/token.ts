import type { RequestHandler } from 'express';
import { assertRouteOptions, type RouteOptions } from '../route-options.js';
import { sendNoStoreJson } from '../send-json.js';
import { userRoute } from '../user-route.js';

/** The body of `GET /token`. */
export interface TokenResponse {
  /** The user's Cognito identity id. */
  readonly identityId: string;
  /** The OpenID token; goes in `Logins` under {@link TokenResponse.loginsKey}. */
  readonly token: string;
  /** When the token expires, ISO 8601. */
  readonly expiresAt: string;
  /** Whole seconds until the token expires. */
  readonly expiresIn: number;
  readonly identityPoolId: string;
  /** `cognito-identity.amazonaws.com` (or the region's equivalent). */
  readonly loginsKey: string;
}

/**
 * `GET /token`: the logged-in user's identity id and OpenID token, what the AWS mobile SDKs'
 * developer identity providers and `fromCognitoIdentity` need. Sent with `Cache-Control: no-store`.
 * @throws TypeError on invalid options. Errors at request time go to `next(err)` as `BrokerError`s
 *   (`ERR_UNAUTHENTICATED` when nobody is logged in).
 */
export function tokenRoute(options: RouteOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker } = options;
  const clock = options.clock ?? Date;
  return userRoute(options, async (userId, _req, res) => {
    const t = await broker.getToken(userId);
    const body: TokenResponse = {
      identityId: t.identityId,
      token: t.token,
      expiresAt: new Date(t.expiresAt).toISOString(),
      expiresIn: Math.max(0, Math.floor((t.expiresAt - clock.now()) / 1000)),
      identityPoolId: t.identityPoolId,
      loginsKey: t.loginsKey,
    };
    sendNoStoreJson(res, JSON.stringify(body));
  });
}
