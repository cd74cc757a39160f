// The names of the broker's metrics and their attributes, and how a Cognito call's end is classified
// for them (outcome, `error.type`, request id and attempts): the values telemetry.ts records.
import { isBrokerError } from '../errors.js';
import { toBrokerError } from './error-mapping.js';

/**
 * Names of the broker's metrics, in OpenTelemetry's style (dot-separated, a namespace of our own,
 * units in `unit`): a Prometheus exporter turns `cognito_broker.upstream.duration` (unit `s`) into
 * `cognito_broker_upstream_duration_seconds` and counters into `…_total`.
 */
export const METRIC = Object.freeze({
  cacheLookups: 'cognito_broker.cache.lookups',
  cacheCoalesced: 'cognito_broker.cache.coalesced',
  cacheEvictions: 'cognito_broker.cache.evictions',
  cacheEntries: 'cognito_broker.cache.entries',
  cacheActiveLoads: 'cognito_broker.cache.active_loads',
  upstreamDuration: 'cognito_broker.upstream.duration',
  upstreamActiveCalls: 'cognito_broker.upstream.active_calls',
  quotaRefusals: 'cognito_broker.quota.refusals',
  clockSkew: 'cognito_broker.clock.skew',
  fleetEvents: 'cognito_broker.fleet.events',
  fleetShared: 'cognito_broker.fleet.shared',
});

/**
 * Attribute keys. Every value is from a small fixed set (a cache name, a result, an operation, an
 * error code or modelled error name): never a user id, identity id, token, key or message.
 */
export const ATTR = Object.freeze({
  cache: 'cognito_broker.cache.name',
  level: 'cognito_broker.cache.level',
  fleetEvent: 'cognito_broker.fleet.event',
  result: 'cognito_broker.cache.result',
  outcome: 'cognito_broker.upstream.outcome',
  reason: 'cognito_broker.quota.reason',
  rpcSystem: 'rpc.system',
  rpcService: 'rpc.service',
  rpcMethod: 'rpc.method',
  errorType: 'error.type',
  requestId: 'aws.request_id',
  attempts: 'cognito_broker.upstream.attempts',
  region: 'cloud.region',
});

/** How one Cognito call ended, as `cognito_broker.upstream.outcome`. */
export type UpstreamOutcome = 'ok' | 'throttled' | 'error' | 'timeout' | 'cancelled' | 'refused';

/** Boundaries of the duration histogram, seconds (OpenTelemetry's HTTP duration advice). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * Error names that may appear as `error.type`: the service model's exceptions and the SDK's and
 * node's transport errors. Anything else is `_OTHER` (OpenTelemetry's value for an unlisted type),
 * so a surprising error cannot grow the number of series.
 */
const ERROR_TYPES: ReadonlySet<string> = new Set([
  'ConcurrentModificationException',
  'DeveloperUserAlreadyRegisteredException',
  'ExternalServiceException',
  'InternalErrorException',
  'InvalidIdentityPoolConfigurationException',
  'InvalidParameterException',
  'LimitExceededException',
  'NotAuthorizedException',
  'ResourceConflictException',
  'ResourceNotFoundException',
  'TooManyRequestsException',
  'ValidationException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'IncompleteSignatureException',
  'ExpiredTokenException',
  'CredentialsProviderError',
  'TimeoutError',
  'AbortError',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** A refusal by the quota governor inside the SDK's retries: an error carrying a `BrokerError` as `error`. */
export function refusalCode(err: unknown): string | undefined {
  const inner = typeof err === 'object' && err !== null ? (err as { error?: unknown }).error : undefined;
  return isBrokerError(inner) ? inner.code : undefined;
}

/** How a failed Cognito call ended: its outcome, and its `error.type` (a listed name, else the mapped `BrokerError` code). */
export function classify(err: unknown, operation: string): { outcome: UpstreamOutcome; errorType: string } {
  const mapped = toBrokerError(err, { operation });
  const s = typeof err === 'object' && err !== null ? (err as { name?: unknown; code?: unknown }) : {};
  const name = typeof s.name === 'string' && s.name !== 'Error' ? s.name : typeof s.code === 'string' ? s.code : '';
  const errorType = ERROR_TYPES.has(name) ? name : mapped.code;
  if (name === 'TooManyRequestsException' || mapped.code === 'ERR_COGNITO_THROTTLED')
    return { outcome: 'throttled', errorType };
  if (mapped.code === 'ERR_COGNITO_TIMEOUT') return { outcome: 'timeout', errorType };
  return { outcome: 'error', errorType };
}

/** The AWS request id and attempt count of an SDK output or error (`$metadata`), when present. */
export function metadataOf(value: unknown): { requestId?: string; attempts?: number } {
  const meta = typeof value === 'object' && value !== null ? (value as { $metadata?: unknown }).$metadata : undefined;
  if (typeof meta !== 'object' || meta === null) return {};
  const m = meta as { requestId?: unknown; attempts?: unknown };
  const out: { requestId?: string; attempts?: number } = {};
  // A request id is a UUID-like token from AWS; anything longer or odd is not put on the span.
  if (typeof m.requestId === 'string' && /^[\w-]{1,128}$/.test(m.requestId)) out.requestId = m.requestId;
  if (typeof m.attempts === 'number' && Number.isInteger(m.attempts)) out.attempts = m.attempts;
  return out;
}
