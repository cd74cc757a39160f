// `cognito-identity-broker/client`: AWS SDK v3 credential providers for browsers, React Native and
// workers, fed by the broker's routes. Web-platform globals only, no Node built-ins, and no runtime
// import of the AWS SDK.
export {
  amplifyCredentialsProvider,
  type AmplifyCredentialsAndIdentityId,
  type AmplifyCredentialsProvider,
  type AmplifyGetCredentialsOptions,
} from './amplify.js';
export { type BrokerCredentialProvider, type BrokerCredentials } from './cached-provider.js';
export { BrokerClientError, type BrokerClientErrorCode } from './errors.js';
export { fromBroker } from './from-broker.js';
export {
  fromBrokerToken,
  type BrokerTokenOptions,
  type CognitoIdentityParameters,
  type FromCognitoIdentity,
} from './from-broker-token.js';
export {
  type BrokerClientOptions,
  type BrokerFetch,
  type BrokerResponse,
  type ClientClock,
  type ClientTimers,
} from './options.js';
