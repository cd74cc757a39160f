import { BrokerError } from '../errors.js';
import type { BrokerContext } from './context.js';
import type { PrincipalTags } from './options.js';

/**
 * The user's principal tags now, from the `principalTags` option (`undefined` for none).
 * `quiet`: a refusal is not logged (the caller falls back to a path that logs it).
 * @throws BrokerError `ERR_INTERNAL` when `principalTags` throws, `ERR_MISCONFIGURED` when it
 *   returns a Promise.
 */
export function tagsFor(ctx: BrokerContext, userId: string, quiet = false): PrincipalTags | undefined {
  const principalTags = ctx.options.principalTags;
  if (principalTags === undefined) return undefined;
  let tags: PrincipalTags | undefined;
  try {
    tags = principalTags(userId);
  } catch (err) {
    throw new BrokerError('ERR_INTERNAL', 'principalTags failed', { cause: err });
  }
  // An async function's Promise has no own keys: it would silently mean "no tags". Refuse it.
  if (typeof (tags as { then?: unknown } | undefined)?.then === 'function') {
    // No unhandled rejection from the refused Promise.
    Promise.resolve(tags).catch(() => undefined);
    if (!quiet)
      ctx.log.error(
        { operation: 'principalTags' },
        'cognito broker misconfigured: principalTags returned a Promise; it must return the tags synchronously',
      );
    throw new BrokerError('ERR_MISCONFIGURED', 'The identity service is misconfigured', {
      cause: new TypeError('principalTags must return the tags (or undefined), not a Promise'),
    });
  }
  return tags === undefined || Object.keys(tags).length === 0 ? undefined : tags;
}
