// The emulator's control endpoint, from a test that does not share the emulator's process (the
// `cognito-identity-emulator` bin started by your CI, a container): only its endpoint is needed.
// Run: node --import tsx --test examples/testing/emulator-control.test.ts
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CognitoIdentityClient,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
} from '@aws-sdk/client-cognito-identity';
import { EmulatorControlClient, startEmulator, type RunningEmulator } from 'cognito-identity-broker/emulator';

let emu: RunningEmulator; // stands in for an emulator running elsewhere
let control: EmulatorControlClient;
before(async () => {
  emu = await startEmulator({
    seed: [{ name: 'demo', supportedLoginProviders: { 'graph.facebook.com': 'demo-app-id' } }],
  });
  control = new EmulatorControlClient(emu.endpoint); // e.g. 'http://127.0.0.1:4566'
});
after(() => emu.stop());

void test('a provider token, a fault and the call counters', async () => {
  const [pool] = await control.pools(); // the seeded pool
  const cognito = new CognitoIdentityClient({ endpoint: emu.endpoint, region: emu.region, maxAttempts: 1 });
  // A login of a public provider, as your app's POST /aws/logins {provider, token} would receive it.
  const Logins = { 'graph.facebook.com': await control.mintProviderToken('graph.facebook.com', 'fb-user-1') };
  const { IdentityId } = await cognito.send(new GetIdCommand({ IdentityPoolId: pool?.identityPoolId, Logins }));

  await control.setFault('GetCredentialsForIdentity', { error: 'TooManyRequestsException', count: 1 });
  await assert.rejects(cognito.send(new GetCredentialsForIdentityCommand({ IdentityId, Logins })), {
    name: 'TooManyRequestsException',
  });
  assert.deepEqual(await control.counters(), { GetId: 1, GetCredentialsForIdentity: 1 });

  await control.clearFaults();
  await control.resetCounters();
  await cognito.send(new GetCredentialsForIdentityCommand({ IdentityId, Logins }));
  assert.deepEqual(await control.counters(), { GetCredentialsForIdentity: 1 });
});
