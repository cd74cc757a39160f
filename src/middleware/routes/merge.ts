import type { Request, RequestHandler } from 'express';
import { BrokerError } from '../../errors.js';
import type { RateLimiter } from '../rate-limit.js';
import { assertOptionalFunction, assertRouteOptions, type RouteOptions } from '../route-options.js';
import { userRoute } from '../user-route.js';

/**
 * Proves that the logged-in user also owns another account (for example by checking that
 * account's password or a fresh login token in the request) and returns that account's user id,
 * or null when there is no proof. Never trust an id alone.
 */
export type VerifyMergeSource = (req: Request) => Promise<string | null> | string | null;

/** Options of {@link mergeRoute}. */
export interface MergeRouteOptions extends RouteOptions {
  /** The proof check. Without it every merge is refused with 403. */
  readonly verifyMergeSource?: VerifyMergeSource;
  /** Counts each call per user (before the proof is checked, so it also slows guessing). */
  readonly rateLimiter?: Pick<RateLimiter, 'consume'>;
}

/**
 * `POST /merge`: merges another account of the same person into the logged-in user's identity;
 * the other account is proven by `verifyMergeSource(req)`. Answers `{identityId}`.
 * @throws TypeError on invalid options. Request-time errors go to `next(err)`: `ERR_FORBIDDEN`
 *   without proof, `ERR_BAD_REQUEST` when the source is the user itself, `ERR_RATE_LIMITED`, and
 *   the broker's errors.
 */
export function mergeRoute(options: MergeRouteOptions): RequestHandler {
  assertRouteOptions(options);
  assertOptionalFunction(options.verifyMergeSource, 'verifyMergeSource');
  const { broker, rateLimiter, verifyMergeSource } = options;
  return userRoute(options, async (userId, req, res) => {
    rateLimiter?.consume(userId);
    const source = verifyMergeSource === undefined ? null : await verifyMergeSource(req);
    if (typeof source !== 'string' || source.length === 0) {
      throw new BrokerError('ERR_FORBIDDEN', 'The other account could not be verified.');
    }
    if (source === userId) {
      throw new BrokerError('ERR_BAD_REQUEST', 'An account cannot be merged into itself.');
    }
    const { identityId } = await broker.mergeUsers(userId, source);
    res.set('Cache-Control', 'no-store');
    res.json({ identityId });
  });
}
