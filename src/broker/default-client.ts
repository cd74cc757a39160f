import { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';
import { abortable } from './abort.js';
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
 *   the command (keyed by its input) to a middleware of our own, which runs for every attempt: an
 *   aborted call settles at once and makes no further attempt.
 * - the socket of an attempt is closed after `timeoutMs` without an answer, so an aborted attempt
 *   does not hold a connection longer than the broker's own timeout.
 */
export function defaultCognitoClient(options: DefaultClientOptions): CognitoSendClient {
  const client = new CognitoIdentityClient({
    region: options.region,
    retryMode: 'standard',
    maxAttempts: options.maxAttempts,
    cacheMiddleware: true,
    requestHandler: { requestTimeout: options.timeoutMs, throwOnRequestTimeout: true },
  });
  const signals = new WeakMap<object, AbortSignal>();
  client.middlewareStack.add(
    (next) => async (args) => {
      const signal = signals.get(args.input);
      if (signal === undefined) return next(args);
      signal.throwIfAborted();
      return abortable(next(args), signal);
    },
    // After the retry middleware (high priority in the same step): once per attempt.
    { step: 'finalizeRequest', priority: 'low', name: 'cognitoBrokerAbort' },
  );
  const send = async (command: Parameters<CognitoSendClient['send']>[0], sendOptions?: { abortSignal?: AbortSignal }): Promise<unknown> => {
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
