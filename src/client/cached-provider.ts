import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { BrokerClientError } from './errors.js';
import type { ClientClock } from './options.js';

/** Credentials with the identity they belong to; `expiration` is in the local clock's time. */
export interface BrokerCredentials extends AwsCredentialIdentity {
  /** The user's Cognito identity id. */
  readonly identityId: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/**
 * An AWS SDK v3 credential provider (an `AwsCredentialIdentityProvider`): give it as `credentials`
 * to any client. `clear()` forgets the cached credentials (call it at logout); a refresh already
 * running is then not cached either.
 */
export interface BrokerCredentialProvider {
  (identityProperties?: Readonly<Record<string, unknown>>): Promise<BrokerCredentials>;
  /** Forgets the cached credentials; the next call fetches new ones. */
  clear(): void;
}

/** What a load yields: the credentials, when they expire in the broker's time, and the skew. */
export interface LoadedCredentials {
  readonly credentials: Omit<BrokerCredentials, 'expiration'>;
  /** Epoch milliseconds, broker (or Cognito) time. */
  readonly expiresAt: number;
  /** Broker time minus local time, milliseconds. */
  readonly skewMs: number;
}

/**
 * Wraps `load` in a cache of one entry: one load at a time for any number of callers, the entry
 * served until `expiration − skew − margin` (local time), errors never cached.
 */
export function cachedProvider(
  clock: ClientClock,
  marginMs: number,
  load: () => Promise<LoadedCredentials>,
): BrokerCredentialProvider {
  let cached: BrokerCredentials | undefined;
  let refreshAt = 0;
  let inflight: Promise<BrokerCredentials> | undefined;
  let generation = 0;

  const provider = (): Promise<BrokerCredentials> => {
    if (cached !== undefined && clock.now() < refreshAt) return Promise.resolve(cached);
    if (inflight === undefined) {
      const own = generation;
      const running: Promise<BrokerCredentials> = load()
        .then((c) => {
          const now = clock.now();
          const expiresAt = c.expiresAt - c.skewMs;
          // NaN (no valid expiration) fails this test too.
          if (!(expiresAt > now)) {
            throw new BrokerClientError('ERR_BAD_RESPONSE', 'The credentials have expired or have no valid expiration');
          }
          const credentials: BrokerCredentials = { ...c.credentials, expiration: new Date(expiresAt) };
          if (own === generation) {
            cached = credentials;
            // Credentials with less than two margins left are kept for half their remaining life.
            refreshAt = expiresAt - Math.min(marginMs, (expiresAt - now) / 2);
          }
          return credentials;
        })
        .finally(() => {
          if (inflight === running) inflight = undefined;
        });
      inflight = running;
    }
    return inflight;
  };
  provider.clear = (): void => {
    generation++;
    cached = undefined;
    inflight = undefined;
  };
  return provider;
}
