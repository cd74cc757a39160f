export { createBroker } from './create-broker.js';
export type { Clock } from './clock.js';
export { redactPaths } from './log.js';
export type { BrokerCacheOptions, BrokerOptions, CognitoSendClient, PrincipalTags } from './options.js';
export type { ClassicFlowOptions, StsSendClient } from './classic-flow-options.js';
export type { QuotaBucketOption, QuotaOptions, QuotaPerUserOptions } from './quota/options.js';
export type { BucketShape, QuotaStore, QuotaTake, QuotaTakeResult } from './quota/store.js';
export type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  Broker,
  BrokerStats,
  CacheStats,
  CredentialsResponse,
  IdentityCredentials,
  IdentityDescription,
  IdentityToken,
  PreflightOptions,
  PreflightResult,
  ScopedCredentialsOptions,
  UserCallOptions,
} from './types.js';
