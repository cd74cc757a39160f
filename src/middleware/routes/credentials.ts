import type { RequestHandler } from 'express';
import type { CredentialsResponse, IdentityCredentials } from '../../broker/index.js';
import { assertRouteOptions, type RouteOptions } from '../route-options.js';
import { sendNoStoreJson } from '../send-json.js';
import { userRoute } from '../user-route.js';

/** The wire form of credentials. */
export function credentialsBody(c: IdentityCredentials): CredentialsResponse {
  return {
    identityId: c.identityId,
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expiration: new Date(c.expiration).toISOString(),
  };
}

/**
 * `GET /credentials`: temporary AWS credentials for the logged-in user, with identity id and
 * expiration. Sent with `Cache-Control: no-store`.
 *
 * When the broker has `freshCredentialsBody` (one from `createBroker()` does), fresh cached
 * credentials are sent synchronously as the bytes the broker holds (no promise, no serialisation);
 * anything else takes `broker.getCredentials()`.
 * @throws TypeError on invalid options. Request-time errors go to `next(err)` as `BrokerError`s.
 */
export function credentialsRoute(options: RouteOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker } = options;
  return userRoute(options, (userId, _req, res) => {
    const body = broker.freshCredentialsBody?.(userId);
    if (body !== undefined) {
      sendNoStoreJson(res, body);
      return undefined;
    }
    return broker.getCredentials(userId).then((c) => {
      sendNoStoreJson(res, JSON.stringify(credentialsBody(c)));
    });
  });
}
