// The package root: what the README uses, and the types an app needs around it. Single-route
// factories and helpers are at `cognito-identity-broker/middleware`, the bearer strategy at
// `/passport`, the emulator at `/emulator`.
export { BrokerError, isBrokerError, type BrokerErrorCode, type BrokerErrorOptions } from './errors.js';
export {
  createBroker,
  redactPaths,
  type AwsCredentialIdentity,
  type AwsCredentialIdentityProvider,
  type Broker,
  type BrokerCacheOptions,
  type BrokerOptions,
  type BrokerStats,
  type CacheStats,
  type Clock,
  type CognitoSendClient,
  type CredentialsResponse,
  type IdentityCredentials,
  type IdentityDescription,
  type IdentityToken,
  type PreflightOptions,
  type PreflightResult,
  type PrincipalTags,
  type UserCallOptions,
} from './broker/index.js';
export {
  brokerErrorHandler,
  cognitoRouter,
  type CognitoRouter,
  type CognitoRouterOptions,
  type ErrorHandlerOptions,
  type GetUserId,
  type IdentityResponse,
  type Problem,
  type RateLimitOptions,
  type TokenResponse,
  type VerifyMergeSource,
} from './middleware/index.js';
