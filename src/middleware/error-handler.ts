import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { isBrokerError, type BrokerErrorCode } from '../errors.js';
import { problem, sendProblem, type Problem, type ProblemHeaders } from './problem.js';

/** Options of {@link brokerErrorHandler}. */
export interface ErrorHandlerOptions {
  /** Where 5xx errors are logged (codes and names only, never secrets). Default: nothing is logged. */
  readonly logger?: Logger;
}

/** An error with a numeric HTTP status, as body-parser, http-errors and passport produce. */
interface HttpishError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  name?: unknown;
}

/** What an error turns into on the wire. */
export interface ProblemResponse {
  readonly body: Problem;
  readonly headers: ProblemHeaders;
}

function statusOf(err: HttpishError): number | undefined {
  const s = typeof err.status === 'number' ? err.status : err.statusCode;
  return typeof s === 'number' && Number.isInteger(s) && s >= 400 && s <= 599 ? s : undefined;
}

/**
 * Maps any error to the problem document the middleware sends. Broker errors keep their code and
 * status; body-parser's errors become 413 / 400; anything else 500 `ERR_INTERNAL`
 * with no detail.
 */
export function toProblem(err: unknown): ProblemResponse {
  if (isBrokerError(err)) {
    const status = err.status;
    const headers: ProblemHeaders = {
      ...(err.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: err.retryAfterSeconds }),
    };
    // 5xx messages may describe the server's configuration: keep them in the log only.
    return { body: problem(err.code, status, err.expose ? err.message : undefined), headers };
  }
  if (typeof err === 'object' && err !== null) {
    const e = err as HttpishError;
    const status = statusOf(e);
    if (e.type === 'entity.too.large' || status === 413) {
      return { body: problem('ERR_PAYLOAD_TOO_LARGE', 413, 'The request body is too large.'), headers: {} };
    }
    if (e.type === 'entity.parse.failed') {
      return { body: problem('ERR_BAD_REQUEST', 400, 'The request body is not valid JSON.'), headers: {} };
    }
    if (status === 401 || e.name === 'AuthenticationError') {
      return { body: problem('ERR_UNAUTHENTICATED', 401, 'Authentication required.'), headers: {} };
    }
    if (status !== undefined && status < 500) {
      const code: BrokerErrorCode =
        status === 403
          ? 'ERR_FORBIDDEN'
          : status === 404
            ? 'ERR_NOT_FOUND'
            : status === 429
              ? 'ERR_RATE_LIMITED'
              : 'ERR_BAD_REQUEST';
      return { body: problem(code, status === 403 || status === 404 || status === 429 ? status : 400), headers: {} };
    }
  }
  return { body: problem('ERR_INTERNAL', 500), headers: {} };
}

/**
 * An Express error handler that answers every error as `application/problem+json`
 * (`{type, title, status, code, detail?}`) with the right status, `Retry-After` on 429/503,
 * `WWW-Authenticate: Bearer …` on 401 and `Cache-Control: no-store`. Never sends a stack, a
 * secret or an upstream message. Errors of status 500 and above are logged with their code and
 * the name of their cause.
 *
 * @example
 * ```ts
 * app.use('/aws', cognitoRouter({ broker, allowedProviders: [] }));
 * app.use(brokerErrorHandler({ logger })); // last, after every route
 * ```
 */
export function brokerErrorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  const log = options.logger?.child({ component: 'cognito-middleware' });
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { body, headers } = toProblem(err);
    if (log !== undefined && body.status >= 500) {
      const cause: unknown = isBrokerError(err) ? err.cause : err;
      const name: unknown =
        typeof cause === 'object' && cause !== null ? (cause as { name?: unknown }).name : undefined;
      const causeName = typeof name === 'string' ? name : undefined;
      // A non-BrokerError here is a bug in the app or the middleware: its stack is needed to fix it,
      // and our code never puts secrets in error messages.
      const stack = !isBrokerError(err) && err instanceof Error ? err.stack : undefined;
      // A scope the app computed and the broker refused (routes/scoped-credentials.ts): its hash.
      const given = isBrokerError(err) ? (err as { scope?: unknown }).scope : undefined;
      const scope = typeof given === 'string' ? given : undefined;
      log.error(
        {
          code: body.code,
          status: body.status,
          method: req.method,
          route: req.baseUrl + req.path,
          causeName,
          stack,
          ...(scope === undefined ? {} : { scope }),
        },
        'request failed',
      );
    }
    sendProblem(res, body, headers);
  };
}
