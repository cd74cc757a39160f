import type { ErrorRequestHandler } from 'express';
import session, { type Store } from 'express-session';
import { PROBLEM_CONTENT_TYPE } from '../../src/middleware/index.js';

// The example's sessions over a shared store (connect-redis in fleet mode): a store that fails or
// does not answer turns into one kind of error, answered 503 with its own code.

/** The `type` base of the broker's problem documents, which this one follows. */
const PROBLEM_TYPE = 'tag:cognito-identity-broker,2026:';

/** The code of the problem a request gets while the shared sessions (Redis) are unavailable. */
export const SESSIONS_UNAVAILABLE = 'ERR_SESSIONS_UNAVAILABLE';

/**
 * A shared store (sessions, bearer tokens) that failed: a passing outage, not a bug of the app. The
 * store's error (it may name the server) is kept only as the cause, never sent.
 */
export class SessionsUnavailableError extends Error {
  constructor(cause: unknown) {
    super('Sessions are unavailable; try again shortly.', { cause });
    this.name = 'SessionsUnavailableError';
  }
}

export function storeUnavailable(err: unknown): SessionsUnavailableError {
  return new SessionsUnavailableError(err);
}

/**
 * Answers a {@link SessionsUnavailableError} with 503, `Retry-After: 1` and a problem document of its
 * own code ({@link SESSIONS_UNAVAILABLE}), so that a client (and whoever reads the access log) tells
 * a Redis outage from a bug; every other error goes on to the broker's error handler.
 */
export function sessionsUnavailableHandler(): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (!(err instanceof SessionsUnavailableError) || res.headersSent) {
      next(err);
      return;
    }
    res.status(503).set({ 'Retry-After': '1', 'Cache-Control': 'no-store', 'Content-Type': PROBLEM_CONTENT_TYPE });
    res.send(
      JSON.stringify({
        type: `${PROBLEM_TYPE}${SESSIONS_UNAVAILABLE}`,
        title: 'Sessions unavailable',
        status: 503,
        code: SESSIONS_UNAVAILABLE,
        detail: err.message,
      }),
    );
  };
}

type Done = (err?: unknown, value?: session.SessionData | null) => void;

/**
 * A session store whose failures are {@link storeUnavailable}: every path to the store (the session
 * middleware, passport's session regeneration at login, logout) then answers 503, not 500.
 */
export class UnavailableWhenFailing extends session.Store {
  readonly #inner: Store;
  readonly #timeoutMs: number;
  constructor(inner: Store, timeoutMs: number) {
    super();
    this.#inner = inner;
    this.#timeoutMs = timeoutMs;
  }
  /**
   * The callback of one store call, once: with the store's answer, or with a 503 after `timeoutMs`
   * (node-redis waits for ever for the reply to a command already sent to a server that stopped
   * answering, so a paused Redis would hold every request with a session cookie).
   */
  #done(callback: Done | undefined): Done {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      callback?.(storeUnavailable(new Error(`no answer from the session store within ${this.#timeoutMs} ms`)));
    }, this.#timeoutMs);
    return (err, value) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      callback?.(err === undefined || err === null ? null : storeUnavailable(err), value);
    };
  }
  override get(sid: string, callback: Done): void {
    this.#inner.get(sid, this.#done(callback));
  }
  override set(sid: string, data: session.SessionData, callback?: Done): void {
    this.#inner.set(sid, data, this.#done(callback));
  }
  override destroy(sid: string, callback?: Done): void {
    this.#inner.destroy(sid, this.#done(callback));
  }
  override touch(sid: string, data: session.SessionData, callback?: Done): void {
    if (this.#inner.touch === undefined) {
      callback?.();
      return;
    }
    this.#inner.touch(sid, data, this.#done(callback));
  }
}
