import { BrokerError } from '../errors.js';

// Checks of the arguments of the broker's operations: a bad one is `ERR_BAD_REQUEST` (it may come
// from an end user), before any Cognito call.

const IDENTITY_ID = /^[\w-]+:[0-9a-f-]+$/;
const PROVIDER_NAME = /^[\w.:/-]{1,128}$/;

/** An `ERR_BAD_REQUEST` with a generic message. */
export function badRequest(message: string): BrokerError {
  return new BrokerError('ERR_BAD_REQUEST', message);
}

/** True when `userId` is a developer user id Cognito accepts (1–1024 characters). */
export function isUserId(userId: unknown): userId is string {
  return typeof userId === 'string' && userId.length > 0 && userId.length <= 1024;
}

/** @throws BrokerError `ERR_BAD_REQUEST` when `userId` is not a valid developer user id. */
export function checkUserId(userId: unknown, what = 'user id'): asserts userId is string {
  if (!isUserId(userId)) throw badRequest(`The ${what} must be a string of 1–1024 characters`);
}

/** @throws BrokerError `ERR_BAD_REQUEST` when `identityId` is not an identity id. */
export function checkIdentityId(identityId: unknown): asserts identityId is string {
  if (typeof identityId !== 'string' || identityId.length > 55 || !IDENTITY_ID.test(identityId)) {
    throw badRequest('The identity id is not valid');
  }
}

/**
 * @throws BrokerError `ERR_BAD_REQUEST` when `provider` is not a provider name, or names Cognito's
 *   own logins key or the developer provider (neither is linked or unlinked as a public login).
 */
export function checkProvider(
  provider: unknown,
  reserved: { readonly loginsKey: string; readonly developerProviderName: string },
): asserts provider is string {
  if (typeof provider !== 'string' || !PROVIDER_NAME.test(provider)) throw badRequest('The provider name is not valid');
  if (provider === reserved.loginsKey || provider === reserved.developerProviderName) {
    throw badRequest('The provider cannot be linked or unlinked here');
  }
}
