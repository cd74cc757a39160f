import { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';
import { STSClient } from '@aws-sdk/client-sts';
import { createBroker } from '../broker/create-broker.js';
import type { BrokerOptions } from '../broker/options.js';
import type { Broker } from '../broker/types.js';
import { startEmulator } from '../emulator/start.js';
import type { EmulatorOptions, RunningEmulator, SeedPool } from '../emulator/types.js';

/** Options of {@link startTestBroker}. Every one has a default: `startTestBroker()` is enough. */
export interface TestBrokerOptions {
  /**
   * The seeded pool. Defaults: name `test`, developer provider `login.test.app`, guests allowed,
   * `graph.facebook.com` (app id `test-app-id`) as a supported login provider. With
   * `allowClassicFlow: true` the pool allows the classic flow (`broker.getScopedCredentials`).
   */
  readonly pool?: Partial<SeedPool>;
  /** Broker options besides the pool, the provider and the client (e.g. `clock`, `cache`). */
  readonly broker?: Omit<BrokerOptions, 'identityPoolId' | 'developerProviderName' | 'client' | 'stsClient'>;
  /** Emulator options besides `seed` (e.g. `clock`, `stateFile`, `strictSigV4`). */
  readonly emulator?: Omit<EmulatorOptions, 'seed'>;
}

/** What {@link startTestBroker} returns: a broker on a running emulator, and the means to stop both. */
export interface TestBroker {
  /** A broker for the seeded pool, over {@link TestBroker.client}. */
  readonly broker: Broker;
  /** The AWS SDK client the broker uses: the emulator's endpoint, dummy credentials, no retries. */
  readonly client: CognitoIdentityClient;
  /**
   * The STS client the broker's classic flow (`getScopedCredentials`) uses: the emulator's STS, no
   * retries. Also for checking scoped credentials (`GetCallerIdentityCommand` with them).
   */
  readonly stsClient: STSClient;
  /**
   * `http://127.0.0.1:PORT`; for an app's own broker, set `AWS_ENDPOINT_URL_COGNITO_IDENTITY` (and
   * `AWS_ENDPOINT_URL_STS` for the classic flow) to it.
   */
  readonly endpoint: string;
  readonly region: string;
  readonly identityPoolId: string;
  readonly developerProviderName: string;
  /** The emulator: `setFault()`, `counters()`, `mintProviderToken()`, `pools`. */
  readonly emulator: RunningEmulator;
  /** Destroys the client and stops the emulator. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_POOL = {
  name: 'test',
  developerProviderName: 'login.test.app',
  allowUnauthenticatedIdentities: true,
  supportedLoginProviders: { 'graph.facebook.com': 'test-app-id' },
} as const;

/**
 * Starts the emulator on 127.0.0.1 (a free port) with one seeded pool and returns a broker for it:
 * test your own app's routes and jobs against the Cognito Identity API without an AWS account.
 * Call `stop()` when done (in `after`/`afterAll`).
 *
 * @example
 * ```ts
 * import { startTestBroker } from 'cognito-identity-broker/testing';
 *
 * const t = await startTestBroker();
 * const credentials = await t.broker.getCredentials('user-1');
 * t.emulator.setFault('GetCredentialsForIdentity', { error: 'InternalErrorException', count: 1 });
 * t.emulator.counters(); // calls per operation
 * await t.stop();
 * ```
 * @throws TypeError when an option is invalid (from the emulator or the broker).
 */
export async function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  // JavaScript callers are not held to the types.
  const given: unknown = options;
  if (typeof given !== 'object' || given === null) throw new TypeError('options must be an object');
  const seed: SeedPool = { ...DEFAULT_POOL, ...options.pool };
  const developerProviderName = seed.developerProviderName;
  if (typeof developerProviderName !== 'string') {
    throw new TypeError('pool.developerProviderName must be a string: the broker needs a developer provider');
  }
  const emulator = await startEmulator({ ...options.emulator, seed: [seed] });
  const client = new CognitoIdentityClient({
    region: emulator.region,
    endpoint: emulator.endpoint,
    // The emulator checks only that a request is signed (unless `strictSigV4`): any key will do.
    credentials: { accessKeyId: 'AKIDTESTBROKER', secretAccessKey: 'test-broker-secret-access-key' },
    // A test sees the emulator's fault as it is, not after the SDK's retries.
    maxAttempts: 1,
  });
  // The emulator serves STS on the same endpoint; AssumeRoleWithWebIdentity is sent unsigned.
  const stsClient = new STSClient({
    region: emulator.region,
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'AKIDTESTBROKER', secretAccessKey: 'test-broker-secret-access-key' },
    maxAttempts: 1,
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      client.destroy();
      stsClient.destroy();
      await emulator.stop();
    })();
    return stopped;
  };
  try {
    const pool = emulator.pools[0];
    if (pool === undefined) throw new Error('the emulator seeded no pool');
    const broker = createBroker({
      ...options.broker,
      identityPoolId: pool.identityPoolId,
      developerProviderName,
      client,
      stsClient,
    });
    return Object.freeze({
      broker,
      client,
      stsClient,
      endpoint: emulator.endpoint,
      region: emulator.region,
      identityPoolId: pool.identityPoolId,
      developerProviderName,
      emulator,
      stop,
    });
  } catch (err) {
    await stop();
    throw err;
  }
}
