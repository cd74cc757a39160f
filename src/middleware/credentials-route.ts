import type { RequestHandler } from 'express';
import { credentialsBody, credentialsBodyReader } from '../broker/packed.js';
import { assertRouteOptions, type RouteOptions } from './route-options.js';
import { sendNoStoreJson } from './send-json.js';
import { defaultGetUserId, requireUserId } from './user-id.js';

export { credentialsBody, type CredentialsResponse } from '../broker/packed.js';

/**
 * `GET /credentials`: temporary AWS credentials for the logged-in user, with identity id and
 * expiration. Sent with `Cache-Control: no-store`.
 *
 * With a broker from `createBroker()`, fresh cached credentials are sent synchronously as the bytes
 * the broker holds (no promise, no serialisation); anything else takes `broker.getCredentials()`.
 * @throws TypeError on invalid options. Request-time errors go to `next(err)` as `BrokerError`s.
 */
export function credentialsRoute(options: RouteOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker } = options;
  const getUserId = options.getUserId ?? defaultGetUserId;
  const cachedBody = credentialsBodyReader(broker);
  return (req, res, next) => {
    try {
      const userId = requireUserId(req, getUserId);
      const body = cachedBody?.(userId);
      if (body !== undefined) {
        sendNoStoreJson(res, body);
        return;
      }
      broker
        .getCredentials(userId)
        .then((c) => {
          sendNoStoreJson(res, JSON.stringify(credentialsBody(c)));
        })
        .catch(next);
    } catch (err) {
      next(err);
    }
  };
}
