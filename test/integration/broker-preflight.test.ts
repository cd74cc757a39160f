// broker.preflight() with the real AWS SDK against the emulator on 127.0.0.1: each misconfiguration
// is ERR_MISCONFIGURED with a reason naming it, a transient failure keeps its own code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { createBroker, isBrokerError, type Broker, type BrokerError, type BrokerOptions } from '../../src/index.js';
import { rejectionOf } from '../helpers/broker-fixture.js';
import { emulatorClient } from '../helpers/emulator-sdk.js';

const DEV = 'login.example.app';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

void describe('broker.preflight() against the emulator', () => {
  let emu: RunningEmulator;
  let sdk: ReturnType<typeof emulatorClient>;
  const pool = (i: number): string => emu.pools[i]!.identityPoolId;

  before(async () => {
    emu = await startEmulator({
      seed: [
        { name: 'good', developerProviderName: DEV, allowUnauthenticatedIdentities: true },
        { name: 'no-roles', developerProviderName: DEV, roles: {} },
        { name: 'no-guests', developerProviderName: DEV },
        { name: 'no-developer-provider' },
        {
          name: 'no-guest-role',
          developerProviderName: DEV,
          allowUnauthenticatedIdentities: true,
          roles: { authenticated: 'arn:aws:iam::123456789012:role/auth' },
        },
      ],
    });
    sdk = emulatorClient(emu);
  });
  after(async () => {
    sdk.destroy();
    await emu.stop();
  });

  function broker(options: Partial<BrokerOptions> = {}): Broker {
    return createBroker({ identityPoolId: pool(0), developerProviderName: DEV, client: sdk, ...options });
  }

  async function misconfigured(p: Promise<unknown>): Promise<BrokerError> {
    const err = await rejectionOf(p);
    assert.ok(isBrokerError(err), String(err));
    assert.equal(err.code, 'ERR_MISCONFIGURED');
    assert.equal(err.status, 500);
    assert.equal(err.message.includes(SECRET), false);
    return err;
  }

  void it('returns what it found for a usable pool, in one DescribeIdentityPool and one GetIdentityPoolRoles', async () => {
    emu.resetCounters();
    const b = broker();
    const result = await b.preflight({ guests: true });
    assert.deepEqual(result, {
      identityPoolId: pool(0),
      identityPoolName: 'good',
      region: emu.region,
      developerProviderName: DEV,
      allowUnauthenticatedIdentities: true,
      roles: emu.pools[0]!.roles,
      // The seed leaves AllowClassicFlow unset (DescribeIdentityPool says false): see broker-classic-flow.test.ts.
      classicFlow: { usable: false, reason: result.classicFlow.reason },
    });
    assert.ok(result.roles.authenticated.startsWith('arn:aws:iam::'));
    assert.deepEqual(emu.counters(), { DescribeIdentityPool: 1, GetIdentityPoolRoles: 1 });
    assert.deepEqual(b.stats().upstreamCalls, { DescribeIdentityPool: 1, GetIdentityPoolRoles: 1 });
  });

  void it('names a pool without an authenticated role', async () => {
    const err = await misconfigured(broker({ identityPoolId: pool(1) }).preflight());
    assert.ok(err.message.includes(`identity pool ${pool(1)} has no authenticated role`), err.message);
  });

  void it('names both developer provider names when they differ', async () => {
    const err = await misconfigured(broker({ developerProviderName: 'login.other.app' }).preflight());
    assert.match(err.message, /has developer provider name "login\.example\.app", not "login\.other\.app"/);
  });

  void it('names a pool with no developer provider at all', async () => {
    const err = await misconfigured(broker({ identityPoolId: pool(3) }).preflight());
    assert.match(err.message, /has no developer provider name: set it to "login\.example\.app"/);
  });

  void it('names a pool that does not exist, with its region', async () => {
    const missing = `${emu.region}:00000000-0000-4000-8000-000000000000`;
    const err = await misconfigured(broker({ identityPoolId: missing }).preflight());
    assert.ok(err.message.includes(`identity pool ${missing} does not exist in ${emu.region}`), err.message);
  });

  void it('names missing AWS credentials without calling Cognito', async () => {
    const noCredentials = emulatorClient(emu, {
      credentials: () =>
        Promise.reject(
          Object.assign(new Error('Could not load credentials from any providers'), {
            name: 'CredentialsProviderError',
          }),
        ),
    });
    try {
      emu.resetCounters();
      const err = await misconfigured(broker({ client: noCredentials }).preflight());
      assert.match(err.message, /^no AWS credentials/);
      assert.deepEqual(emu.counters(), {});
    } finally {
      noCredentials.destroy();
    }
  });

  void it('names a call the AWS credentials may not make', async () => {
    emu.setFault('DescribeIdentityPool', { error: 'NotAuthorizedException', count: 1 });
    try {
      const err = await misconfigured(broker().preflight());
      assert.match(
        err.message,
        /may not call cognito-identity:DescribeIdentityPool on identity pool .* \(NotAuthorizedException\)/,
      );
    } finally {
      emu.clearFaults();
    }
  });

  void it('with guests, names a pool that allows none and one without an unauthenticated role', async () => {
    assert.equal((await broker({ identityPoolId: pool(2) }).preflight()).allowUnauthenticatedIdentities, false);
    const noGuests = await misconfigured(broker({ identityPoolId: pool(2) }).preflight({ guests: true }));
    assert.match(noGuests.message, /does not allow unauthenticated \(guest\) identities/);
    const noRole = await misconfigured(broker({ identityPoolId: pool(4) }).preflight({ guests: true }));
    assert.match(noRole.message, /has no unauthenticated role/);
  });

  void it('keeps the code of a transient failure (throttling, outage): the configuration may be right', async () => {
    emu.setFault('DescribeIdentityPool', { error: 'TooManyRequestsException', count: 1 });
    emu.setFault('GetIdentityPoolRoles', { error: 'InternalErrorException', count: 1 });
    try {
      const throttled = await rejectionOf(broker().preflight());
      assert.ok(isBrokerError(throttled) && throttled.code === 'ERR_COGNITO_THROTTLED' && throttled.retryable);
      const down = await rejectionOf(broker().preflight());
      assert.ok(isBrokerError(down) && down.code === 'ERR_COGNITO_UNAVAILABLE' && down.retryable);
      assert.equal((await broker().preflight()).identityPoolName, 'good');
    } finally {
      emu.clearFaults();
    }
  });

  void it('refuses bad options with a TypeError naming them', async () => {
    await assert.rejects(broker().preflight({ guests: 'yes' as unknown as boolean }), {
      name: 'TypeError',
      message: /options\.guests/,
    });
  });
});
