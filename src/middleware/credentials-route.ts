import type { RequestHandler } from 'express';
import type { IdentityCredentials } from '../broker/types.js';
import { asyncHandler } from './async-handler.js';
import { assertRouteOptions, type RouteOptions } from './route-options.js';
import { defaultGetUserId, requireUserId } from './user-id.js';

/** The body of `GET /credentials` and `POST /guest`. */
export interface CredentialsResponse {
  readonly identityId: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** When the credentials expire, ISO 8601. */
  readonly expiration: string;
}

/** The wire form of credentials (the field names of the AWS SDK's `AwsCredentialIdentity`). */
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
 * @throws TypeError on invalid options. Request-time errors go to `next(err)` as `BrokerError`s.
 */
export function credentialsRoute(options: RouteOptions): RequestHandler {
  assertRouteOptions(options);
  const { broker } = options;
  const getUserId = options.getUserId ?? defaultGetUserId;
  return asyncHandler(async (req, res) => {
    const userId = requireUserId(req, getUserId);
    const c = await broker.getCredentials(userId);
    res.set('Cache-Control', 'no-store');
    res.json(credentialsBody(c));
  });
}
