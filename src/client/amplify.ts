import type { BrokerCredentialProvider } from './cached-provider.js';
import type { BrokerClientError } from './errors.js';

// The shapes of Amplify JS v6's `CredentialsAndIdentityIdProvider` (`@aws-amplify/core`), written
// out so that this package needs no Amplify at runtime or in its types; test/types/amplify.ts
// checks them against Amplify's own.

/** What Amplify passes to `getCredentialsAndIdentityId` (the fields the adapter reads). */
export interface AmplifyGetCredentialsOptions {
  readonly authenticated: boolean;
  readonly forceRefresh?: boolean;
}

/** What `getCredentialsAndIdentityId` resolves to: Amplify's `CredentialsAndIdentityId`. */
export interface AmplifyCredentialsAndIdentityId {
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };
  identityId?: string;
}

/** Amplify v6's `CredentialsAndIdentityIdProvider`, for `Amplify.configure(config, { Auth: { credentialsProvider } })`. */
export interface AmplifyCredentialsProvider {
  getCredentialsAndIdentityId(
    options: AmplifyGetCredentialsOptions,
  ): Promise<AmplifyCredentialsAndIdentityId | undefined>;
  clearCredentialsAndIdentityId(): void;
}

/**
 * Amplify JS v6's credentials provider over the broker (`fromBroker`'s provider): `fetchAuthSession()`
 * and every Amplify category (Storage, …) then sign with the broker's credentials and know the
 * identity id. Amplify v6 has no developer-authenticated sign-in of its own; this is its "bring your
 * own `credentialsProvider`". `forceRefresh` fetches new credentials; nobody logged in (the broker's
 * 401) is no credentials (`fetchAuthSession()` answers `credentials: undefined`); other failures
 * reject with the {@link BrokerClientError}. `clearCredentialsAndIdentityId()` (Amplify's
 * `clearCredentials()`, or at sign-out) forgets them.
 * @example
 * ```ts
 * import { Amplify } from 'aws-amplify';
 * import { fetchAuthSession } from 'aws-amplify/auth';
 * import { amplifyCredentialsProvider, fromBroker } from 'cognito-identity-broker/client';
 *
 * const credentialsProvider = amplifyCredentialsProvider(fromBroker({ url: '/aws/credentials' }));
 * Amplify.configure(config, { Auth: { credentialsProvider } });
 * const { credentials, identityId } = await fetchAuthSession();
 * ```
 */
export function amplifyCredentialsProvider(provider: BrokerCredentialProvider): AmplifyCredentialsProvider {
  return {
    getCredentialsAndIdentityId(options) {
      if (options.forceRefresh === true) provider.clear();
      return provider().then(
        ({ identityId, ...credentials }) => ({ credentials, identityId }),
        (err: unknown) => {
          if ((err as BrokerClientError).code != 'ERR_UNAUTHENTICATED') throw err;
          return undefined;
        },
      );
    },
    clearCredentialsAndIdentityId() {
      provider.clear();
    },
  };
}
