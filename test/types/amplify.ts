// Type tests of the Amplify adapter against Amplify's own types (`@aws-amplify/core`, a pinned dev
// dependency), compiled by `npm run typecheck` and never run: the adapter is a
// `CredentialsAndIdentityIdProvider` and fits `Amplify.configure`'s `Auth.credentialsProvider`, and
// each @ts-expect-error line must fail to compile.
import { Amplify, type CredentialsAndIdentityIdProvider } from '@aws-amplify/core';
import { amplifyCredentialsProvider, fromBroker } from '../../src/client/index.js';

export function amplifyTypeTests(): unknown[] {
  const credentialsProvider: CredentialsAndIdentityIdProvider = amplifyCredentialsProvider(
    fromBroker({ url: '/aws/credentials' }),
  );
  Amplify.configure(
    { Auth: { Cognito: { identityPoolId: 'us-east-1:0f0e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b' } } },
    { Auth: { credentialsProvider } },
  );
  // @ts-expect-error fromBroker's provider alone is no Amplify credentials provider (amplify-js#14315)
  const bare: CredentialsAndIdentityIdProvider = fromBroker({ url: '/aws/credentials' });
  return [credentialsProvider, bare];
}
