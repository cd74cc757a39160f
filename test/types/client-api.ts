// Type tests of `cognito-identity-broker/client`, compiled by `npm run typecheck` and never run: the
// providers fit the AWS SDK's slots, the SDK's own `fromCognitoIdentity` and the platform `fetch`
// fit the client's, and each @ts-expect-error line must fail to compile.
import { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';
import { fromCognitoIdentity } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import {
  BrokerClientError,
  fromBroker,
  fromBrokerToken,
  type BrokerClientErrorCode,
  type BrokerCredentialProvider,
  type FromCognitoIdentity,
} from '../../src/client/index.js';

export function clientTypeTests(): unknown[] {
  const credentials: BrokerCredentialProvider = fromBroker({ url: '/aws/credentials' });
  const asSdk: AwsCredentialIdentityProvider = credentials;
  const client = new CognitoIdentityClient({ region: 'us-east-1', credentials });

  // The platform's fetch (Node's here; a browser's has the same shape) and its RequestInit.
  fromBroker({
    url: '/aws/credentials',
    fetch,
    init: { credentials: 'include', headers: { Authorization: 'Bearer x' } },
  });
  fromBroker({ url: '/aws/credentials', timers: globalThis, clock: Date });

  const sdk: FromCognitoIdentity = fromCognitoIdentity;
  fromBrokerToken({ url: '/aws/token', fromCognitoIdentity, clientConfig: { endpoint: 'http://127.0.0.1:1' } });

  // @ts-expect-error the url is required
  fromBroker({});
  // @ts-expect-error the margin is a number of seconds
  fromBroker({ url: '/aws/credentials', expiryMarginSeconds: '60' });
  // @ts-expect-error fromBrokerToken needs the SDK's fromCognitoIdentity
  fromBrokerToken({ url: '/aws/token' });
  // @ts-expect-error codes are a closed set
  const code: BrokerClientErrorCode = 'ERR_SOMETHING';
  // @ts-expect-error the error takes a known code
  const error = new BrokerClientError('NOPE', 'message');
  return [asSdk, client, sdk, code, error];
}
