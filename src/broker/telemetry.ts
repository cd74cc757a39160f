import {
  context as otelContext,
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Link,
  type MeterProvider,
  type Span,
  type SpanContext,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { isBrokerError } from '../errors.js';
import type { CognitoSendClient } from './options.js';
import {
  ATTR,
  classify,
  DURATION_BUCKETS,
  metadataOf,
  METRIC,
  refusalCode,
  type UpstreamOutcome,
} from './telemetry-names.js';
import { registerObservables, type TelemetrySource } from './telemetry-observables.js';

/** The instrumentation scope of every meter and tracer of the broker. */
export const INSTRUMENTATION_SCOPE = 'cognito-identity-broker';
/** The package's version (test/unit/broker/scope-version.test.ts keeps it equal to package.json's). */
export const SCOPE_VERSION = '0.2.0';

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
    if (this.#source !== undefined) registerObservables(meter, this.#source);
    return this.#instruments;
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
