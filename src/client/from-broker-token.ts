import { cachedProvider, type BrokerCredentialProvider } from './cached-provider.js';
import { BrokerClientError } from './errors.js';
import { field } from './from-broker.js';
import { check, resolveClientOptions, type BrokerClientOptions } from './options.js';
import { getJson } from './request.js';

/** What {@link fromBrokerToken} passes to the SDK's `fromCognitoIdentity`. */
export interface CognitoIdentityParameters {
  readonly identityId: string;
  /** `{ [loginsKey]: token }`, from `GET /aws/token`. */
  readonly logins: Record<string, string>;
  /** The pool's region, then `clientConfig`. */
  readonly clientConfig: { readonly region: string; readonly endpoint?: string };
  readonly customRoleArn?: string;
}

/** The shape of the AWS SDK's `fromCognitoIdentity` (from `@aws-sdk/credential-providers`). */
export type FromCognitoIdentity = (parameters: CognitoIdentityParameters) => () => Promise<{
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}>;

/** Options of {@link fromBrokerToken}: those of `fromBroker`, and how to reach Cognito. */
export interface BrokerTokenOptions<I extends object = object> extends BrokerClientOptions<I> {
  /**
   * The SDK's `fromCognitoIdentity`, passed in so that apps using only `fromBroker` never load the
   * Cognito client. To give it a client of your own:
   * `fromCognitoIdentity: (p) => fromCognitoIdentity({ ...p, client })`. Required.
   */
  readonly fromCognitoIdentity: FromCognitoIdentity;
  /** Merged over `{ region }` (the pool's region): e.g. `{ endpoint }` for the emulator. */
  readonly clientConfig?: { readonly region?: string; readonly endpoint?: string };
  /** The IAM role to ask for (`CustomRoleArn`), when the pool's role mapping allows choosing. */
  readonly customRoleArn?: string;
}

const POOL_ID = /^[\w-]+:[0-9a-f-]+$/;

/**
 * An AWS SDK v3 credential provider fed by the broker's `GET /aws/token`: the SDK's own
 * `fromCognitoIdentity` exchanges the identity id and OpenID token for credentials with Cognito's
 * `GetCredentialsForIdentity`. Same caching, single-flight, skew, retries and errors as
 * `fromBroker`; each refresh is one token request and one Cognito call.
 * @throws TypeError on a bad option. Calls reject with {@link BrokerClientError}, `ERR_COGNITO`
 *   (the SDK's error as `cause`) when Cognito refuses or cannot be reached.
 * @example
 * ```ts
 * import { fromCognitoIdentity } from '@aws-sdk/credential-providers';
 * import { fromBrokerToken } from 'cognito-identity-broker/client';
 *
 * const credentials = fromBrokerToken({ url: 'https://api.example.com/aws/token', fromCognitoIdentity,
 *   init: { headers: { Authorization: `Bearer ${accessToken}` } } });
 * ```
 */
export function fromBrokerToken<I extends object>(options: BrokerTokenOptions<I>): BrokerCredentialProvider {
  const o = resolveClientOptions(options);
  const { fromCognitoIdentity, clientConfig, customRoleArn } = options;
  check(typeof fromCognitoIdentity == 'function', 'fromCognitoIdentity', 'a function');
  check(typeof (clientConfig ?? {}) == 'object', 'clientConfig', 'an object');
  return cachedProvider(o.clock, o.marginMs, async () => {
    const a = await getJson(o);
    const identityId = field(a, 'identityId');
    const parameters: CognitoIdentityParameters = {
      identityId,
      logins: { [field(a, 'loginsKey')]: field(a, 'token') },
      clientConfig: { region: field(a, 'identityPoolId', (v) => POOL_ID.test(v)).split(':')[0] ?? '', ...clientConfig },
      customRoleArn,
    };
    let c: Awaited<ReturnType<ReturnType<FromCognitoIdentity>>>;
    try {
      c = await fromCognitoIdentity(parameters)();
    } catch (cause) {
      throw new BrokerClientError('ERR_COGNITO', 'Cognito did not give credentials', undefined, { cause });
    }
    const { accessKeyId, secretAccessKey, sessionToken, expiration } = c;
    if (!accessKeyId || !secretAccessKey || !sessionToken) {
      throw new BrokerClientError('ERR_COGNITO', 'Cognito gave incomplete credentials');
    }
    // Cognito's clock is AWS's; the broker's `Date` is the closest reading of it the client has.
    return {
      credentials: { identityId, accessKeyId, secretAccessKey, sessionToken },
      expiresAt: Number(expiration),
      skewMs: a.skewMs,
    };
  });
}
