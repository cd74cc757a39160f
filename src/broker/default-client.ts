import { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';
import type { CognitoSendClient } from './options.js';

/** Options of {@link defaultCognitoClient}, from the broker's resolved options. */
export interface DefaultClientOptions {
  readonly region: string;
  readonly maxAttempts: number;
  /** The broker's per-call timeout: no attempt's socket is kept longer. */
  readonly timeoutMs: number;
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
 * - `requestTimeout` and `socketTimeout` of `timeoutMs`: no attempt waits longer than the broker's
 *   own timeout for a connection, an answer or the rest of a body.
 */
export function defaultCognitoClient(options: DefaultClientOptions): CognitoSendClient {
  const client = new CognitoIdentityClient({
    region: options.region,
    retryMode: 'standard',
    maxAttempts: options.maxAttempts,
    cacheMiddleware: true,
    requestHandler: {
      requestTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      throwOnRequestTimeout: true,
    },
  });
  /** Abort signals of calls in progress, by their command's input. */
  const signals = new WeakMap<object, AbortSignal>();
  /** Abort signals of attempts in progress, by the HTTP request the handler receives. */
  const attempts = new WeakMap<object, AbortSignal>();
  client.middlewareStack.add(
    (next, context) => {
      forgetFirstCommand(context);
      return async (args) => {
        const signal = signals.get(args.input);
        if (signal === undefined) return next(args);
        if (signal.aborted) throw abortError(signal);
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
  const send = async (
    command: Parameters<CognitoSendClient['send']>[0],
    sendOptions?: { abortSignal?: AbortSignal },
  ): Promise<unknown> => {
    const signal = sendOptions?.abortSignal;
    if (signal === undefined) return client.send(command);
    signals.set(command.input, signal);
    try {
      return await client.send(command);
    } finally {
      signals.delete(command.input);
    }
  };
  // The SDK's send() is overloaded per command; this one forwards every command unchanged.
  return { send: send as CognitoSendClient['send'] };
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

/** The error the SDK's own HTTP handler rejects an aborted request with: never retried. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('Request aborted', { cause: signal.reason }), { name: 'AbortError' });
}
