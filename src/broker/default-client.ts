import { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';
import type { CognitoSendClient } from './options.js';

/** Options of {@link defaultCognitoClient}, from the broker's resolved options. */
export interface DefaultClientOptions {
  readonly region: string;
  readonly maxAttempts: number;
  /** The broker's per-call timeout: no attempt's socket is kept longer. */
  readonly timeoutMs: number;
  /**
   * Runs before each attempt after a call's first (the SDK's retries), with the call's abort signal:
   * the quota governor's token for that attempt. Its rejection fails the attempt, and so the call.
   */
  readonly beforeRetry?: (signal: AbortSignal) => Promise<void> | undefined;
}

/**
 * The broker's default Cognito client: the AWS SDK's, configured as the broker needs it.
 *
 * - `retryMode: 'standard'`, not `'adaptive'`: under a burst past the quota, adaptive's client-side
 *   rate limiter queues calls inside the SDK and backs off below the quota, so callers hit the
 *   timeout (504); standard fails fast with ERR_COGNITO_THROTTLED (503 + Retry-After) and keeps the
 *   quota in use (bench: login burst).
 * - `cacheMiddleware`: the SDK resolves each command type's middleware stack once instead of on
 *   every call, about a quarter of the SDK's CPU per call (bench: refresh without waiting). The SDK
 *   caches only for calls sent without per-call options, so a call's abort signal travels beside
 *   the command (keyed by its input) to a middleware of our own that runs for every attempt, after
 *   the retry middleware. It hands the signal to the HTTP handler with that attempt's request, so an
 *   abort destroys the attempt's request as before; an attempt after an abort is refused with an
 *   `AbortError`, which the SDK neither retries nor charges to its retry quota.
 * - The same middleware takes the quota governor's token for every attempt after the first (the
 *   broker takes the first one before sending): an SDK retry waits for its token like any call, and
 *   the governor's refusal is an `AbortError` too, so it is neither retried nor charged.
 * - `requestTimeout` and `socketTimeout` of `timeoutMs`: no attempt waits longer than the broker's
 *   own timeout for a connection, an answer or the rest of a body.
 */
export function defaultCognitoClient(options: DefaultClientOptions): CognitoSendClient {
  const client = new CognitoIdentityClient(defaultClientConfig(options));
  // The SDK's send() is overloaded per command; governedSend forwards every command unchanged.
  return { send: governedSend(client, options.beforeRetry) as CognitoSendClient['send'] };
}

/** The SDK client configuration both default clients share (Cognito's and STS's, sts-client.ts). */
export function defaultClientConfig(options: DefaultClientOptions) {
  return {
    region: options.region,
    retryMode: 'standard',
    maxAttempts: options.maxAttempts,
    cacheMiddleware: true,
    requestHandler: {
      requestTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      throwOnRequestTimeout: true,
    },
  } as const;
}

/** The parts of an AWS SDK v3 client {@link governedSend} uses (a `CognitoIdentityClient`, an `STSClient`). */
type SdkClient = Pick<CognitoIdentityClient, 'middlewareStack' | 'config' | 'send'>;

/**
 * `client.send`, with the default client's abort and retry handling installed on `client` (see
 * {@link defaultCognitoClient}): a call's abort signal reaches every attempt's HTTP request, and
 * `beforeRetry` runs before each attempt after the first.
 */
export function governedSend(
  client: SdkClient,
  beforeRetry: DefaultClientOptions['beforeRetry'],
): (command: never, sendOptions?: { abortSignal?: AbortSignal }) => Promise<unknown> {
  /** Calls in progress (their abort signal and attempts so far), by their command's input. */
  const signals = new WeakMap<object, { readonly signal: AbortSignal; attempts: number }>();
  /** Abort signals of attempts in progress, by the HTTP request the handler receives. */
  const attempts = new WeakMap<object, AbortSignal>();
  client.middlewareStack.add(
    (next, context) => {
      forgetFirstCommand(context);
      return async (args) => {
        const call = signals.get(args.input);
        if (call === undefined) return next(args);
        const { signal } = call;
        if (signal.aborted) throw abortError(signal);
        call.attempts += 1;
        if (call.attempts > 1 && beforeRetry !== undefined) {
          try {
            await beforeRetry(signal);
          } catch (err) {
            // An abort during the wait is refused as any aborted attempt (never retried).
            if (isAborted(signal)) throw abortError(signal);
            throw err;
          }
          if (isAborted(signal)) throw abortError(signal);
        }
        const request = args.request as object;
        attempts.set(request, signal);
        try {
          return await next(args);
        } finally {
          attempts.delete(request);
        }
      };
    },
    // After the retry and signing middleware (high priority and relative to retry, same step):
    // once per attempt, with the request the HTTP handler receives.
    { step: 'finalizeRequest', priority: 'low', name: 'cognitoBrokerAbort' },
  );
  // The handler gets the attempt's signal; the rest of the SDK's handler is used as it is.
  const http = client.config.requestHandler;
  type HandlerOptions = Parameters<typeof http.handle>[1] & { abortSignal?: AbortSignal };
  client.config.requestHandler = Object.assign(Object.create(http) as typeof http, {
    handle: (request: object, handlerOptions?: HandlerOptions) =>
      http.handle(request as Parameters<typeof http.handle>[0], {
        ...handlerOptions,
        abortSignal: attempts.get(request) ?? handlerOptions?.abortSignal,
      }),
    destroy: () => {
      http.destroy?.();
    },
  });
  type Command = Parameters<CognitoSendClient['send']>[0];
  const send = async (command: Command, sendOptions?: { abortSignal?: AbortSignal }): Promise<unknown> => {
    const signal = sendOptions?.abortSignal;
    if (signal === undefined) return client.send(command);
    signals.set(command.input, { signal, attempts: 0 });
    try {
      return await client.send(command);
    } finally {
      signals.delete(command.input);
    }
  };
  // The SDK's send() is overloaded per command; this one forwards every command unchanged.
  return send;
}

/**
 * With `cacheMiddleware`, the context of a command type's cached stack (built once, with the first
 * command of that type) keeps that command, and so its input, for the client's life: the first
 * GetCredentialsForIdentity's OpenID token, say. Nothing reads more of it than its class; keep only
 * that. (Runs when the stack is resolved, before the first call of the type.)
 */
function forgetFirstCommand(context: object): void {
  const smithy = (context as Record<string, unknown>).__smithy_context;
  if (typeof smithy !== 'object' || smithy === null) return;
  const first = (smithy as { commandInstance?: unknown }).commandInstance;
  if (typeof first !== 'object' || first === null) return;
  (smithy as { commandInstance?: unknown }).commandInstance = Object.create(
    Object.getPrototypeOf(first) as object | null,
  ) as unknown;
}

/** `signal.aborted`, read again after an `await` (where TypeScript keeps an earlier check's narrowing). */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** The error the SDK's own HTTP handler rejects an aborted request with: never retried. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('Request aborted', { cause: signal.reason }), { name: 'AbortError' });
}
