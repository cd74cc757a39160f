export { createBroker } from './broker.js';
export { systemClock, type Clock } from './clock.js';
export { toBrokerError, THROTTLE_RETRY_AFTER_SECONDS, type UpstreamErrorContext } from './error-mapping.js';
export { readJwtTimes, type JwtTimes } from './jwt.js';
export { brokerLogger, redactPaths, BROKER_LOG_COMPONENT } from './log.js';
export {
  defaultLoginsKey,
  resolveBrokerOptions,
  type BrokerCacheOptions,
  type BrokerOptions,
  type CognitoSendClient,
  type PrincipalTags,
  type ResolvedBrokerOptions,
} from './options.js';
export type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  Broker,
  BrokerStats,
  CacheStats,
  IdentityCredentials,
  IdentityDescription,
  IdentityToken,
  UserCallOptions,
} from './types.js';
