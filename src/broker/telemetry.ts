import {
  context as otelContext,
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type BatchObservableResult,
  type Counter,
  type Histogram,
  type Link,
  type Meter,
  type MeterProvider,
  type Observable,
  type ObservableGauge,
  type Span,
  type SpanContext,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { isBrokerError } from '../errors.js';
import { toBrokerError } from './error-mapping.js';
import type { CognitoSendClient } from './options.js';
import type { CacheStats, FleetStats } from './seam-types.js';

/** The instrumentation scope of every meter and tracer of the broker. */
export const INSTRUMENTATION_SCOPE = 'cognito-identity-broker';
/** The package's version (test/unit/broker/scope-version.test.ts keeps it equal to package.json's). */
export const SCOPE_VERSION = '0.2.0';

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
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

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

/** What the observable instruments read, at collection time only. */
export interface TelemetrySource {
  readonly caches: Readonly<Record<string, { stats(): CacheStats }>>;
  /** Cognito calls running now. */
  inFlight(): number;
  /** Cognito's clock minus ours, ms. */
  clockOffsetMs(): number;
  /** The fleet tier's counters, when the broker has one. */
  fleet(): FleetStats | undefined;
}

/** `FleetStats` counters as the values of `cognito_broker.fleet.event`. */
const FLEET_EVENTS: readonly (readonly [Exclude<keyof FleetStats, 'state' | 'redis' | 'problem'>, string])[] = [
  ['sharedHits', 'shared_hit'],
  ['sharedLoads', 'shared_load'],
  ['leaseWaits', 'lease_wait'],
  ['leaseTakeovers', 'lease_takeover'],
  ['entriesRejected', 'entry_rejected'],
  ['invalidationsPublished', 'change_published'],
  ['invalidationsApplied', 'change_applied'],
  ['resyncDrops', 'resync_drop'],
  ['degradations', 'degraded'],
  ['redisErrors', 'redis_error'],
];

/** Options of {@link Telemetry}. */
export interface TelemetryOptions {
  /** Default: the global `metrics` API, read at the first Cognito call (after the app's SDK start). */
  readonly meterProvider?: MeterProvider | undefined;
  /** Default: the global `trace` API (a proxy: a provider registered later is used from then on). */
  readonly tracerProvider?: TracerProvider | undefined;
  /** Put on Cognito call spans as `cloud.region`. */
  readonly region: string;
}

interface Instruments {
  readonly duration: Histogram;
  readonly refusals: Counter;
}

/** A first load's span, which callers that join the load link to. */
export interface LoadTrace {
  readonly spanContext: SpanContext;
}

/**
 * The broker's OpenTelemetry instrumentation through `@opentelemetry/api` only: a no-op until the app
 * registers a MeterProvider and a TracerProvider (or passes them). Nothing here runs on a cache hit:
 * lookups, coalesced callers, evictions, entries, loads and calls in flight and the clock offset are
 * observable instruments that read the caches' own counters when the app's reader collects; only a
 * Cognito call (a span and one histogram point), a first load (a span) and a caller joining a load
 * (a span with a link) record anything as they happen.
 */
export class Telemetry {
  readonly #meterProvider: MeterProvider | undefined;
  readonly #tracer: Tracer;
  readonly #region: string;
  #instruments: Instruments | undefined;
  #source: (() => TelemetrySource | undefined) | undefined;

  constructor(options: TelemetryOptions) {
    this.#meterProvider = options.meterProvider;
    this.#tracer = (options.tracerProvider ?? trace).getTracer(INSTRUMENTATION_SCOPE, SCOPE_VERSION);
    this.#region = options.region;
  }

  /**
   * Sets what the observable instruments read: `read(target)` at each collection. `target` is held
   * weakly (`read` must not capture it): a broker the app drops is collected, and its callback then
   * unregisters itself at the next collection.
   */
  observe<T extends object>(target: T, read: (target: T) => TelemetrySource): void {
    const ref = new WeakRef(target);
    this.#source = () => {
      const t = ref.deref();
      return t === undefined ? undefined : read(t);
    };
  }

  /**
   * Makes the instruments now if not yet: for a broker of a fleet, whose first loads may all be
   * served by the shared tier without a Cognito call.
   */
  start(): void {
    this.#ensure();
  }

  /** The synchronous instruments, made (and the observable ones registered) on first use. */
  #ensure(): Instruments {
    if (this.#instruments !== undefined) return this.#instruments;
    const meter = (this.#meterProvider ?? metrics).getMeter(INSTRUMENTATION_SCOPE, SCOPE_VERSION);
    this.#instruments = {
      duration: meter.createHistogram(METRIC.upstreamDuration, {
        description: 'Duration of Cognito calls, the SDK retries included',
        unit: 's',
        advice: { explicitBucketBoundaries: DURATION_BUCKETS },
      }),
      refusals: meter.createCounter(METRIC.quotaRefusals, {
        description: 'Cognito calls refused by the quota governor before they were sent',
        unit: '{call}',
      }),
    };
    this.#registerObservables(meter);
    return this.#instruments;
  }

  #registerObservables(meter: Meter): void {
    const source = this.#source;
    if (source === undefined) return;
    const lookups = meter.createObservableCounter(METRIC.cacheLookups, {
      description: 'Cache lookups by level and result (hit, stale_served, refresh_ahead, miss)',
      unit: '{lookup}',
    });
    const coalesced = meter.createObservableCounter(METRIC.cacheCoalesced, {
      description: 'Callers that joined a load already running instead of starting one',
      unit: '{caller}',
    });
    const evictions = meter.createObservableCounter(METRIC.cacheEvictions, {
      description: 'Entries evicted by the cache bound',
      unit: '{entry}',
    });
    const entries: ObservableGauge = meter.createObservableGauge(METRIC.cacheEntries, {
      description: 'Entries in the cache',
      unit: '{entry}',
    });
    const loads = meter.createObservableUpDownCounter(METRIC.cacheActiveLoads, {
      description: 'Cache loads (first loads and background refreshes) running',
      unit: '{load}',
    });
    const calls = meter.createObservableUpDownCounter(METRIC.upstreamActiveCalls, {
      description: 'Cognito calls running',
      unit: '{call}',
    });
    const skew = meter.createObservableGauge(METRIC.clockSkew, {
      description: "Cognito's clock minus the local clock, measured from the last token's iat",
      unit: 's',
    });
    const fleetEvents = meter.createObservableCounter(METRIC.fleetEvents, {
      description: "The fleet tier's events (shared hits and loads, lease waits, changes, degradations)",
      unit: '{event}',
    });
    const fleetShared: ObservableGauge = meter.createObservableGauge(METRIC.fleetShared, {
      description: '1 while the fleet tier shares through Redis, 0 while it works per process',
      unit: '1',
    });
    const observables: Observable[] = [
      lookups,
      coalesced,
      evictions,
      entries,
      loads,
      calls,
      skew,
      fleetEvents,
      fleetShared,
    ];
    const callback = (result: BatchObservableResult): void => {
      const s = source();
      if (s === undefined) {
        meter.removeBatchObservableCallback(callback, observables);
        return;
      }
      for (const [name, cache] of Object.entries(s.caches)) {
        const st = cache.stats();
        const memory = { [ATTR.cache]: name, [ATTR.level]: 'memory' };
        const fresh = st.hits - st.staleServed - st.refreshAhead;
        result.observe(lookups, fresh, { ...memory, [ATTR.result]: 'hit' });
        result.observe(lookups, st.staleServed, { ...memory, [ATTR.result]: 'stale_served' });
        result.observe(lookups, st.refreshAhead, { ...memory, [ATTR.result]: 'refresh_ahead' });
        result.observe(lookups, st.misses, { ...memory, [ATTR.result]: 'miss' });
        result.observe(coalesced, st.coalesced, memory);
        result.observe(evictions, st.evictions, memory);
        result.observe(entries, st.size, memory);
        result.observe(loads, st.loading, memory);
      }
      result.observe(calls, s.inFlight());
      result.observe(skew, s.clockOffsetMs() / 1000);
      const fleet = s.fleet();
      if (fleet !== undefined) {
        for (const [field, event] of FLEET_EVENTS)
          result.observe(fleetEvents, fleet[field], { [ATTR.fleetEvent]: event });
        result.observe(fleetShared, fleet.state === 'shared' ? 1 : 0);
      }
    };
    meter.addBatchObservableCallback(callback, observables);
  }

  /**
   * Wraps `send` so that running it is one traced, timed Cognito call: a CLIENT span, child of the
   * active span, and one point of the duration histogram, both ended when the call settles or its
   * signal aborts (timeout or cancel), whichever comes first.
   */
  wrapSend<T>(
    operation: string,
    send: (client: CognitoSendClient, abortSignal: AbortSignal) => Promise<T>,
  ): (client: CognitoSendClient, abortSignal: AbortSignal) => Promise<T> {
    return (client, abortSignal) => {
      const instruments = this.#ensure();
      const span = this.#tracer.startSpan(`CognitoIdentity/${operation}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR.rpcSystem]: 'aws-api',
          [ATTR.rpcService]: 'CognitoIdentity',
          [ATTR.rpcMethod]: operation,
          [ATTR.region]: this.#region,
        },
      });
      const started = performance.now();
      let ended = false;
      const end = (outcome: UpstreamOutcome, errorType: string | undefined, metadata: unknown): void => {
        if (ended) return;
        ended = true;
        abortSignal.removeEventListener('abort', onAbort);
        const attributes: Attributes = { [ATTR.rpcMethod]: operation, [ATTR.outcome]: outcome };
        if (errorType !== undefined) attributes[ATTR.errorType] = errorType;
        instruments.duration.record((performance.now() - started) / 1000, attributes);
        const meta = metadataOf(metadata);
        if (meta.requestId !== undefined) span.setAttribute(ATTR.requestId, meta.requestId);
        if (meta.attempts !== undefined) span.setAttribute(ATTR.attempts, meta.attempts);
        span.setAttribute(ATTR.outcome, outcome);
        if (errorType !== undefined) {
          span.setAttribute(ATTR.errorType, errorType);
          // The status message is the error type only: SDK messages can quote a rejected value.
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
        }
        span.end();
      };
      const onAbort = (): void => {
        const reason: unknown = abortSignal.reason;
        const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
        end(timedOut ? 'timeout' : 'cancelled', timedOut ? 'TimeoutError' : undefined, undefined);
      };
      abortSignal.addEventListener('abort', onAbort, { once: true });
      // An async function, so that a synchronous throw of `send` is a rejection like any other.
      const pending = (async () =>
        otelContext.with(trace.setSpan(otelContext.active(), span), () => send(client, abortSignal)))();
      return pending.then(
        (out) => {
          end('ok', undefined, out);
          return out;
        },
        (err: unknown) => {
          const refusal = refusalCode(err);
          if (refusal !== undefined) {
            this.refused(operation, refusal);
            end('refused', refusal, err);
          } else {
            const { outcome, errorType } = classify(err, operation);
            end(outcome, errorType, err);
          }
          throw err;
        },
      );
    };
  }

  /**
   * Counts a Cognito call refused by the quota governor before it was sent (the governor's hook:
   * call it where a refusal is turned into the caller's error). `code` is the refusal's
   * `BrokerError` code (`ERR_COGNITO_THROTTLED` for the shared quota, `ERR_RATE_LIMITED` for a
   * user's budget).
   */
  refused(operation: string, code: string): void {
    this.#ensure().refusals.add(1, { [ATTR.rpcMethod]: operation, [ATTR.reason]: code });
  }

  /**
   * Runs a first load of `cache` in a span of its own (child of the active span), so that callers
   * joining it can link to it. Returns the load's promise and its span's context.
   */
  traceLoad<T>(cache: string, run: () => Promise<T>): { promise: Promise<T>; trace: LoadTrace } {
    const span = this.#tracer.startSpan('cognito_broker.cache.load', {
      kind: SpanKind.INTERNAL,
      attributes: { [ATTR.cache]: cache, [ATTR.level]: 'memory' },
    });
    const promise = otelContext.with(trace.setSpan(otelContext.active(), span), run).then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR });
        if (isBrokerError(err)) span.setAttribute(ATTR.errorType, err.code);
        span.end();
        throw err;
      },
    );
    return { promise, trace: { spanContext: span.spanContext() } };
  }

  /**
   * A caller joining the running load `load` of `cache`: a short span, child of the caller's active
   * span (its request), linked to the load's span, ended when the wait ends. Only a recording
   * tracer pays for it; the no-op tracer returns the promise as is.
   */
  traceWait<T>(cache: string, load: LoadTrace, promise: Promise<T>): Promise<T> {
    const links: Link[] = [{ context: load.spanContext, attributes: { [ATTR.cache]: cache } }];
    const span: Span = this.#tracer.startSpan('cognito_broker.cache.wait', {
      kind: SpanKind.INTERNAL,
      attributes: { [ATTR.cache]: cache, [ATTR.level]: 'memory' },
      links,
    });
    if (!span.isRecording()) return promise;
    return promise.then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR });
        if (isBrokerError(err)) span.setAttribute(ATTR.errorType, err.code);
        span.end();
        throw err;
      },
    );
  }
}

/** A refusal by the quota governor inside the SDK's retries: an error carrying a `BrokerError` as `error`. */
function refusalCode(err: unknown): string | undefined {
  const inner = typeof err === 'object' && err !== null ? (err as { error?: unknown }).error : undefined;
  return isBrokerError(inner) ? inner.code : undefined;
}

function classify(err: unknown, operation: string): { outcome: UpstreamOutcome; errorType: string } {
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
function metadataOf(value: unknown): { requestId?: string; attempts?: number } {
  const meta = typeof value === 'object' && value !== null ? (value as { $metadata?: unknown }).$metadata : undefined;
  if (typeof meta !== 'object' || meta === null) return {};
  const m = meta as { requestId?: unknown; attempts?: unknown };
  const out: { requestId?: string; attempts?: number } = {};
  // A request id is a UUID-like token from AWS; anything longer or odd is not put on the span.
  if (typeof m.requestId === 'string' && /^[\w-]{1,128}$/.test(m.requestId)) out.requestId = m.requestId;
  if (typeof m.attempts === 'number' && Number.isInteger(m.attempts)) out.attempts = m.attempts;
  return out;
}
