import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import { abortable } from './abort.js';
import type { Telemetry } from './telemetry.js';
import { toBrokerError, upstreamErrorName, validationMember, type UpstreamErrorContext } from './error-mapping.js';
import type { CognitoSendClient } from './options.js';
import { refusalOf, type Governor, type QuotaCaller } from './quota/governor.js';

/** Cognito operation names, as counted in {@link BrokerStats.upstreamCalls}. */
export const OP = Object.freeze({
  token: 'GetOpenIdTokenForDeveloperIdentity',
  credentials: 'GetCredentialsForIdentity',
  getId: 'GetId',
  describe: 'DescribeIdentity',
  lookup: 'LookupDeveloperIdentity',
  merge: 'MergeDeveloperIdentities',
  unlinkDeveloper: 'UnlinkDeveloperIdentity',
  unlink: 'UnlinkIdentity',
});

/** The timer the per-call timeout uses (node's by default; tests inject their own). */
export interface UpstreamTimers {
  setTimeout(fire: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const nodeTimers: UpstreamTimers = Object.freeze({
  setTimeout: (fire: () => void, ms: number): unknown => setTimeout(fire, ms),
  clearTimeout: (handle: unknown): void => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});

/** Options of {@link Upstream}. */
export interface UpstreamOptions {
  /** The Cognito client, made on the first call (the default client does no I/O until then). */
  readonly client: () => CognitoSendClient;
  /** Spans and the duration histogram of every call (telemetry.ts); none when absent. */
  readonly telemetry?: Telemetry | undefined;
  /** Time limit of one call, retries included, ms. */
  readonly timeoutMs: number;
  /** Named in the misconfiguration log line. */
  readonly identityPoolId: string;
  /** The broker's child logger. */
  readonly log: Logger;
  /** Default: node's timers. */
  readonly timers?: UpstreamTimers;
  /** The quota governor every call is admitted by; `undefined` when the quota is not governed. */
  readonly governor?: Governor | undefined;
}

/** What {@link Upstream.call} needs to know of a call: how to map its errors, and who it is for. */
export interface UpstreamCallContext extends UpstreamErrorContext {
  /** For the quota governor: the call's priority and the user charged. Default: a first load, no user. */
  readonly caller?: QuotaCaller;
}

/** The counters of {@link Upstream}, as {@link BrokerStats} reports them. */
export interface UpstreamStats {
  readonly upstreamCalls: Readonly<Record<string, number>>;
  readonly upstreamErrors: Readonly<Record<string, number>>;
  /** Calls that failed because Cognito throttled them (TooManyRequestsException), by operation. */
  readonly upstreamThrottles: Readonly<Record<string, number>>;
  readonly inFlight: number;
}

/**
 * The one place a Cognito call is made. Each {@link call} is one operation, the SDK's retries
 * included: it is counted, bounded by the broker's timeout, cancellable, logged (duration, code,
 * error name; never inputs or outputs), and its failure becomes a `BrokerError`.
 */
export class Upstream {
  readonly #client: () => CognitoSendClient;
  readonly #telemetry: Telemetry | undefined;
  readonly #timeoutMs: number;
  readonly #identityPoolId: string;
  readonly #log: Logger;
  readonly #timers: UpstreamTimers;
  readonly #calls: Record<string, number> = {};
  readonly #errors: Record<string, number> = {};
  readonly #throttles: Record<string, number> = {};
  readonly #governor: Governor | undefined;
  #inFlight = 0;

  constructor(options: UpstreamOptions) {
    this.#client = options.client;
    this.#timeoutMs = options.timeoutMs;
    this.#identityPoolId = options.identityPoolId;
    this.#telemetry = options.telemetry;
    this.#log = options.log;
    this.#timers = options.timers ?? nodeTimers;
    this.#governor = options.governor;
  }

  /**
   * Runs `send(client, abortSignal)` as one upstream call of `context.operation`. `abortSignal`
   * fires on the timeout (the caller gets `ERR_COGNITO_TIMEOUT`) and when `cancel` fires (its
   * cache entry was dropped): that rejection is `cancel`'s reason, not a `BrokerError`, and is not
   * counted as an error. The quota governor admits the call first (within the timeout): a call it
   * refuses is neither counted nor sent.
   * @throws BrokerError for every failure of the call itself (see `toBrokerError`); a misconfiguration
   *   (`ERR_MISCONFIGURED`) is also logged at error level; the governor's refusals
   *   (`ERR_COGNITO_THROTTLED`, `ERR_RATE_LIMITED`).
   */
  async call<T>(
    context: UpstreamCallContext,
    send: (client: CognitoSendClient, abortSignal: AbortSignal) => Promise<T>,
    cancel?: AbortSignal,
  ): Promise<T> {
    const { operation } = context;
    const controller = new AbortController();
    // ── Telemetry (telemetry.ts): a span and a duration from when `send` runs (after any admission).
    if (this.#telemetry !== undefined) send = this.#telemetry.wrapSend(operation, send);
    // ──
    // Made only when the timer fires: a DOMException captures a stack trace, ~50 µs on every call.
    let timeoutReason: DOMException | undefined;
    const timer = this.#timers.setTimeout(() => {
      timeoutReason = new DOMException(`${operation} timed out`, 'TimeoutError');
      controller.abort(timeoutReason);
    }, this.#timeoutMs);
    const onCancel = (): void => {
      controller.abort(cancel?.reason);
    };
    if (cancel?.aborted === true) onCancel();
    else cancel?.addEventListener('abort', onCancel, { once: true });
    const started = performance.now();
    let sent = false;
    try {
      // ── Quota governor (quota/governor.ts): the user's budget and the first attempt's token.
      if (this.#governor !== undefined)
        await this.#governor.admit(operation, context.caller, controller.signal, this.#timeoutMs - 1);
      // ──
      sent = true;
      this.#calls[operation] = (this.#calls[operation] ?? 0) + 1;
      this.#inFlight += 1;
      const out = await abortable(send(this.#client(), controller.signal), controller.signal);
      this.#log.debug({ operation, durationMs: Math.round(performance.now() - started) }, 'cognito call');
      return out;
    } catch (err) {
      // ── A refusal by the governor (first attempt or an SDK retry): its own counters, not an upstream error.
      const refused = refusalOf(err);
      if (refused !== undefined) {
        this.#log.debug({ operation, code: refused.code }, 'cognito call refused by the quota governor');
        // A refusal of an SDK retry (after `sent`) is counted by the telemetry's own wrapper.
        if (!sent) this.#telemetry?.refused(operation, refused.code);
        throw refused;
      }
      // ──
      const elapsedMs = Math.round(performance.now() - started);
      const timedOut = timeoutReason !== undefined && controller.signal.reason === timeoutReason;
      if (controller.signal.aborted && !timedOut) {
        this.#log.debug({ operation, durationMs: elapsedMs }, 'cognito call cancelled');
        throw err;
      }
      this.#errors[operation] = (this.#errors[operation] ?? 0) + 1;
      const mapped = timedOut
        ? new BrokerError('ERR_COGNITO_TIMEOUT', 'The identity service did not answer in time', {
            cause: err,
            retryable: true,
          })
        : toBrokerError(err, context);
      if (mapped.code === 'ERR_COGNITO_THROTTLED') this.#throttles[operation] = (this.#throttles[operation] ?? 0) + 1;
      this.#logFailure(operation, elapsedMs, mapped);
      throw mapped;
    } finally {
      this.#timers.clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
      if (sent) this.#inFlight -= 1;
    }
  }

  #logFailure(operation: string, durationMs: number, mapped: BrokerError): void {
    const fields = {
      operation,
      durationMs,
      code: mapped.code,
      errorName: upstreamErrorName(mapped),
      retryable: mapped.retryable,
    };
    if (mapped.code !== 'ERR_MISCONFIGURED') {
      this.#log.warn(fields, 'cognito call failed');
      return;
    }
    const cause = mapped.cause as { message?: unknown } | undefined;
    const member = validationMember(typeof cause?.message === 'string' ? cause.message : '');
    this.#log.error(
      { ...fields, ...(member === '' ? {} : { member }), identityPoolId: this.#identityPoolId },
      'cognito broker misconfigured: check identityPoolId, developerProviderName, roles and AWS credentials',
    );
  }

  /** Calls and failures by operation, and calls in flight, since the broker was created. */
  stats(): UpstreamStats {
    return {
      upstreamCalls: { ...this.#calls },
      upstreamErrors: { ...this.#errors },
      upstreamThrottles: { ...this.#throttles },
      inFlight: this.#inFlight,
    };
  }
}
