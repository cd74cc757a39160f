// A real AWS SDK client for an emulator, and a broker over it: the fixture the integration suites share.
import { CognitoIdentityClient, type CognitoIdentityClientConfig } from '@aws-sdk/client-cognito-identity';
import { STSClient } from '@aws-sdk/client-sts';
import { createBroker } from '../../src/broker/create-broker.js';
import type { BrokerOptions } from '../../src/broker/options.js';
import type { Broker } from '../../src/broker/types.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorOptions, RunningEmulator } from '../../src/emulator/types.js';

/** An SDK client for `emu` with dummy developer credentials and, unless overridden, no retries. */
export function emulatorClient(
  emu: RunningEmulator,
  config: Partial<CognitoIdentityClientConfig> = {},
): CognitoIdentityClient {
  return new CognitoIdentityClient({
    region: emu.region,
    endpoint: emu.endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
    ...config,
  });
}

/** An STS client for `emu`'s STS (the classic flow's AssumeRoleWithWebIdentity), with no retries. */
export function emulatorStsClient(emu: RunningEmulator): STSClient {
  return new STSClient({
    region: emu.region,
    endpoint: emu.endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
  });
}

/**
 * Starts an emulator with `options` (its first seeded pool must have a developer provider), builds a
 * broker for that pool over a real SDK client, runs `fn`, and stops everything whatever `fn` does.
 */
export async function withEmulatorBroker(
  options: EmulatorOptions,
  fn: (broker: Broker, emu: RunningEmulator) => Promise<void>,
  brokerOptions: Partial<BrokerOptions> = {},
): Promise<void> {
  const emu = await startEmulator(options);
  const client = emulatorClient(emu);
  try {
    const pool = emu.pools[0];
    if (pool?.developerProviderName === undefined) throw new Error('seed a pool with a developer provider');
    const broker = createBroker({
      identityPoolId: pool.identityPoolId,
      developerProviderName: pool.developerProviderName,
      client,
      ...brokerOptions,
    });
    await fn(broker, emu);
  } finally {
    client.destroy();
    await emu.stop();
  }
}
