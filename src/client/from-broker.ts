import { cachedProvider, type BrokerCredentialProvider } from './cached-provider.js';
import { BrokerClientError } from './errors.js';
import { resolveClientOptions, type BrokerClientOptions } from './options.js';
import { getJson, type BrokerAnswer } from './request.js';

/** The non-empty string at `answer.body[key]`, or `ERR_BAD_RESPONSE` naming the field (never its value). */
export function field(answer: BrokerAnswer, key: string, valid = (v: string) => v !== ''): string {
  const v = answer.body[key];
  if (typeof v != 'string' || !valid(v)) {
    throw new BrokerClientError('ERR_BAD_RESPONSE', `The broker's answer has no valid ${key}`, answer.status);
  }
  return v;
}

/**
 * An AWS SDK v3 credential provider fed by the broker's `GET /aws/credentials`: one request for any
 * number of concurrent SDK calls, refreshed `expiryMarginSeconds` before the credentials expire in
 * the broker's time (the skew comes from its `Date` header), `429`/`503` retried after `Retry-After`
 * within `maxAttempts` and `retryBudgetSeconds`.
 *
 * The returned credentials carry `identityId`, and an `expiration` moved into the local clock's time.
 * @throws TypeError on a bad option. Calls reject with {@link BrokerClientError}: `ERR_UNAUTHENTICATED`
 *   on 401 (send the user to login), `ERR_UNAVAILABLE`, `ERR_HTTP`, `ERR_BAD_RESPONSE`,
 *   `ERR_NETWORK`, `ERR_TIMEOUT`.
 * @example
 * ```ts
 * import { S3Client } from '@aws-sdk/client-s3';
 * import { fromBroker } from 'cognito-identity-broker/client';
 *
 * const credentials = fromBroker({ url: '/aws/credentials' });
 * const s3 = new S3Client({ region: 'us-east-1', credentials });
 * // at logout: credentials.clear();
 * ```
 */
export function fromBroker<I extends object>(options: BrokerClientOptions<I>): BrokerCredentialProvider {
  const o = resolveClientOptions(options);
  return cachedProvider(o.clock, o.marginMs, async () => {
    const a = await getJson(o);
    return {
      credentials: {
        identityId: field(a, 'identityId'),
        accessKeyId: field(a, 'accessKeyId'),
        secretAccessKey: field(a, 'secretAccessKey'),
        sessionToken: field(a, 'sessionToken'),
      },
      expiresAt: Date.parse(field(a, 'expiration')),
      skewMs: a.skewMs,
    };
  });
}
